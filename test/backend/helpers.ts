/**
 * Shared by the backend tests: uniform draws from the project's seeded Generator, the naive
 * triple-loop product in float64 that every GEMM kernel is checked against, and a count of
 * differing words for comparing large arrays.
 */
import { Generator } from "../../src/tensor/random.js";

/** Uniform draws in [0, 1) from a Generator seeded with `seed`. */
export function rng(seed: number): () => number {
  const g = new Generator(seed);
  return () => g.uniform();
}

/** Naive op(A) @ op(B) in float64, and the sum of |products| per entry (for a relative tolerance). */
export function naive(
  a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number,
  m: number, k: number, n: number, transA: boolean, transB: boolean,
): { ref: Float64Array; mag: Float64Array } {
  const ref = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = a[aOff + (transA ? p * m + i : i * k + p)]! * b[bOff + (transB ? j * k + p : p * n + j)]!;
        s += x;
        t += Math.abs(x);
      }
      ref[i * n + j] = s;
      mag[i * n + j] = t;
    }
  }
  return { ref, mag };
}

/** How many words of a and b differ (a length mismatch counts its excess): a small failure message for large arrays. */
export function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) d++;
  return d;
}
