/**
 * Softmax cross-entropy against class labels as one kernel for the cpu family (the backend's
 * `crossEntropy` and `crossEntropyBackward`, used by losses/losses.ts): in a training step the
 * loss is a few hundred numbers, and the two dozen separate ops it otherwise takes (max, exp, sum,
 * log, gather, mask, mean, and their backward rules) cost more in dispatch than in arithmetic.
 *
 * Bits: these run the composed path's arithmetic, op for op, on the same values: the row max
 * (argmax's first NaN or first of tied zeros) with non-finite maxima taken as 0, t = x − m,
 * e = exp t, s = Σ e, lse = log s + m, logp_y = x_y − lse, l = −(logp_y · keep), and the mean
 * Σ l / Σ keep; backward v = −(g / Σ keep) · keep at the label, and dx = v + (−v / s) · e. Every
 * float32 operation rounds to float32 (Math.fround), exp and log go through the table's unary
 * kernel and every sum through its reduce kernel over the composed path's shapes, so each backend
 * of the family gives its own composed path's result bit for bit (test/nn/fused-cross-entropy.test.ts).
 *
 * Labels must already be checked to lie in [0, C) or equal ignoreIndex (checkIndexRange).
 */
import type { TypedArray } from "../../tensor/dtype.js";
import type { CrossEntropyReduction } from "../backend.js";
import type { CpuKernels } from "./cpu.js";

const identity = (v: number): number => v;

/** Per-row softmax pieces: the shifted exponentials e [M, C] and their row sums s [M]. */
interface RowSoftmax {
  m: Float64Array;
  e: TypedArray;
  s: TypedArray;
}

function rowSoftmax(kernels: CpuKernels, x: TypedArray, rows: number, classes: number, make: (size: number) => TypedArray): RowSoftmax {
  const m = new Float64Array(rows);
  const t = make(rows * classes);
  for (let n = 0; n < rows; n++) {
    const base = n * classes;
    // argmax's pick: the first NaN, else the first of the largest (argReduceInto)
    let best = x[base]!;
    if (best === best) {
      for (let j = 1; j < classes; j++) {
        const v = x[base + j]!;
        if (v !== v) { best = v; break; }
        if (v - best > 0) best = v;
      }
    }
    const mn = Number.isFinite(best) ? best : 0;
    m[n] = mn;
    for (let j = 0; j < classes; j++) t[base + j] = x[base + j]! - mn;
  }
  const e = make(rows * classes);
  kernels.unary("exp", t, e, []);
  const s = make(rows);
  kernels.reduce("sum", e, [rows, classes], [1], s);
  return { m, e, s };
}

function sumAll(kernels: CpuKernels, v: TypedArray, make: (size: number) => TypedArray): number {
  const out = make(1);
  kernels.reduce("sum", v, [v.length], [0], out);
  return out[0]!;
}

/**
 * The loss of logits x [rows, classes] for int32 labels, written to out: [rows] for "none", else
 * one value (the sum, or the mean over the labels not equal to ignoreIndex). `make` gives scratch
 * arrays of x's dtype.
 */
export function crossEntropyInto(
  kernels: CpuKernels, x: TypedArray, labels: Int32Array, rows: number, classes: number, ignoreIndex: number,
  reduction: CrossEntropyReduction, out: TypedArray, make: (size: number) => TypedArray,
): void {
  const f = x instanceof Float32Array ? Math.fround : identity;
  const { m, e, s } = rowSoftmax(kernels, x, rows, classes, make);
  const ls = make(rows);
  kernels.unary("log", s, ls, []);
  const loss = reduction === "none" ? out : make(rows);
  const keep = make(rows);
  for (let n = 0; n < rows; n++) {
    const label = labels[n]!;
    const kept = label !== ignoreIndex ? 1 : 0;
    keep[n] = kept;
    const lse = f(ls[n]! + m[n]!);
    const picked = f(x[n * classes + label * kept]! - lse);
    loss[n] = -f(picked * kept);
  }
  if (reduction === "sum") out[0] = sumAll(kernels, loss, make);
  else if (reduction === "mean") out[0] = f(f(sumAll(kernels, loss, make)) / f(sumAll(kernels, keep, make)));
}

/** The gradient dx [rows, classes] of crossEntropyInto's output for its gradient g ([rows] for "none", else one value). */
export function crossEntropyBackwardInto(
  kernels: CpuKernels, x: TypedArray, labels: Int32Array, g: TypedArray, rows: number, classes: number, ignoreIndex: number,
  reduction: CrossEntropyReduction, dx: TypedArray, make: (size: number) => TypedArray,
): void {
  const f = x instanceof Float32Array ? Math.fround : identity;
  const { e, s } = rowSoftmax(kernels, x, rows, classes, make);
  const keep = make(rows);
  for (let n = 0; n < rows; n++) keep[n] = labels[n]! !== ignoreIndex ? 1 : 0;
  const scale = reduction === "mean" ? f(g[0]! / f(sumAll(kernels, keep, make))) : g[0]!;
  // dlogp: the label's v, zeros elsewhere (the scatter of take's backward); its negation summed per row
  const dlogp = make(rows * classes);
  const negated = make(rows * classes);
  for (let n = 0; n < rows; n++) {
    const base = n * classes;
    const label = labels[n]! * keep[n]!;
    dlogp.fill(0, base, base + classes);
    dlogp[base + label] = f(0 + f(-(reduction === "none" ? g[n]! : scale) * keep[n]!));
    for (let j = 0; j < classes; j++) negated[base + j] = -dlogp[base + j]!;
  }
  const dlse = make(rows);
  kernels.reduce("sum", negated, [rows, classes], [1], dlse);
  for (let n = 0; n < rows; n++) {
    const base = n * classes;
    const ds = f(dlse[n]! / s[n]!);
    for (let j = 0; j < classes; j++) dx[base + j] = f(dlogp[base + j]! + f(ds * e[base + j]!));
  }
}
