/**
 * CPU matrix product C = op(A) @ op(B), row-major, cache-blocked, with no per-element allocation.
 *
 * B is read along rows, so a transposed B is first packed into a contiguous [k, n] scratch. The
 * product runs over blocks of NB columns and KB inner steps (so the B panel stays in L2), four rows
 * of A at a time into a float64 accumulator tile (so float32 products are summed in float64 and
 * rounded once per block).
 */
import type { TypedArray } from "../../tensor/dtype.js";

const NB = 256;
const KB = 128;

export interface GemmArgs {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

/** Adds nothing and allocates only its scratch: writes C[cOff .. cOff + m*n). */
export function gemm(
  a: TypedArray, aOff: number, b: TypedArray, bOff: number, c: TypedArray, cOff: number, args: GemmArgs,
): void {
  const { m, k, n, transA, transB } = args;
  for (let i = 0; i < m * n; i++) c[cOff + i] = 0;
  if (m === 0 || n === 0 || k === 0) return;
  let bv: TypedArray = b;
  let bBase = bOff;
  if (transB) {
    // B is stored [n, k]: pack B^T as [k, n]
    const packed = new Float64Array(k * n);
    for (let j = 0; j < n; j++) {
      const row = bOff + j * k;
      for (let p = 0; p < k; p++) packed[p * n + j] = b[row + p]!;
    }
    bv = packed;
    bBase = 0;
  }
  // A(i, p): row stride and column stride in the stored array
  const ars = transA ? 1 : k;
  const acs = transA ? m : 1;
  const acc = new Float64Array(4 * NB);
  for (let j0 = 0; j0 < n; j0 += NB) {
    const jn = Math.min(NB, n - j0);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const pn = Math.min(KB, k - p0);
      for (let i0 = 0; i0 < m; i0 += 4) {
        const rows = Math.min(4, m - i0);
        acc.fill(0);
        const r0 = aOff + i0 * ars;
        const r1 = r0 + ars, r2 = r1 + ars, r3 = r2 + ars;
        for (let p = p0; p < p0 + pn; p++) {
          const ap = p * acs;
          const a0 = a[r0 + ap]!;
          const a1 = rows > 1 ? a[r1 + ap]! : 0;
          const a2 = rows > 2 ? a[r2 + ap]! : 0;
          const a3 = rows > 3 ? a[r3 + ap]! : 0;
          const bo = bBase + p * n + j0;
          for (let j = 0; j < jn; j++) {
            const x = bv[bo + j]!;
            acc[j]! += a0 * x;
            acc[NB + j]! += a1 * x;
            acc[2 * NB + j]! += a2 * x;
            acc[3 * NB + j]! += a3 * x;
          }
        }
        for (let r = 0; r < rows; r++) {
          const co = cOff + (i0 + r) * n + j0;
          const ao = r * NB;
          for (let j = 0; j < jn; j++) c[co + j]! += acc[ao + j]!;
        }
      }
    }
  }
}
