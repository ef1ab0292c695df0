/**
 * The WebAssembly SIMD elementwise kernels give the TypeScript kernels' bits (Uint32Array views
 * compared, so NaN payloads and signed zeros count) on seeded inputs full of NaN (both signs,
 * other payloads, signalling), ±Infinity, ±0, subnormals and values around 0, for every op and
 * broadcast pattern; max/min reductions are exact over every subset of axes, sums are within a
 * float32 ulp of a float64 reference and identical across calls. A call it declines returns false.
 */
import { describe, expect, it, vi } from "vitest";
import type { BinaryOp, BroadcastInfo, ReduceOp, UnaryOp } from "../../src/backend/backend.js";
import { binaryInto, selectInto, unaryInto } from "../../src/backend/cpu/elementwise.js";
import { reduceInto } from "../../src/backend/cpu/reduce.js";
import {
  MIN_SIZES, binarySimd, elementwiseSimdAvailable, reduceSimd, selectSimd, unarySimd,
} from "../../src/backend/wasm/elementwise-simd.js";
import { Generator } from "../../src/tensor/random.js";
import { broadcastShapes, broadcastStrides, sizeOf } from "../../src/tensor/shape.js";

// float32 bit patterns: NaNs (a JS number cannot hold a signalling NaN: reading one quiets it)
const NAN = 0x7fc00000, NEG_NAN = 0xffc00000, PAYLOAD_NAN = 0x7fc12345, SIGNALLING_NAN = 0x7f812345;
const bitsOf = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
const SPECIALS = [
  NAN, NEG_NAN, PAYLOAD_NAN, SIGNALLING_NAN,
  ...[Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2.5, -2.5, 1e-40, -1e-40, 1e-30, -1e-30, 3.4e38, -3.4e38].map(bitsOf),
];

/** n float32 values: a fifth drawn from `specials` (bit patterns), the rest normals over magnitudes 1e-3 .. 1e3. */
function values(rng: Generator, n: number, specials: readonly number[] = SPECIALS): Float32Array {
  const out = new Float32Array(n);
  const u32 = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.2) u32[i] = specials[rng.int(specials.length)]!;
    else out[i] = rng.normal() * 10 ** (rng.int(7) - 3);
  }
  return out;
}

/** n float32 values drawn from a pool of bit patterns. */
function pick(rng: Generator, pool: readonly number[], n: number): Float32Array {
  const u32 = Uint32Array.from({ length: n }, () => pool[rng.int(pool.length)]!);
  return new Float32Array(u32.buffer);
}

const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

function broadcast(...shapes: number[][]): BroadcastInfo {
  const outShape = shapes.reduce((a, b) => broadcastShapes("test", a, b));
  return { outShape, strides: shapes.map((s) => broadcastStrides(s, outShape)) };
}

const UNARY: [UnaryOp, number[]][] = [
  ["neg", []], ["abs", []], ["sign", []], ["relu", []], ["step", []], ["square", []], ["sqrt", []],
  ["reciprocal", []], ["floor", []], ["ceil", []], ["nonFinite", []], ["powScalar", [2]],
  ["leakyRelu", [0.01]], ["leakyRelu", [-0.3]], ["leakyRelu", [0]],
  ["clamp", [-0.5, 0.7]], ["clamp", [0.1, 1e30]], ["clamp", [1e-50, 2]], ["clamp", [-0, 0]], ["clamp", [3, -3]],
];

