import { describe, expect, it } from "vitest";
import type { MatmulInfo } from "../../src/backend/backend.js";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { gemmSimd, gemmSimdBatch, simdAvailable } from "../../src/backend/cpu/simd/gemm-simd.js";
import { naive, rng } from "./helpers.js";

function randomF32(size: number, r: () => number): Float32Array {
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) x[i] = r() * 2 - 1;
  return x;
}

const GUARD = 7;

/** Runs a batch of products at non-zero offsets, checks them and that nothing outside C is written. */
function check(m: number, k: number, n: number, transA: boolean, transB: boolean, r: () => number, batch = 1): void {
  const pad = 3;
  const a = randomF32(pad + batch * m * k + pad, r);
  const b = randomF32(pad + batch * k * n + pad, r);
  const c = new Float32Array(pad + batch * m * n + pad).fill(GUARD);
  const aOffsets = Array.from({ length: batch }, (_, t) => pad + t * m * k);
  const bOffsets = Array.from({ length: batch }, (_, t) => pad + t * k * n);
  const args = { m, k, n, transA, transB };
  if (batch === 1) gemmSimd(a, pad, b, pad, c, pad, args);
  else gemmSimdBatch(a, aOffsets, b, bOffsets, c, pad, args);
  for (let t = 0; t < batch; t++) {
    const { ref, mag } = naive(a, aOffsets[t]!, b, bOffsets[t]!, m, k, n, transA, transB);
    for (let i = 0; i < m * n; i++) {
      const got = c[pad + t * m * n + i]!;
      // float32 summation: error grows with k times the magnitude of the terms
      const tol = 2e-7 * (k + 4) * mag[i]! + 1e-30;
      if (!(Math.abs(got - ref[i]!) <= tol)) {
        throw new Error(`m=${m} k=${k} n=${n} tA=${transA} tB=${transB} batch ${t} index ${i}: ${got} vs ${ref[i]}`);
      }
    }
  }
  for (let i = 0; i < pad; i++) {
    expect(c[i]).toBe(GUARD);
    expect(c[pad + batch * m * n + i]).toBe(GUARD);
  }
}

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

