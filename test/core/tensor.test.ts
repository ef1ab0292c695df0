/**
 * Tensors: creation, the seeded Generator, broadcasting, the errors a user meets (shapes, dtypes,
 * ragged data), PyTorch-style printing, and reading values back.
 * Printed forms are PyTorch's own output for the same tensor (dtype names in descent's spelling).
 */
import { describe, expect, it } from "vitest";
import {
  ConfigError, DTypeError, Generator, ShapeError, Tensor,
  add, arange, div, expand, broadcastShapes, exp, eye, full, linspace, matmul, mul, ones, rand, randint, randn, scalar, tensor, zeros,
  zerosLike, onesLike, fullLike, sizeOf,
} from "../../src/index.js";
import { expectClose } from "./helpers.js";

const values = (t: Tensor) => Array.from(t.dataSync());

describe("creation", () => {
  it("zeros, ones, full and the *Like functions fill a shape in a dtype", () => {
    const z = zeros([2, 3]);
    expect([...z.shape]).toEqual([2, 3]);
    expect(z.dtype).toBe("float32");
    expect(z.size).toBe(6);
    expect(values(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(values(ones([2], { dtype: "float64" }))).toEqual([1, 1]);
    const f = full([2, 2], 7, { dtype: "int32" });
    expect(f.dtype).toBe("int32");
    expect(f.toArray()).toEqual([[7, 7], [7, 7]]);
    expect(() => full([2], 1.5, { dtype: "int32" })).toThrow(DTypeError);
    expect(() => zeros([2, -1])).toThrow(ShapeError);
    const like = fullLike(f, 3);
    expect(like.dtype).toBe("int32");
    expect(values(like)).toEqual([3, 3, 3, 3]);
    expect(values(zerosLike(f))).toEqual([0, 0, 0, 0]);
    expect(onesLike(f, { dtype: "float64" }).dtype).toBe("float64");
    expect([...scalar(2).shape]).toEqual([]);
  });

  it("arange counts up to (not including) stop, with any step", () => {
    expect(values(arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(values(arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(values(arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(values(arange(0, 3, 1, { dtype: "int32" }))).toEqual([0, 1, 2]);
    expect(arange(2, 1).size).toBe(0);
    expect(() => arange(0, 1, 0)).toThrow(ConfigError);
  });

  it("linspace includes both ends exactly", () => {
    expect(values(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const l = values(linspace(0, 0.3, 4, { dtype: "float64" }));
    expect(l[3]).toBe(0.3);
    expect(l[0]).toBe(0);
    expectClose(tensor(Float64Array.from(l)), [0, 0.1, 0.2, 0.3]);
    expect(values(linspace(2, 5, 1))).toEqual([2]);
    expect(linspace(0, 1, 0).size).toBe(0);
    expect(() => linspace(0, 1, -1)).toThrow(ConfigError);
  });

  it("eye is the (possibly rectangular) identity", () => {
    expect(eye(2).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(eye(3, 2, { dtype: "float64" }).toArray()).toEqual([[1, 0], [0, 1], [0, 0]]);
  });

  it("tensor() infers the shape of nested arrays and copies values in", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect([...t.shape]).toEqual([2, 3]);
    expect(t.dtype).toBe("float32");
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect([...tensor(5).shape]).toEqual([]);
    expect([...tensor([[[1]], [[2]]]).shape]).toEqual([2, 1, 1]);
    // float32 storage rounds: 0.1 becomes fround(0.1)
    expect(tensor([0.1]).item()).toBe(Math.fround(0.1));
    expect(tensor([0.1], { dtype: "float64" }).item()).toBe(0.1);
    expect(tensor([[1, 2], [3, 4]], { shape: [4] }).toArray()).toEqual([1, 2, 3, 4]);
  });

  it("tensor() takes typed arrays with a shape, keeping their dtype, and copies them", () => {
    const src = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(src, { shape: [2, 3] });
    expect(t.dtype).toBe("float64");
    expect([...t.shape]).toEqual([2, 3]);
    src[0] = 100;
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe("int32");
    expect(tensor(new Float32Array([1.5, 2.5]), { dtype: "float64" }).dtype).toBe("float64");
    expect(() => tensor(new Float64Array(5), { shape: [2, 3] })).toThrow(/shape \[2,3\] holds 6 values, got 5/);
    expect(() => tensor(new Float64Array([1.5]), { dtype: "int32" })).toThrow(DTypeError);
  });

  it("refuses ragged nested arrays, naming where", () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged nested array at \[1\]: expected 2 elements, got 1/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/ragged/);
    expect(() => tensor([[[1], [2]], [[3], [4, 5]]])).toThrow(/ragged nested array at \[1\]\[1\]/);
    expect(() => tensor([1.5, 2], { dtype: "int32" })).toThrow(/element 0 is 1.5, which is not an integer/);
  });
});

describe("random tensors and the Generator", () => {
  it("rand, randn and randint are reproducible from a seed, and differ across seeds", () => {
    for (const make of [
      (g: Generator) => rand([50], { rng: g }),
      (g: Generator) => randn([50], { rng: g, dtype: "float64" }),
      (g: Generator) => randint(0, 10, [50], { rng: g }),
    ]) {
      const a = values(make(new Generator(42)));
      expect(values(make(new Generator(42)))).toEqual(a);
      expect(values(make(new Generator(43)))).not.toEqual(a);
    }
  });

  it("rand is in [0, 1) and randint in [low, high), hitting every value", () => {
    const u = values(rand([2000], { rng: new Generator(1), dtype: "float64" }));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mean = u.reduce((s, v) => s + v, 0) / u.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
    const r = randint(-2, 3, [1000], { rng: new Generator(2) });
    expect(r.dtype).toBe("int32");
    expect(new Set(values(r))).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(() => randint(3, 3, [2], { rng: new Generator(0) })).toThrow(ConfigError);
  });

  it("rand, randn and randint called without a generator (as from plain JavaScript) say what to pass", () => {
    type Untyped = (...args: unknown[]) => unknown;
    const calls: [string, () => unknown][] = [
      ["rand", () => (rand as Untyped)([2])],
      ["randn", () => (randn as Untyped)([2], {})],
      ["randn", () => (randn as Untyped)([2], { rng: null })],
      ["randint", () => (randint as Untyped)(0, 3, [2], { rng: 5 })],
    ];
    for (const [name, call] of calls) {
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(`${name}: options.rng must be a Generator`);
    }
  });

  it("rand never returns high, even when float32 rounding would reach it", () => {
    // a generator whose first uniform draw rounds to 1 in float32
    class Edge extends Generator {
      private calls = 0;
      override uniform(): number {
        return this.calls++ === 0 ? 1 - 2 ** -30 : 0.5;
      }
    }
    expect(Math.fround(1 - 2 ** -30)).toBe(1);
    expect(values(rand([2], { rng: new Edge() }))).toEqual([0.5, 0.5]);
  });

  it("randn has mean ≈ 0 and std ≈ 1 (and the mean/std options shift and scale it)", () => {
    const n = 20000;
    const stats = (v: number[]) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
      return [m, sd] as const;
    };
    // standard errors: mean 1/sqrt(n) ≈ 0.007, std ≈ 0.005
    const [m, sd] = stats(values(randn([n], { rng: new Generator(7), dtype: "float64" })));
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
    const [m2, sd2] = stats(values(randn([n], { rng: new Generator(8), dtype: "float64", mean: 3, std: 2 })));
    expect(Math.abs(m2 - 3)).toBeLessThan(0.06);
    expect(Math.abs(sd2 - 2)).toBeLessThan(0.06);
    // about 68% within one standard deviation
    const within = values(randn([n], { rng: new Generator(9), dtype: "float64" })).filter((x) => Math.abs(x) < 1).length / n;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.02);
  });

  it("getState/setState round-trips exactly, including a pending Box-Muller normal", () => {
    const g = new Generator(123);
    g.normal(); // leaves the pair's second value pending
    g.uniform();
    g.normal(); // uses it
    g.normal(); // a new pair: its second value is pending again
    const saved = JSON.parse(JSON.stringify(g.getState())) as ReturnType<Generator["getState"]>;
    expect(saved.spare).not.toBeNull();
    const draw = (r: Generator) => [r.normal(), r.normal(), r.uniform(), r.int(1000), r.nextUint32(), ...r.permutation(5)];
    const first = draw(g);
    const h = new Generator(999);
    h.setState(saved);
    expect(draw(h)).toEqual(first);
    g.setState(saved);
    expect(draw(g)).toEqual(first);
    // clone continues identically, fork does not
    const c = g.clone();
    expect(c.uniform()).toBe(g.uniform());
    expect(g.fork().uniform()).not.toBe(g.clone().uniform());
    expect(() => g.setState({ s: [1, 2, 3] as never, spare: null })).toThrow(ConfigError);
  });

  it("the same seed gives the same stream; a new seed resets it", () => {
    const g = new Generator(5);
    const a = [g.uniform(), g.uniform()];
    g.seed(5);
    expect([g.uniform(), g.uniform()]).toEqual(a);
    expect(() => new Generator(1.5)).toThrow(ConfigError);
    const p = [...new Generator(3).permutation(10)].sort((x, y) => x - y);
    expect(p).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("broadcasting and shape errors", () => {
  it("aligns shapes from the right; dims of 1 stretch", () => {
    expect(broadcastShapes("add", [2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes("add", [], [2, 3])).toEqual([2, 3]);
    expect(broadcastShapes("add", [5, 0], [1])).toEqual([5, 0]);
    expect(sizeOf([2, 3, 4])).toBe(24);
    // [[1],[2]] + [10, 20, 30] = [[11, 21, 31], [12, 22, 32]]
    const y = add(tensor([[1], [2]], { dtype: "float64" }), tensor([10, 20, 30], { dtype: "float64" }));
    expect(y.toArray()).toEqual([[11, 21, 31], [12, 22, 32]]);
    // a scalar tensor broadcasts everywhere
    expect(mul(tensor([[1, 2], [3, 4]]), scalar(2)).toArray()).toEqual([[2, 4], [6, 8]]);
  });

  it("names the op, both shapes and the dimension that does not fit", () => {
    expect(() => broadcastShapes("add", [2, 3], [4])).toThrow(ShapeError);
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow("add: shapes [2,3] and [4] cannot be broadcast (dimension -1 is 3 and 4)");
    expect(() => add(zeros([2, 3, 5]), zeros([4, 5]))).toThrow(/dimension -2 is 3 and 4/);
    expect(() => expand(zeros([3, 1]), [3, 4, 5])).toThrow(ShapeError);
    expect(() => expand(zeros([3, 1]), [3, 4, 5])).toThrow(/expand: cannot expand \[3,1\] to \[3,4,5\] \(dim 1 is 3, not 1\)/);
    expect(() => expand(zeros([2]), [-1, 2])).toThrow(/expand: invalid target shape \[-1,2\]/);
  });

  it("matmul names the inner dimensions that differ", () => {
    expect(() => matmul(zeros([3, 4]), zeros([5, 2]))).toThrow(ShapeError);
    expect(() => matmul(zeros([3, 4]), zeros([5, 2]))).toThrow("matmul: [3,4] @ [5,2]: inner dimensions 4 and 5 differ");
    expect(() => matmul(zeros([3]), zeros([4]))).toThrow(/inner dimensions 3 and 4 differ/);
    expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 2]))).toThrow(/cannot be broadcast/);
  });
});

describe("dtypes", () => {
  it("a dtype mismatch names both dtypes", () => {
    const a = zeros([2]);
    const b = zeros([2], { dtype: "float64" });
    expect(() => add(a, b)).toThrow(DTypeError);
    expect(() => add(a, b)).toThrow(/add: dtype mismatch: float32 and float64/);
    expect(() => matmul(zeros([2, 2]), zeros([2, 2], { dtype: "float64" }))).toThrow(/float32 and float64/);
  });

  it("an int tensor given to exp is refused", () => {
    expect(() => exp(tensor([1, 2], { dtype: "int32" }))).toThrow(DTypeError);
    expect(() => exp(tensor([1, 2], { dtype: "int32" }))).toThrow(/exp: expected a floating input .* got int32/);
  });

  it("int tensors are not divided (int32 would truncate 1/2 to 0)", () => {
    expect(() => div(tensor([1, 3], { dtype: "int32" }), tensor([2, 2], { dtype: "int32" }))).toThrow(DTypeError);
    expect(() => div(tensor([1], { dtype: "int32" }), 2)).toThrow(/div: expected a floating input .* got int32/);
    expect(div(tensor([1, 3]), 2).toArray()).toEqual([0.5, 1.5]);
  });

  it("t.data(dtype) and dataSync(dtype) refuse a tensor of another dtype", async () => {
    const t = tensor([1, 2], { dtype: "int32" });
    await expect(t.data("float32")).rejects.toThrow(DTypeError);
    await expect(t.data("float32")).rejects.toThrow(/expected a float32 tensor, this one is int32/);
    expect(() => t.dataSync("float64")).toThrow(DTypeError);
    const d = await t.data("int32");
    expect(d).toBeInstanceOf(Int32Array);
    expect(Array.from(d)).toEqual([1, 2]);
  });
});

describe("reading values", () => {
  it("item() gives the one value; more than one element is refused", () => {
    expect(scalar(3.5).item()).toBe(3.5);
    expect(tensor([[7]]).item()).toBe(7);
    expect(() => tensor([1, 2]).item()).toThrow(ShapeError);
    expect(() => tensor([1, 2]).item()).toThrow(/one element, got shape \[2\]/);
  });

  it("toArray() gives nested arrays like tolist(); data() is a copy", async () => {
    expect(tensor([[1, 2], [3, 4]]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(scalar(2).toArray()).toBe(2);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
    const t = tensor([1, 2, 3], { dtype: "float64" });
    const d = await t.data();
    d[0] = 99;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });
});

describe("toString follows PyTorch", () => {
  const cases: [string, Tensor, string][] = [
    ["whole floats", tensor([[1, 2], [3, 4]]), "tensor([[1., 2.],\n        [3., 4.]])"],
    ["4 decimals", tensor([0.1, 0.2]), "tensor([0.1000, 0.2000])"],
    ["right-aligned with a sign", tensor([-1, 2]), "tensor([-1.,  2.])"],
    ["scientific when values span > 1000x", tensor([0.001, 10]), "tensor([1.0000e-03, 1.0000e+01])"],
    ["scientific for whole floats spanning > 1000x", tensor([1, 10000]), "tensor([1.0000e+00, 1.0000e+04])"],
    ["scientific below 1e-4", tensor([1e-5, 1], { dtype: "float64" }), "tensor([1.0000e-05, 1.0000e+00], dtype=float64)"],
    ["float64 suffix", tensor([1.5, 2], { dtype: "float64" }), "tensor([1.5000, 2.0000], dtype=float64)"],
    ["int32", tensor([1, -20], { dtype: "int32" }), "tensor([  1, -20], dtype=int32)"],
    ["scalar", scalar(3.5), "tensor(3.5000)"],
    ["3-D: blank line between matrices", zeros([2, 1, 2]), "tensor([[[0., 0.]],\n\n        [[0., 0.]]])"],
    ["non-finite", tensor([1, Infinity, NaN]), "tensor([1., inf, nan])"],
    ["empty", tensor([]), "tensor([])"],
    ["requires grad", tensor([1], { requiresGrad: true }), "tensor([1.], requiresGrad=true)"],
    ["rows wrap at 80 columns", arange(20),
      "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19.])"],
    ["summarized beyond 1000 elements", arange(1000, 3000), "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])"],
    ["summarized, scientific and wrapped", arange(2000),
      "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"],
    ["zeros and non-finite values do not widen float columns", tensor([0, 1.5, -Infinity]), "tensor([0.0000, 1.5000,   -inf])"],
  ];
  it.each(cases)("%s", (_name, t, want) => {
    expect(t.toString()).toBe(want);
  });

  it("summarizes rows of a large matrix with '...'", () => {
    const s = zeros([1001, 2]).toString();
    expect(s.split("\n")).toEqual([
      "tensor([[0., 0.],", "        [0., 0.],", "        [0., 0.],", "        ...,", "        [0., 0.],", "        [0., 0.],", "        [0., 0.]])",
    ]);
  });
});