describe("WebAssembly SIMD elementwise kernels", () => {
  it("run here", () => {
    expect(elementwiseSimdAvailable()).toBe(true);
  });

  describe("unary", () => {
    const rng = new Generator(11);
    for (const [op, params] of UNARY) {
      it(`${op}(${params.join(", ")}) gives the TypeScript bits`, () => {
        for (const n of [0, 1, 3, 4, 8, 13, 64, 1003]) {
          const x = values(rng, n);
          const want = new Float32Array(n);
          unaryInto(op, x, want, params);
          const got = new Float32Array(n).fill(7);
          expect(unarySimd(op, x, got, params, 0)).toBe(true);
          expect(bits(got)).toEqual(bits(want));
        }
      });
    }

    it("declines ops whose float32 result it would not match, and leaves out alone", () => {
      const x = values(rng, 100);
      const out = new Float32Array(100).fill(7);
      for (const [op, params] of [["exp", []], ["tanh", []], ["sigmoid", []], ["powScalar", [3]], ["leakyRelu", [NaN]]] as const) {
        expect(unarySimd(op, x, out, params)).toBe(false);
      }
      expect(out.every((v) => v === 7)).toBe(true);
    });

    it("leaves sizes below the break-even to the TypeScript kernel", () => {
      const x = values(rng, MIN_SIZES.unary - 1);
      const out = new Float32Array(x.length).fill(7);
      expect(unarySimd("relu", x, out, [])).toBe(false);
      expect(out.every((v) => v === 7)).toBe(true);
      expect(unarySimd("relu", values(rng, MIN_SIZES.unary), new Float32Array(MIN_SIZES.unary), [])).toBe(true);
    });
  });

  const PATTERNS: [string, number[][]][] = [
    ["same shape", [[5, 7, 3], [5, 7, 3]]],
    ["row broadcast [N, F] + [F]", [[20, 9], [9]]],
    ["[F] + [N, F]", [[9], [20, 9]]],
    ["bias [N, C, H, W] + [1, C, 1, 1]", [[4, 3, 5, 6], [1, 3, 1, 1]]],
    ["[1, C, 1, 1] + [N, C, H, W]", [[1, 3, 1, 1], [4, 3, 5, 6]]],
    ["tensor + scalar", [[50], []]],
    ["scalar + tensor", [[], [37]]],
    ["both sides broadcast", [[7, 1, 5], [1, 6, 5]]],
    ["outer product", [[6, 1], [1, 41]]],
    ["rank 0", [[], []]],
    ["rank 1", [[13], [13]]],
    ["rank 5", [[2, 1, 3, 1, 5], [1, 4, 3, 2, 1]]],
    ["column broadcast", [[9, 1], [9, 6]]],
    ["empty", [[0, 5], [5]]],
  ];
  const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "reluGrad"];

  describe("binary", () => {
    const rng = new Generator(12);
    for (const op of BINARY) {
      it(`${op} gives the TypeScript bits on every broadcast pattern`, () => {
        for (const [name, [sa, sb]] of PATTERNS) {
          const info = broadcast(sa!, sb!);
          const a = values(rng, sizeOf(sa!)), b = values(rng, sizeOf(sb!));
          const n = sizeOf(info.outShape);
          const want = new Float32Array(n);
          binaryInto(op, a, b, info, want);
          const got = new Float32Array(n).fill(7);
          expect(binarySimd(op, a, b, info, got, 0), name).toBe(true);
          expect(bits(got), name).toEqual(bits(want));
        }
      });
    }

    it("walks arbitrary strides (a transposed read) one lane at a time", () => {
      // out[i, j] = a[j, i] op b[i, j]: a is [3, 40] read as [40, 3]
      const info: BroadcastInfo = { outShape: [40, 3], strides: [[1, 40], [3, 1]] };
      const a = values(rng, 120), b = values(rng, 120);
      for (const op of BINARY) {
        const want = new Float32Array(120);
        binaryInto(op, a, b, info, want);
        const got = new Float32Array(120);
        expect(binarySimd(op, a, b, info, got)).toBe(true);
        expect(bits(got), op).toEqual(bits(want));
      }
    });

    it("declines pow and broadcasts of rank above 8 after coalescing", () => {
      const a = values(rng, 64), b = values(rng, 64);
      const out = new Float32Array(64 * 64);
      expect(binarySimd("pow", a, b, broadcast([64], [64]), out.subarray(0, 64))).toBe(false);
      const alt = (k: number): number[] => Array.from({ length: 10 }, (_, d) => (d % 2 === k ? 2 : 1));
      const info = broadcast(alt(0), alt(1));
      expect(binarySimd("add", values(rng, 32), values(rng, 32), info, new Float32Array(1024))).toBe(false);
    });
  });

  describe("select", () => {
    const rng = new Generator(13);
    const CONDS = [NAN, NEG_NAN, SIGNALLING_NAN, ...[0, -0, 1, -1, Infinity, 1e-40].map(bitsOf)];
    it("gives the TypeScript bits on every broadcast pattern with each operand as the condition", () => {
      for (const [name, [s0, s1]] of PATTERNS) {
        for (const shapes of [[s0!, s1!, s1!], [s1!, s0!, s1!], [s1!, s1!, s0!]]) {
          const info = broadcast(...shapes);
          const cond = values(rng, sizeOf(shapes[0]!), CONDS), a = values(rng, sizeOf(shapes[1]!)), b = values(rng, sizeOf(shapes[2]!));
          const n = sizeOf(info.outShape);
          const want = new Float32Array(n);
          selectInto(cond, a, b, info, want);
          const got = new Float32Array(n).fill(7);
          expect(selectSimd(cond, a, b, info, got, 0), name).toBe(true);
          expect(bits(got), name).toEqual(bits(want));
        }
      }
    });
  });

  describe("reduce", () => {
    const rng = new Generator(14);
    const SHAPES = [[37], [70], [5, 8], [2, 40], [3, 1, 17], [3, 4, 6], [3, 5, 33], [2, 3, 4, 5], [4, 2, 3, 20], [3, 16, 7, 7]];
    const subsets = (rank: number): number[][] =>
      Array.from({ length: 2 ** rank - 1 }, (_, m) => Array.from({ length: rank }, (_, d) => d).filter((d) => ((m + 1) >> d) & 1));
    const outSize = (shape: number[], axes: number[]): number => sizeOf(shape.filter((_, d) => !axes.includes(d)));

    const DATA: [string, (op: "max" | "min", n: number) => Float32Array][] = [
      ["specials", (_, n) => values(rng, n)],
      ["NaNs of both signs", (_, n) => pick(rng, [NAN, NEG_NAN, PAYLOAD_NAN, SIGNALLING_NAN, ...[1, -1, 0, 2, -2, 3, -3].map(bitsOf)], n)],
      // the extreme is a zero of either sign, so the first zero decides
      ["ties of signed zeros", (op, n) => pick(rng, (op === "max" ? [0, -0, -1, -3, -Infinity] : [0, -0, 1, 3, Infinity]).map(bitsOf), n)],
    ];
    for (const op of ["max", "min"] as const) {
      for (const [data, make] of DATA) {
        it(`${op} gives the TypeScript bits over every subset of axes (${data})`, () => {
          for (const shape of SHAPES) {
            for (const axes of subsets(shape.length)) {
              const x = make(op, sizeOf(shape));
              const want = new Float32Array(outSize(shape, axes));
              reduceInto(op, x, shape, axes, want);
              const got = new Float32Array(want.length).fill(7);
              expect(reduceSimd(op, x, shape, axes, got, 0), `${shape} ${axes}`).toBe(true);
              expect(bits(got), `${shape} over ${axes}`).toEqual(bits(want));
            }
          }
        });
      }
    }

    /** The float64 sum of each block, compensated (Neumaier), and the sum of magnitudes. */
    function reference(x: Float32Array, shape: number[], axes: number[]): [Float64Array, Float64Array] {
      const n = outSize(shape, axes);
      const sum = new Float64Array(n), comp = new Float64Array(n), mag = new Float64Array(n);
      const idx = new Array<number>(shape.length).fill(0);
      for (let i = 0; i < x.length; i++) {
        let o = 0;
        shape.forEach((s, d) => { if (!axes.includes(d)) o = o * s + idx[d]!; });
        const v = x[i]!, t = sum[o]! + v;
        comp[o]! += Math.abs(sum[o]!) >= Math.abs(v) ? sum[o]! - t + v : v - t + sum[o]!;
        sum[o] = t;
        mag[o]! += Math.abs(v);
        for (let d = shape.length - 1; d >= 0 && ++idx[d]! === shape[d]!; d--) idx[d] = 0;
      }
      return [sum.map((s, o) => s + comp[o]!), mag];
    }

    it("sum is within a float32 ulp of a float64 reference and the same across calls", () => {
      const cases: [number[], number[]][] = [
        ...SHAPES.flatMap((shape) => subsets(shape.length).map((axes): [number[], number[]] => [shape, axes])),
        [[64, 16, 28, 28], [0, 2, 3]],
        [[64, 256], [0]],
      ];
      for (const [shape, axes] of cases) {
        const x = Float32Array.from({ length: sizeOf(shape) }, () => rng.normal() * 10 ** (rng.int(5) - 2));
        const got = new Float32Array(outSize(shape, axes));
        expect(reduceSimd("sum", x, shape, axes, got, 0)).toBe(true);
        const again = new Float32Array(got.length);
        reduceSimd("sum", x, shape, axes, again, 0);
        expect(bits(again)).toEqual(bits(got));
        const [ref, mag] = reference(x, shape, axes);
        got.forEach((g, o) => {
          const tol = 2 ** -24 * Math.abs(ref[o]!) + 2 ** -45 * mag[o]! + 1e-45;
          expect(Math.abs(g - ref[o]!), `${shape} over ${axes} at ${o}`).toBeLessThanOrEqual(tol);
        });
      }
    });

    it("sum agrees with the TypeScript kernel on non-finite values and signed zeros", () => {
      for (const shape of SHAPES) {
        for (const axes of subsets(shape.length)) {
          const x = values(rng, sizeOf(shape), [NAN, ...[Infinity, -Infinity, -0, 0].map(bitsOf)]);
          const want = new Float32Array(outSize(shape, axes));
          reduceInto("sum", x, shape, axes, want);
          const got = new Float32Array(want.length);
          expect(reduceSimd("sum", x, shape, axes, got, 0)).toBe(true);
          got.forEach((g, o) => {
            const w = want[o]!;
            if (Number.isFinite(w) && w !== 0) expect(Math.abs(g - w)).toBeLessThanOrEqual(2 ** -22 * Math.abs(w));
            else expect(Number.isNaN(w) ? Number.isNaN(g) : Object.is(g, w), `${shape} over ${axes} at ${o}: ${g} vs ${w}`).toBe(true);
          });
        }
      }
      // all -0 sums to +0, as 0 + -0 does
      const got = new Float32Array(2);
      expect(reduceSimd("sum", new Float32Array(40).fill(-0), [2, 20], [1], got, 0)).toBe(true);
      expect(bits(got)).toEqual([0, 0]);
    });

    it("reduces over size-1 axes or none as the TypeScript kernel does, and declines empty inputs", () => {
      for (const op of ["sum", "max", "min"] as ReduceOp[]) {
        for (const [shape, axes] of [[[40, 1], [1]], [[40], []], [[1, 40, 1], [0, 2]]] as const) {
          const x = values(rng, 40);
          const want = new Float32Array(40);
          reduceInto(op, x, shape, axes, want);
          const got = new Float32Array(40);
          expect(reduceSimd(op, x, shape, axes, got, 0)).toBe(true);
          expect(bits(got), `${op} ${shape} over ${axes}`).toEqual(bits(want));
        }
        const out = new Float32Array(4).fill(7);
        expect(reduceSimd(op, new Float32Array(0), [4, 0], [1], out, 0)).toBe(false);
        expect(out.every((v) => v === 7)).toBe(true);
      }
    });
  });

  it("falls back (returns false, writes nothing) where the module does not validate", async () => {
    vi.resetModules();
    vi.doMock("../../src/backend/wasm/elementwise-wasm.generated.js", () => ({ ELEMENTWISE_WASM_BASE64: "" }));
    const m = await import("../../src/backend/wasm/elementwise-simd.js");
    vi.doUnmock("../../src/backend/wasm/elementwise-wasm.generated.js");
    expect(m.elementwiseSimdAvailable()).toBe(false);
    const x = Float32Array.from({ length: 256 }, (_, i) => i - 128);
    const out = new Float32Array(256).fill(7);
    expect(m.unarySimd("relu", x, out, [], 0)).toBe(false);
    expect(m.binarySimd("add", x, x, broadcast([256], [256]), out, 0)).toBe(false);
    expect(m.selectSimd(x, x, x, broadcast([256], [256], [256]), out, 0)).toBe(false);
    expect(m.reduceSimd("sum", x, [16, 16], [0], out.subarray(0, 16), 0)).toBe(false);
    expect(out.every((v) => v === 7)).toBe(true);
  });
});
