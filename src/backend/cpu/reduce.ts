/**
 * CPU reductions. The reduced axes are moved last (one strided copy, skipped when they already
 * are), so every reduction is over contiguous blocks: out[i] = reduce(x[i*len .. (i+1)*len]).
 */
import type { ReduceOp } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";
import { typedArrayFor, dtypeOfArray } from "../../tensor/dtype.js";
import { stridesOf } from "../../tensor/shape.js";
import { stridedInto } from "./movement.js";

/** x laid out with the kept axes first and `axes` last; returns [values, blockLength]. */
export function moveAxesLast(x: TypedArray, shape: readonly number[], axes: readonly number[]): [TypedArray, number] {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  let len = 1;
  for (const a of axes) len *= shape[a]!;
  if (perm.every((p, i) => p === i)) return [x, len];
  const strides = stridesOf(shape);
  const out = typedArrayFor(dtypeOfArray(x), x.length);
  stridedInto(x, perm.map((p) => shape[p]!), perm.map((p) => strides[p]!), 0, out);
  return [out, len];
}

export function reduceInto(op: ReduceOp, x: TypedArray, shape: readonly number[], axes: readonly number[], out: TypedArray): void {
  const [v, len] = moveAxesLast(x, shape, axes);
  const blocks = out.length;
  for (let b = 0; b < blocks; b++) {
    const s = b * len;
    switch (op) {
      case "sum": {
        let acc = 0;
        for (let i = 0; i < len; i++) acc += v[s + i]!;
        out[b] = acc;
        break;
      }
      case "max": {
        let m = -Infinity;
        for (let i = 0; i < len; i++) { const e = v[s + i]!; if (e > m || e !== e) { m = e; if (e !== e) break; } }
        out[b] = len === 0 ? NaN : m;
        break;
      }
      case "min": {
        let m = Infinity;
        for (let i = 0; i < len; i++) { const e = v[s + i]!; if (e < m || e !== e) { m = e; if (e !== e) break; } }
        out[b] = len === 0 ? NaN : m;
        break;
      }
      default:
        op satisfies never;
    }
  }
}

/** First index of the max (or min) along `axis`; a NaN counts as the extreme, as in PyTorch. */
export function argReduceInto(op: "argmax" | "argmin", x: TypedArray, shape: readonly number[], axis: number, out: Int32Array): void {
  const [v, len] = moveAxesLast(x, shape, [axis]);
  const sign = op === "argmax" ? 1 : -1;
  for (let b = 0; b < out.length; b++) {
    const s = b * len;
    let best = 0;
    let bv = v[s]!;
    if (bv === bv) {
      for (let i = 1; i < len; i++) {
        const e = v[s + i]!;
        if (e !== e) { best = i; break; }
        if (sign * (e - bv) > 0) { best = i; bv = e; }
      }
    }
    out[b] = best;
  }
}
