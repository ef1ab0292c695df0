/**
 * The Hessian of a loss at a point, and what its eigenvalues say about that point.
 *
 * The full Hessian (for small models) is built row by row from exact second derivatives: the
 * gradient is recorded once with createGraph, and row i is the gradient of its i-th entry (no
 * finite differences). Its eigenvalues come from the cyclic Jacobi method, which is accurate to
 * machine precision for symmetric matrices. A point where the gradient vanishes is a minimum when
 * every eigenvalue is positive, a maximum when every one is negative, a saddle when the signs are
 * mixed (the negative eigenvalue's eigenvector is a direction of descent), and degenerate when a
 * zero eigenvalue leaves it undecided.
 */
import { ShapeError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromValues } from "../tensor/creation.js";
import { gradients } from "../autograd/backward.js";
import { enableGrad } from "../autograd/mode.js";
import { concat, reshape } from "../ops/movement.js";

export interface HessianResult {
  value: number;
  /** the gradient, flat in parameter order */
  gradient: Float64Array;
  /** the Hessian, [P, P] row-major */
  hessian: Float64Array;
  size: number;
}

/**
 * Loss, gradient and full Hessian of f at params (flattened in order, row-major each). The rows
 * are read with `await`, so it runs on any backend.
 */
export async function hessianOf(f: (...params: Tensor[]) => Tensor, params: readonly Tensor[]): Promise<HessianResult> {
  const leaves = params.map((p) => p.detach().requireGrad());
  const { loss, flat } = enableGrad(() => {
    const loss = f(...leaves);
    if (loss.size !== 1) throw new ShapeError(`hessianOf: the function must return a scalar, got shape [${loss.shape.join(",")}]`);
    const gs = gradients([loss], leaves, { createGraph: true, allowUnused: true });
    return { loss, flat: concat(gs.map((g) => reshape(g, [g.size]))) };
  });
  const size = flat.size;
  const hessian = new Float64Array(size * size);
  const unit = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    unit.fill(0);
    unit[i] = 1;
    const seed = fromValues(flat.dtype === "float64" ? unit.slice() : Float32Array.from(unit), [size], { backend: flat.backend });
    const row = flat.requiresGrad ? enableGrad(() => gradients([flat], leaves, { gradOutputs: [seed], allowUnused: true, retainGraph: true })) : leaves.map(() => null);
    let off = i * size;
    for (const [k, r] of row.entries()) {
      const v = r ? await r.data() : new Float64Array(leaves[k]!.size);
      for (let j = 0; j < v.length; j++) hessian[off++] = v[j]!;
    }
  }
  return { value: (await loss.data())[0]!, gradient: Float64Array.from(await flat.data()), hessian, size };
}

export interface EigenResult {
  /** ascending */
  values: Float64Array;
  /** column k of the [n, n] row-major matrix is the eigenvector of values[k] */
  vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of a symmetric [n, n] matrix (cyclic Jacobi rotations). */
export function symmetricEigen(matrix: Float64Array, n: number): EigenResult {
  if (matrix.length !== n * n) throw new ShapeError(`symmetricEigen: expected ${n * n} values for [${n},${n}], got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  // converged when the off-diagonal part is negligible relative to the whole matrix: an absolute
  // bound would stop at once on a small Hessian (entries ~1e-9 near a plateau) with wrong results
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i]! ** 2;
  const tol = 1e-30 * total;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= tol) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        // NOTE: the rotation angle is computed in the stable form of Golub & Van Loan (8.4).
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i]! - a[j * n + j]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}

export type CriticalPoint = "none" | "minimum" | "maximum" | "saddle" | "degenerate";

/**
 * What kind of point this is: "none" when the gradient norm exceeds tol; otherwise by the signs
 * of the eigenvalues, with |λ| <= tol counted as zero.
 */
export function classifyCriticalPoint(gradientNorm: number, eigenvalues: ArrayLike<number>, tol = 1e-8): CriticalPoint {
  if (gradientNorm > tol) return "none";
  let pos = false, neg = false, zero = false;
  for (let i = 0; i < eigenvalues.length; i++) {
    const l = eigenvalues[i]!;
    if (l > tol) pos = true;
    else if (l < -tol) neg = true;
    else zero = true;
  }
  if (pos && neg) return "saddle";
  if (zero) return "degenerate";
  return pos ? "minimum" : "maximum";
}
