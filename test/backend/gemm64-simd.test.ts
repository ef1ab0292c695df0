import { describe, expect, it, vi } from "vitest";
import { gemm } from "../../src/backend/cpu/gemm.js";
import { gemmSimdBatch64, simdAvailable } from "../../src/backend/cpu/simd/gemm-simd.js";
import { naive, rng } from "./helpers.js";

// The float64 SIMD kernel (wasm/gemm.ts `gemm64`, 4x4 f64x2 tiles) sums each element of C in KC
// blocks of 256, in p order within a block, without fused multiply-add: the order of the
// TypeScript kernel of src/backend/cpu/gemm.ts. So besides a tolerance against a naive product,
// the results are checked bit for bit against that kernel.

function randomF64(size: number, r: () => number): Float64Array {
  const x = new Float64Array(size);
  for (let i = 0; i < size; i++) x[i] = r() * 2 - 1;
  return x;
}

const GUARD = 7;
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** The batch through gemmSimdBatch64 and through the TypeScript kernel, C at offset `pad`. */
function both(
  a: Float64Array, aOffsets: number[], b: Float64Array, bOffsets: number[], m: number, k: number, n: number,
  transA: boolean, transB: boolean, pad: number,
): { simd: Float64Array; ts: Float64Array } {
  const batch = aOffsets.length;
  const simd = new Float64Array(pad + batch * m * n + pad).fill(GUARD);
  const ts = new Float64Array(pad + batch * m * n + pad).fill(GUARD);
  const args = { m, k, n, transA, transB };
  expect(gemmSimdBatch64(a, aOffsets, b, bOffsets, simd, pad, args)).toBe(true);
  for (let t = 0; t < batch; t++) gemm(a, aOffsets[t]!, b, bOffsets[t]!, ts, pad + t * m * n, args);
  return { simd, ts };
}

/** Random operands at non-zero offsets: checks against the naive product and the TS kernel, and the guards. */
function check(
  m: number, k: number, n: number, transA: boolean, transB: boolean, r: () => number, batch = 1,
): void {
  const pad = 3;
  const a = randomF64(pad + batch * m * k + pad, r);
  const b = randomF64(pad + batch * k * n + pad, r);
  const aOffsets = Array.from({ length: batch }, (_, t) => pad + t * m * k);
  const bOffsets = Array.from({ length: batch }, (_, t) => pad + t * k * n);
  const { simd, ts } = both(a, aOffsets, b, bOffsets, m, k, n, transA, transB, pad);
  const where = `m=${m} k=${k} n=${n} tA=${transA} tB=${transB}`;
  for (let t = 0; t < batch; t++) {
    const { ref, mag } = naive(a, aOffsets[t]!, b, bOffsets[t]!, m, k, n, transA, transB);
    for (let i = 0; i < m * n; i++) {
      const got = simd[pad + t * m * n + i]!;
      if (!(Math.abs(got - ref[i]!) <= 1e-13 * mag[i]! + 1e-300)) {
        throw new Error(`${where} batch ${t} index ${i}: ${got} vs naive ${ref[i]}`);
      }
    }
  }
  for (let i = 0; i < simd.length; i++) {
    if (!Object.is(simd[i], ts[i])) throw new Error(`${where} index ${i}: ${simd[i]} vs TypeScript kernel ${ts[i]}`);
  }
  for (let i = 0; i < pad; i++) {
    expect(simd[i]).toBe(GUARD);
    expect(simd[pad + batch * m * n + i]).toBe(GUARD);
  }
}

