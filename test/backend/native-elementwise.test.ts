/**
 * The native backend's elementwise kernels (native/elementwise.c, its kernel table in
 * src/backend/native/native.ts): each gives the TypeScript kernel's bits (src/backend/cpu), over
 * values with NaN, signed zeros, infinities and ties, broadcasts of several ranks and strides,
 * pooling windows with padding, strides and dilation (the 8-wide path and the edge windows),
 * gathers outside the array and scatter-adds with repeated and outside indices; the native sum
 * (native/reduce.c) gives the WebAssembly reduce's bits over every kind of stage; the backend runs
 * them (a spy sees each call); and a call with arrays too short throws a RangeError.
 * Skipped where the addon is not built (test/backend/native.test.ts says whether it should be).
 */
import { describe, expect, it } from "vitest";
import { add, fromValues, Generator, gradients, maxPool2d, mul, relu, sum, withBackend } from "../../src/index.js";
import { TS_KERNELS } from "../../src/backend/cpu/cpu.js";
import { BINARY_OPS, nativeAddon, NativeBackend, UNARY_OPS, type NativeAddon } from "../../src/backend/native/native.js";
import { reducePlan, reduceSimd } from "../../src/backend/wasm/elementwise-simd.js";
import { windowArgs } from "../../src/backend/wasm/movement-simd.js";
import type { BroadcastInfo, WindowInfo } from "../../src/backend/backend.js";
import { broadcastShapes, broadcastStrides } from "../../src/tensor/shape.js";
import { coalesce } from "../../src/backend/cpu/elementwise.js";
import { differing } from "./helpers.js";

const native = nativeAddon();
const words = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Uniform values in [-2, 2) with NaN, ±0, ±Infinity and repeats sprinkled in. */
function values(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  const specials = [Number.NaN, 0, -0, Infinity, -Infinity, 1, -1];
  return Float32Array.from({ length: n }, () => {
    const u = g.uniform();
    return u < 0.08 ? specials[Math.floor(g.uniform() * specials.length)]! : u < 0.15 ? 0.5 : g.uniform() * 4 - 2;
  });
}

function broadcast(a: number[], b: number[]): BroadcastInfo {
  const outShape = broadcastShapes("test", a, b);
  return { outShape, strides: [broadcastStrides(a, outShape), broadcastStrides(b, outShape)] };
}

function window(n: number, c: number, h: number, w: number, k: [number, number], stride: [number, number], pad: [number, number], dil: [number, number]): WindowInfo {
  const outH = Math.floor((h + 2 * pad[0] - dil[0] * (k[0] - 1) - 1) / stride[0]) + 1;
  const outW = Math.floor((w + 2 * pad[1] - dil[1] * (k[1] - 1) - 1) / stride[1]) + 1;
  return {
    n, c, h, w, kh: k[0], kw: k[1], strideH: stride[0], strideW: stride[1], padTop: pad[0], padLeft: pad[1],
    dilationH: dil[0], dilationW: dil[1], outH, outW,
  };
}

