/**
 * CPU matrix product C = op(A) @ op(B), row-major, in the layout of BLIS/GotoBLAS, scalar code.
 * The cpu backend runs it for float64 (the reference path) and for float32 only where WebAssembly
 * SIMD is unavailable or `new CpuBackend({ simd: false })` asks for it; float32 otherwise runs the
 * SIMD kernel of ./simd/gemm-simd.ts (wasm/gemm.ts), which reuses this loop nest.
 *
 * Loops, outermost first: NC columns of C; KC inner steps (pack that KC x NC block of op(B) into
 * micro-panels of NR columns, each stored p-major); MC rows (pack that MC x KC block of op(A) into
 * micro-panels of MR rows); then every (NR-column, MR-row) pair of micro-panels runs the 4x4
 * micro-kernel: 16 local accumulators, 4 + 4 loads per inner step, read from contiguous
 * Float64Array scratch. Transposes cost nothing beyond the O(size) packing, edges are zero-padded
 * in the panels and clipped on store. The scratch lives at module level and only grows, so steady
 * state allocates nothing. Products are summed in float64 and added into C once per KC block, so
 * float32 results are rounded once when k <= KC.
 *
 * Measured against alternatives (BENCHMARKS.md): 4x4 beat 2x4, 3x4, 4x2, 4x3, 3x3 and 2x8 tiles,
 * a k-unrolled 4x4, and an a-major 4x4 ordering; V8 already spills part of the 4x4 tile (16 xmm
 * registers), larger tiles spill more.
 */
import type { TypedArray } from "../../tensor/dtype.js";

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 1024;

export interface GemmArgs {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

// Module-level packing scratch, grown on demand (single-threaded, never re-entered).
let packA = new Float64Array(MC * KC);
let packB = new Float64Array(0);

/** Writes C[cOff .. cOff + m*n) = op(A) @ op(B); allocates only when its scratch must grow. */
export function gemm(
  a: TypedArray, aOff: number, b: TypedArray, bOff: number, c: TypedArray, cOff: number, args: GemmArgs,
): void {
  const { m, k, n, transA, transB } = args;
  const mn = m * n;
  for (let i = 0; i < mn; i++) c[cOff + i] = 0;
  if (m === 0 || n === 0 || k === 0) return;
  // element strides of A(i, p) and B(p, j) in the stored arrays
  const ars = transA ? 1 : k;
  const acs = transA ? m : 1;
  const brs = transB ? 1 : n;
  const bcs = transB ? k : 1;
  const ncMax = Math.min(n, NC);
  const bNeed = Math.ceil(ncMax / NR) * NR * Math.min(k, KC);
  if (packB.length < bNeed) packB = new Float64Array(bNeed);
  const ap = packA;
  const bp = packB;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      packPanels(b, bOff + p0 * brs + j0 * bcs, brs, bcs, kc, nc, bp);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        // A block: rows are the "columns" of the packing routine (stride ars), p runs along acs
        packPanels(a, aOff + i0 * ars + p0 * acs, acs, ars, kc, mc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = Math.min(NR, nc - jr);
          const bi = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            const h = Math.min(MR, mc - ir);
            kernel4x4(ap, ir * kc, bp, bi, kc, c, cOff + (i0 + ir) * n + j0 + jr, n, h, w);
          }
        }
      }
    }
  }
}

/**
 * Packs the kc x cols block X(p, j) = x[off + p*ps + j*js] into micro-panels of 4 columns, each
 * p-major ([kc][4], the last one zero-padded): out[(j/4)*4*kc + p*4 + j%4].
 */
function packPanels(
  x: TypedArray, off: number, ps: number, js: number, kc: number, cols: number, out: Float64Array,
): void {
  let o = 0;
  for (let j = 0; j < cols; j += 4) {
    const w = cols - j;
    let src = off + j * js;
    if (w >= 4) {
      if (js === 1) {
        for (let p = 0; p < kc; p++, o += 4, src += ps) {
          out[o] = x[src]!;
          out[o + 1] = x[src + 1]!;
          out[o + 2] = x[src + 2]!;
          out[o + 3] = x[src + 3]!;
        }
      } else if (ps === 1) {
        // columns contiguous along p: read four runs
        const s1 = src + js, s2 = s1 + js, s3 = s2 + js;
        for (let p = 0; p < kc; p++, o += 4) {
          out[o] = x[src + p]!;
          out[o + 1] = x[s1 + p]!;
          out[o + 2] = x[s2 + p]!;
          out[o + 3] = x[s3 + p]!;
        }
      } else {
        for (let p = 0; p < kc; p++, o += 4, src += ps) {
          out[o] = x[src]!;
          out[o + 1] = x[src + js]!;
          out[o + 2] = x[src + 2 * js]!;
          out[o + 3] = x[src + 3 * js]!;
        }
      }
    } else {
      for (let p = 0; p < kc; p++, o += 4, src += ps) {
        out[o] = x[src]!;
        out[o + 1] = w > 1 ? x[src + js]! : 0;
        out[o + 2] = w > 2 ? x[src + 2 * js]! : 0;
        out[o + 3] = 0;
      }
    }
  }
}

/** C[h x w tile at ci, row stride ldc] += Apanel (4 x kc) @ Bpanel (kc x 4). */
function kernel4x4(
  ap: Float64Array, ai: number, bp: Float64Array, bi: number, kc: number,
  c: TypedArray, ci: number, ldc: number, h: number, w: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++, ai += 4, bi += 4) {
    const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!, b3 = bp[bi + 3]!;
    let x = ap[ai]!;
    c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
    x = ap[ai + 1]!;
    c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
    x = ap[ai + 2]!;
    c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
    x = ap[ai + 3]!;
    c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
  }
  if (w === 4) {
    c[ci]! += c00; c[ci + 1]! += c01; c[ci + 2]! += c02; c[ci + 3]! += c03;
    if (h === 1) return;
    ci += ldc;
    c[ci]! += c10; c[ci + 1]! += c11; c[ci + 2]! += c12; c[ci + 3]! += c13;
    if (h === 2) return;
    ci += ldc;
    c[ci]! += c20; c[ci + 1]! += c21; c[ci + 2]! += c22; c[ci + 3]! += c23;
    if (h === 3) return;
    ci += ldc;
    c[ci]! += c30; c[ci + 1]! += c31; c[ci + 2]! += c32; c[ci + 3]! += c33;
    return;
  }
  storeRow(c, ci, w, c00, c01, c02);
  if (h === 1) return;
  ci += ldc;
  storeRow(c, ci, w, c10, c11, c12);
  if (h === 2) return;
  ci += ldc;
  storeRow(c, ci, w, c20, c21, c22);
  if (h === 3) return;
  storeRow(c, ci + ldc, w, c30, c31, c32);
}

/** A row of an edge tile (w < 4 columns). */
function storeRow(c: TypedArray, ci: number, w: number, v0: number, v1: number, v2: number): void {
  c[ci]! += v0;
  if (w > 1) c[ci + 1]! += v1;
  if (w > 2) c[ci + 2]! += v2;
}