describe("wasm SIMD gemm (float64)", () => {
  it("is available on Node 20", () => {
    expect(simdAvailable()).toBe(true);
  });

  it("matches the naive product and the TypeScript kernel on random shapes 1..70, all transposes", () => {
    const r = rng(21);
    const dim = (): number => 1 + Math.floor(r() * 70);
    for (const [tA, tB] of TRANS) {
      for (let t = 0; t < 25; t++) check(dim(), dim(), dim(), tA, tB, r);
    }
  });

  it("handles unit and block-boundary sizes (MR 4, NR 4, MC 48, KC 256, NC 1024)", () => {
    const r = rng(22);
    const sizes: [number, number, number][] = [
      [1, 1, 1], [1, 300, 1], [4, 1, 4], [3, 5, 3], [5, 7, 5], [2, 3, 6], [4, 256, 4], [4, 257, 4],
      [48, 255, 8], [49, 256, 9], [47, 513, 5], [97, 17, 13], [6, 20, 1025], [5, 600, 3],
    ];
    for (const [m, k, n] of sizes) for (const [tA, tB] of TRANS) check(m, k, n, tA, tB, r);
  });

  it("runs batched products at their offsets without writing outside C", () => {
    const r = rng(23);
    for (const [tA, tB] of TRANS) {
      check(7, 13, 11, tA, tB, r, 5);
      check(20, 70, 9, tA, tB, r, 3);
      check(1, 1, 1, tA, tB, r, 4);
    }
  });

  it("repeats (broadcast) offsets of A or of B", () => {
    const r = rng(24);
    const [m, k, n] = [6, 10, 9];
    for (const [tA, tB] of TRANS) {
      const a = randomF64(2 * m * k, r);
      const b = randomF64(3 * k * n, r);
      // one A for three Bs, then three As (one repeated) for one B, offsets out of order
      const cases: [number[], number[]][] = [[[0, 0, 0], [0, k * n, 2 * k * n]], [[m * k, 0, m * k], [k * n, k * n, k * n]]];
      for (const [aOffsets, bOffsets] of cases) {
        const { simd, ts } = both(a, aOffsets, b, bOffsets, m, k, n, tA, tB, 0);
        expect(Array.from(simd)).toEqual(Array.from(ts));
        const { ref } = naive(a, aOffsets[2]!, b, bOffsets[2]!, m, k, n, tA, tB);
        for (let i = 0; i < m * n; i++) expect(simd[2 * m * n + i]).toBeCloseTo(ref[i]!, 12);
      }
    }
  });

  it("is exact on integer-valued operands", () => {
    const r = rng(25);
    const [m, k, n] = [13, 300, 11];
    const a = Float64Array.from({ length: m * k }, () => Math.floor(r() * 201) - 100);
    const b = Float64Array.from({ length: k * n }, () => Math.floor(r() * 201) - 100);
    const c = new Float64Array(m * n);
    expect(gemmSimdBatch64(a, [0], b, [0], c, 0, { m, k, n, transA: false, transB: false })).toBe(true);
    expect(Array.from(c)).toEqual(Array.from(naive(a, 0, b, 0, m, k, n, false, false).ref));
  });

  it("is deterministic across calls, and a band of columns or rows gives the same bits as the whole", () => {
    const r = rng(26);
    const [m, k, n] = [37, 530, 45];
    const a = randomF64(m * k, r);
    const b = randomF64(k * n, r);
    const args = { m, k, n, transA: false, transB: false };
    const first = new Float64Array(m * n);
    const again = new Float64Array(m * n);
    gemmSimdBatch64(a, [0], b, [0], first, 0, args);
    gemmSimdBatch64(a, [0], b, [0], again, 0, args);
    expect(Array.from(again)).toEqual(Array.from(first));
    // columns 5..25 of B (transposed storage, so a contiguous block) and rows 3..30 of A
    const [j0, j1, i0, i1] = [5, 25, 3, 30];
    const bt = new Float64Array(n * k);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j]!;
    const part = new Float64Array((i1 - i0) * (j1 - j0));
    const sub = { m: i1 - i0, k, n: j1 - j0, transA: false, transB: true };
    expect(gemmSimdBatch64(a, [i0 * k], bt, [j0 * k], part, 0, sub)).toBe(true);
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) expect(Object.is(part[(i - i0) * (j1 - j0) + j - j0], first[i * n + j])).toBe(true);
    }
  });

  it("writes zeros for k = 0 and nothing for an empty C", () => {
    const c = new Float64Array(8).fill(GUARD);
    const empty = new Float64Array(0);
    expect(gemmSimdBatch64(empty, [0, 0], empty, [0, 0], c, 1, { m: 3, k: 0, n: 1, transA: false, transB: true })).toBe(true);
    expect(Array.from(c)).toEqual([GUARD, 0, 0, 0, 0, 0, 0, GUARD]);
    const d = new Float64Array(4).fill(GUARD);
    expect(gemmSimdBatch64(Float64Array.of(1, 2), [0], empty, [0], d, 0, { m: 0, k: 2, n: 5, transA: false, transB: false })).toBe(true);
    expect(gemmSimdBatch64(Float64Array.of(1, 2), [], Float64Array.of(3), [], d, 0, { m: 2, k: 1, n: 1, transA: false, transB: false })).toBe(true);
    expect(Array.from(d)).toEqual([GUARD, GUARD, GUARD, GUARD]);
  });

  it("propagates NaN and Infinity to exactly the entries they reach", () => {
    for (const [tA, tB] of TRANS) {
      const [m, k, n] = [9, 5, 7];
      const a = new Float64Array(m * k).fill(1);
      const b = new Float64Array(k * n).fill(1);
      const at = (i: number, p: number): number => (tA ? p * m + i : i * k + p);
      const bt = (p: number, j: number): number => (tB ? j * k + p : p * n + j);
      a[at(2, 1)] = NaN; // row 2 of C
      a[at(8, 3)] = Infinity; // row 8 of C: +Inf, except where B has -Inf (NaN)
      b[bt(4, 6)] = -Infinity; // column 6 of C
      const c = new Float64Array(m * n);
      expect(gemmSimdBatch64(a, [0], b, [0], c, 0, { m, k, n, transA: tA, transB: tB })).toBe(true);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const got = c[i * n + j]!;
          if (i === 2 || (i === 8 && j === 6)) expect(got).toBeNaN();
          else if (i === 8) expect(got).toBe(Infinity);
          else if (j === 6) expect(got).toBe(-Infinity);
          else expect(got).toBe(k);
        }
      }
    }
  });

  it("returns false and writes nothing where the module is unusable (no WebAssembly SIMD)", async () => {
    vi.resetModules();
    vi.doMock("../../src/backend/cpu/simd/gemm-wasm.generated.js", () => ({ GEMM_WASM_BASE64: "" }));
    try {
      const fresh = await import("../../src/backend/cpu/simd/gemm-simd.js");
      expect(fresh.simdAvailable()).toBe(false);
      const c = new Float64Array(4).fill(GUARD);
      const args = { m: 2, k: 1, n: 2, transA: false, transB: false };
      expect(fresh.gemmSimdBatch64(Float64Array.of(1, 2), [0], Float64Array.of(3, 4), [0], c, 0, args)).toBe(false);
      expect(fresh.gemmSimdBatch64(new Float64Array(0), [0], new Float64Array(0), [0], c, 0, { ...args, k: 0 })).toBe(false);
      expect(Array.from(c)).toEqual([GUARD, GUARD, GUARD, GUARD]);
    } finally {
      vi.doUnmock("../../src/backend/cpu/simd/gemm-wasm.generated.js");
      vi.resetModules();
    }
  });
});
