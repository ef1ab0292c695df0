/**
 * CPU data movement: strided copies (transpose, expand, slice), assembling blocks into a larger
 * output (concat, pad), and flat gather / scatter-add (indexing and max pooling).
 */
import type { Placement } from "../backend.js";
import { stridesOf } from "../../tensor/shape.js";
import type { TypedArray } from "../../tensor/dtype.js";

export function stridedInto(
  x: TypedArray, outShape: readonly number[], strides: readonly number[], offset: number, out: TypedArray,
): void {
  const rank = outShape.length;
  if (rank === 0) {
    out[0] = x[offset]!;
    return;
  }
  const n = outShape[rank - 1]!;
  const s = strides[rank - 1]!;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= outShape[d]!;
  if (n === 0 || rows === 0) return;
  const idx = new Int32Array(rank);
  let base = offset;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    if (s === 1) for (let i = 0; i < n; i++) out[o + i] = x[base + i]!;
    else for (let i = 0, j = base; i < n; i++, j += s) out[o + i] = x[j]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += strides[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= strides[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

export function assembleInto(parts: readonly { values: TypedArray; placement: Placement }[], outShape: readonly number[], out: TypedArray): void {
  const outStrides = stridesOf(outShape);
  for (const { values, placement } of parts) {
    const shape = placement.shape;
    let start = 0;
    for (let d = 0; d < shape.length; d++) start += placement.offset[d]! * outStrides[d]!;
    // write the part row by row: the view of out at `start` with out's strides has the part's shape
    const rank = shape.length;
    if (rank === 0) {
      out[start] = values[0]!;
      continue;
    }
    const n = shape[rank - 1]!;
    let rows = 1;
    for (let d = 0; d < rank - 1; d++) rows *= shape[d]!;
    if (n === 0 || rows === 0) continue;
    const idx = new Int32Array(rank);
    let base = start;
    for (let r = 0; r < rows; r++) {
      const src = r * n;
      for (let i = 0; i < n; i++) out[base + i] = values[src + i]!;
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]!++;
        base += outStrides[d]!;
        if (idx[d]! < shape[d]!) break;
        base -= outStrides[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }
}

export function takeInto(x: TypedArray, indices: Int32Array, out: TypedArray): void {
  for (let i = 0; i < indices.length; i++) out[i] = x[indices[i]!]!;
}

export function scatterAddInto(x: TypedArray, indices: Int32Array, out: TypedArray): void {
  for (let i = 0; i < indices.length; i++) out[indices[i]!]! += x[i]!;
}