describe.skipIf(!native)("the native elementwise kernels give the TypeScript kernels' bits", () => {
  const x = values(3001, 1), y = values(3001, 2);

  for (const [k, op] of UNARY_OPS.entries()) {
    it(`unary ${op}`, () => {
      const got = new Float32Array(x.length), want = new Float32Array(x.length);
      expect(native!.unary(k, x, got)).toBe(true);
      TS_KERNELS.unary(op, x, want, []);
      expect(words(got)).toEqual(words(want));
    });
  }

  const CASES: [number[], number[]][] = [
    [[3001], [3001]], [[4, 3, 7, 5], [1, 3, 1, 1]], [[4, 3, 7, 5], [5]], [[6, 1, 9], [1, 7, 1]], [[], [13, 11]], [[2, 3, 4, 5, 6], [3, 1, 5, 1]],
  ];
  for (const [k, op] of BINARY_OPS.entries()) {
    it(`binary ${op} over broadcasts`, () => {
      for (const [sa, sb] of CASES) {
        const info = broadcast(sa, sb);
        const size = info.outShape.reduce((p, d) => p * d, 1);
        const a = x.subarray(0, sa.reduce((p, d) => p * d, 1)), b = y.subarray(0, sb.reduce((p, d) => p * d, 1));
        const want = new Float32Array(size), got = new Float32Array(size);
        TS_KERNELS.binary(op, a, b, info, want);
        const flat = (s: readonly number[][]) => Int32Array.from([...s[0]!, ...s[1]!]);
        expect(native!.binary(k, a, b, got, Int32Array.from(info.outShape), flat(info.strides as number[][])), `${sa} ${op} ${sb}`).toBe(true);
        expect(words(got), `${sa} ${op} ${sb}`).toEqual(words(want));
      }
    });
  }

  const POOLS: [string, WindowInfo][] = [
    ["2x2 stride 2 (W2's)", window(3, 4, 28, 28, [2, 2], [2, 2], [0, 0], [1, 1])],
    ["2x2 stride 2 on 14x14 (W2's second: 7 windows a row)", window(3, 4, 14, 14, [2, 2], [2, 2], [0, 0], [1, 1])],
    ["2x2 stride 2 on 13x19, padding 1 (rows of 9 windows, 8 inside)", window(2, 3, 13, 19, [2, 2], [2, 2], [1, 1], [1, 1])],
    ["3x3 stride 1, padding 1", window(2, 3, 13, 21, [3, 3], [1, 1], [1, 1], [1, 1])],
    ["3x2 stride (2, 3), padding (1, 1), dilation (1, 2)", window(2, 2, 17, 40, [3, 2], [2, 3], [1, 1], [1, 2])],
    ["narrower than 8 windows a row", window(1, 2, 6, 9, [2, 2], [2, 2], [1, 1], [1, 1])],
  ];
  for (const [name, g] of POOLS) {
    it(`maxPoolIndices, ${name}; with values, the maxima as take's words`, () => {
      const input = values(g.n * g.c * g.h * g.w, 3);
      const want = new Int32Array(g.n * g.c * g.outH * g.outW), got = new Int32Array(want.length);
      TS_KERNELS.maxPoolIndices(input, g, want);
      native!.maxPoolIndices(input, got, Int32Array.from(windowArgs(g)!));
      expect(Array.from(got)).toEqual(Array.from(want));
      const maxima = new Float32Array(want.length + 1).fill(7), taken = new Float32Array(want.length);
      got.fill(-1);
      native!.maxPoolIndices(input, got, Int32Array.from(windowArgs(g)!), 1, maxima);
      TS_KERNELS.take(input, want, taken);
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(words(maxima.subarray(0, want.length))).toEqual(words(taken));
      expect(maxima[want.length]).toBe(7); // nothing written past the outputs
    });
  }

  it("take, inside and outside the array, float32 and int32", () => {
    const indices = Int32Array.from({ length: 700 }, (_, i) => ((i * 37) % 3100) - 50);
    for (const src of [x, new Int32Array(x.buffer)]) {
      const want = new (src.constructor as Float32ArrayConstructor)(indices.length), got = new (src.constructor as Float32ArrayConstructor)(indices.length);
      TS_KERNELS.take(src, indices, want);
      native!.take(src, indices, got);
      expect(words(got)).toEqual(words(want));
    }
  });

  it("scatterAdd, with repeated indices and indices outside the output", () => {
    const indices = Int32Array.from({ length: 3001 }, (_, i) => ((i * 13) % 600) - 5);
    const want = new Float32Array(590), got = new Float32Array(590);
    TS_KERNELS.scatterAdd(x, indices, want);
    native!.scatterAdd(x, indices, got);
    expect(words(got)).toEqual(words(want));
  });

  it("on 2 threads give the bits of 1 (arrays large enough to be split: whole rows, pieces of few long rows, whole planes)", () => {
    const big = values(64 * 16 * 28 * 28, 9), other = values(64 * 16 * 28 * 28, 10);
    const on = (threads: number, run: (t: number) => Float32Array | Int32Array) => words(run(threads));
    // counts of differing words: a diff of arrays this long would take the reporter minutes
    for (const [k] of UNARY_OPS.entries()) {
      const run = (t: number) => {
        const out = new Float32Array(big.length);
        native!.unary(k, big, out, t);
        return out;
      };
      expect(differing(on(2, run), on(1, run)), UNARY_OPS[k]).toBe(0);
    }
    const BROADCASTS: [number[], number[]][] = [[[64, 16, 28, 28], [64, 16, 28, 28]], [[64, 16, 28, 28], [1, 16, 1, 1]], [[64, 16, 784], [64, 1, 784]], [[802816], [1]], [[2, 401408], [2, 1]], [[7, 114688], [1, 114688]]];
    for (const [k, op] of BINARY_OPS.entries()) {
      for (const [sa, sb] of BROADCASTS) {
        const info = broadcast(sa, sb);
        const { outShape, strides } = coalesce(info);
        const b = other.subarray(0, sb.reduce((p, d) => p * d, 1));
        const run = (t: number) => {
          const out = new Float32Array(big.length);
          native!.binary(k, big, b, out, Int32Array.from(outShape), Int32Array.from([...strides[0]!, ...strides[1]!]), t);
          return out;
        };
        expect(differing(on(2, run), on(1, run)), `${sa} ${op} ${sb}`).toBe(0);
      }
    }
    for (const g of [window(64, 16, 28, 28, [2, 2], [2, 2], [0, 0], [1, 1]), window(64, 4, 28, 28, [3, 3], [1, 1], [1, 1], [1, 1]), window(700, 2, 6, 9, [2, 2], [2, 2], [1, 1], [1, 1])]) {
      const run = (t: number) => {
        const out = new Int32Array(g.n * g.c * g.outH * g.outW);
        native!.maxPoolIndices(big, out, Int32Array.from(windowArgs(g)!), t);
        return out;
      };
      const maxima = (t: number) => {
        const out = new Int32Array(g.n * g.c * g.outH * g.outW), values = new Float32Array(out.length);
        native!.maxPoolIndices(big, out, Int32Array.from(windowArgs(g)!), t, values);
        return values;
      };
      const want = new Int32Array(g.n * g.c * g.outH * g.outW), taken = new Float32Array(want.length);
      TS_KERNELS.maxPoolIndices(big, g, want);
      TS_KERNELS.take(big, want, taken);
      expect(differing(on(2, run), words(want)), `${g.kh}x${g.kw} stride ${g.strideW}, 2 threads`).toBe(0);
      expect(differing(on(1, run), words(want)), `${g.kh}x${g.kw} stride ${g.strideW}, 1 thread`).toBe(0);
      expect(differing(on(2, maxima), words(taken)), `${g.kh}x${g.kw} stride ${g.strideW}, maxima, 2 threads`).toBe(0);
    }
  });

  // a NaN's sign is not the sum's to keep: the WebAssembly kernel's changes when V8 recompiles it (which add's
  // operand is the NaN), so NaNs compare as one word and every other value word for word
  const nanAsOne = (a: Float32Array) => words(a).map((w, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : w));
  // sums over every pattern of axes the stages meet: a contiguous run (its 8-lane order and tail), columns (16, 4 and 1
  // at a time), several stages in float64, size-1 dims, nothing reduced but a size-1 axis, and a bias gradient's axes
  const SUMS: [number[], number[]][] = [
    [[3001], [0]], [[7, 5, 9, 13], [1, 3]], [[7, 5, 9, 13], [0]], [[7, 5, 9, 13], [3]], [[7, 5, 9, 13], [0, 1, 2, 3]], [[2, 1, 300], [1]],
    [[2, 1, 300], [1, 2]], [[17, 33, 3], [0, 2]], [[5, 40, 7], [0]], [[5, 41, 7], [1]], [[300, 17], [0]], [[300, 17], [1]], [[3, 4, 5, 6, 7], [0, 2, 4]],
    [[3, 4, 5, 6, 7], [1, 3]], [[64, 32, 14, 14], [0, 2, 3]], [[64, 256], [0]],
  ];
  for (const [shape, axes] of SUMS) {
    it(`sum of [${shape}] over [${axes}] gives the WebAssembly reduce's bits, on 1 and 2 threads`, () => {
      const n = shape.reduce((p, d) => p * d, 1), kept = shape.reduce((p, d, i) => (axes.includes(i) ? p : p * d), 1);
      // with NaN and infinities; finite over 18 decades; finite with ±2^50 at every third place, whose cancelling
      // makes any other order of the float64 adds show in the float32 sums
      const finite = (seed: number, f: (v: number, i: number) => number) => Float32Array.from(values(n, seed), (v, i) => (Number.isFinite(v) ? f(v, i) : -0));
      const xs = [values(n, 7), finite(8, (v) => v * 1e3 ** ((v * 7) % 3)), finite(9, (v, i) => (i % 3 === 0 ? (v < 0 ? -1 : 1) * 2 ** 50 : v))];
      for (const v of xs) {
        const want = new Float32Array(kept);
        expect(reduceSimd("sum", v, shape, axes, want, 0)).toBe(true);
        const plan = Int32Array.from(reducePlan(shape, axes).flatMap((g) => [g.size, g.reduced ? 1 : 0]));
        for (const t of [1, 2]) {
          const got = new Float32Array(kept).fill(7);
          native!.sum(v, got, plan, t);
          expect(differing(nanAsOne(got), nanAsOne(want)), `${t} thread(s)`).toBe(0);
        }
      }
    });
  }

  it("refuses a sum whose plan does not match its arrays with a RangeError", () => {
    const out = new Float32Array(5);
    expect(() => native!.sum(x.subarray(0, 20), out, Int32Array.from([4, 0, 5, 1]), 1)).not.toThrow();
    expect(() => native!.sum(x.subarray(0, 21), out, Int32Array.from([4, 0, 5, 1]), 1)).toThrow(/does not match the plan/);
    expect(() => native!.sum(x.subarray(0, 20), out.subarray(0, 3), Int32Array.from([4, 0, 5, 1]), 1)).toThrow(RangeError);
    expect(() => native!.sum(x.subarray(0, 20), new Float32Array(20), Int32Array.from([20, 0]), 1)).toThrow(/reduces nothing/);
    expect(() => native!.sum(x.subarray(0, 20), out, Int32Array.from([4, 0, 5]), 1)).toThrow(/pairs expected/);
    expect(() => native!.sum(x.subarray(0, 20), out, Int32Array.from([4, 0, 0, 1, 5, 1]), 1)).toThrow(/sizes of 1 or more/);
  });

  it("refuses arrays shorter than their shapes with a RangeError", () => {
    const shape = Int32Array.from([4, 5]), strides = Int32Array.from([5, 1, 5, 1]);
    expect(() => native!.binary(0, x.subarray(0, 19), y, new Float32Array(20), shape, strides)).toThrow(/shorter than the broadcast/);
    expect(() => native!.binary(0, x, y, new Float32Array(19), shape, strides)).toThrow(RangeError);
    expect(() => native!.binary(0, x, y, new Float32Array(20), shape, strides.subarray(1))).toThrow(RangeError);
    const g = Int32Array.from(windowArgs(POOLS[0]![1])!);
    expect(() => native!.maxPoolIndices(x.subarray(0, 100), new Int32Array(10000), g)).toThrow(/shorter than its geometry/);
    const big = new Float32Array(3 * 4 * 28 * 28), outs = 3 * 4 * 14 * 14;
    expect(() => native!.maxPoolIndices(big, new Int32Array(outs), g, 1, new Float32Array(outs - 1))).toThrow(/shorter than its geometry/);
    expect(() => native!.scatterAdd(x.subarray(0, 5), new Int32Array(6), new Float32Array(4))).toThrow(RangeError);
    expect(native!.unary(99, x, new Float32Array(4))).toBe(false);
  });

  it("the backend runs them in training code (relu, a bias add, max-pool and their gradients, the bias's a sum)", () => {
    const calls = new Set<string>();
    const spy: NativeAddon = { ...native! };
    for (const name of ["unary", "binary", "maxPoolIndices", "take", "scatterAdd", "sum"] as const) {
      const real = native![name] as (...a: unknown[]) => unknown;
      (spy as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => (calls.add(name === "maxPoolIndices" && a[4] ? "maxPoolIndices with values" : name), real(...a));
    }
    withBackend(new NativeBackend(spy), () => {
      const input = fromValues(values(4 * 3 * 16 * 16, 5).map((v) => (Number.isFinite(v) ? v : 0)), [4, 3, 16, 16], { requiresGrad: true });
      const bias = fromValues(values(3, 6).map((v) => (Number.isFinite(v) ? v : 0)), [1, 3, 1, 1], { requiresGrad: true });
      const out = maxPool2d(relu(add(input, bias)), { kernelSize: 2 });
      const [gx] = gradients(sum(mul(out, out)), [input]);
      expect(gx!.shape).toEqual([4, 3, 16, 16]);
    });
    // max-pool's forward gathers its maxima itself: no take
    expect([...calls].sort()).toEqual(["binary", "maxPoolIndices with values", "scatterAdd", "sum", "unary"]);
  });
});