describe("wasm SIMD gemm (float32)", () => {
  it("is available on Node 20", () => {
    expect(simdAvailable()).toBe(true);
    expect(new CpuBackend().gemmKernel).toBe("wasm-simd");
    expect(new CpuBackend({ simd: false }).gemmKernel).toBe("typescript");
  });

  it("matches a float64 naive product on random shapes 0..70, all transposes", () => {
    const r = rng(11);
    for (const [tA, tB] of TRANS) {
      for (let t = 0; t < 30; t++) {
        check(Math.floor(r() * 71), Math.floor(r() * 71), Math.floor(r() * 71), tA, tB, r);
      }
    }
  });

  it("handles empty, unit and block-boundary sizes (MR 4, NR 8, MC 96, KC 256)", () => {
    const r = rng(12);
    const sizes: [number, number, number][] = [
      [0, 0, 0], [0, 5, 3], [3, 0, 5], [5, 3, 0], [1, 1, 1], [1, 300, 1], [4, 1, 8], [3, 7, 7], [5, 9, 9],
      [4, 256, 8], [4, 257, 8], [96, 255, 16], [97, 256, 17], [95, 513, 9], [100, 20, 2049], [8, 600, 33],
    ];
    for (const [m, k, n] of sizes) for (const [tA, tB] of TRANS) check(m, k, n, tA, tB, r);
  });

  it("runs batched products at their offsets without writing outside C", () => {
    const r = rng(13);
    for (const [tA, tB] of TRANS) {
      check(7, 13, 11, tA, tB, r, 5);
      check(32, 144, 20, tA, tB, r, 3);
      check(1, 1, 1, tA, tB, r, 4);
    }
  });

  it("repeats (broadcast) offsets", () => {
    const r = rng(14);
    const [m, k, n] = [6, 10, 9];
    const a = randomF32(m * k, r);
    const b = randomF32(3 * k * n, r);
    const c = new Float32Array(3 * m * n);
    gemmSimdBatch(a, [0, 0, 0], b, [0, k * n, 2 * k * n], c, 0, { m, k, n, transA: false, transB: false });
    for (let t = 0; t < 3; t++) {
      const { ref } = naive(a, 0, b, t * k * n, m, k, n, false, false);
      for (let i = 0; i < m * n; i++) expect(c[t * m * n + i]).toBeCloseTo(ref[i]!, 5);
    }
  });

  it("propagates NaN and Infinity to exactly the entries they reach", () => {
    for (const [tA, tB] of TRANS) {
      const [m, k, n] = [9, 5, 11];
      const a = new Float32Array(m * k).fill(1);
      const b = new Float32Array(k * n).fill(1);
      const at = (i: number, p: number): number => (tA ? p * m + i : i * k + p);
      const bt = (p: number, j: number): number => (tB ? j * k + p : p * n + j);
      a[at(2, 1)] = NaN; // row 2 of C
      a[at(8, 3)] = Infinity; // row 8 of C: +Inf, except where B has -Inf (NaN)
      b[bt(4, 10)] = -Infinity; // column 10 of C
      const c = new Float32Array(m * n);
      gemmSimd(a, 0, b, 0, c, 0, { m, k, n, transA: tA, transB: tB });
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const got = c[i * n + j]!;
          if (i === 2 || (i === 8 && j === 10)) expect(got).toBeNaN();
          else if (i === 8) expect(got).toBe(Infinity);
          else if (j === 10) expect(got).toBe(-Infinity);
          else expect(got).toBe(k);
        }
      }
    }
  });

  it("CpuBackend float32 matmul agrees with the TypeScript kernel on W1/W2-shaped products", () => {
    const r = rng(15);
    const simd = new CpuBackend();
    const ts = new CpuBackend({ simd: false });
    // [batch, m, k, n, transA, transB]: conv1/conv2 forward and gradients per image, dense and MLP layers
    const shapes: [number, number, number, number, boolean, boolean][] = [
      [8, 16, 9, 784, false, false], [8, 32, 144, 196, false, false], [8, 32, 196, 144, false, true],
      [8, 144, 32, 196, true, false], [1, 64, 1568, 10, false, true], [1, 64, 10, 1568, false, false],
      [1, 64, 784, 256, false, false], [1, 784, 64, 256, true, false], [1, 64, 256, 784, false, true],
    ];
    for (const [batch, m, k, n, transA, transB] of shapes) {
      const a = randomF32(batch * m * k, r);
      const b = randomF32(batch * k * n, r);
      const info: MatmulInfo = {
        batch, m, k, n, transA, transB,
        aOffsets: Int32Array.from({ length: batch }, (_, t) => t * m * k),
        bOffsets: Int32Array.from({ length: batch }, (_, t) => t * k * n),
      };
      const x = simd.readSync(simd.matmul(simd.upload(a), simd.upload(b), info, "float32"));
      const y = ts.readSync(ts.matmul(ts.upload(a), ts.upload(b), info, "float32"));
      expect(x).toBeInstanceOf(Float32Array);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (Math.sqrt(k) + Math.abs(y[i]!)));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it("float64 matmul still runs the TypeScript kernel (bit-identical to simd: false)", () => {
    const r = rng(16);
    const [m, k, n] = [13, 37, 21];
    const a = Float64Array.from(randomF32(m * k, r));
    const b = Float64Array.from(randomF32(k * n, r));
    const info: MatmulInfo = { batch: 1, m, k, n, transA: false, transB: false, aOffsets: Int32Array.of(0), bOffsets: Int32Array.of(0) };
    const simd = new CpuBackend(), ts = new CpuBackend({ simd: false });
    const x = simd.readSync(simd.matmul(simd.upload(a), simd.upload(b), info, "float64"));
    const y = ts.readSync(ts.matmul(ts.upload(a), ts.upload(b), info, "float64"));
    expect(x).toBeInstanceOf(Float64Array);
    expect(Array.from(x)).toEqual(Array.from(y));
  });
});
