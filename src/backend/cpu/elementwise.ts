/**
 * CPU elementwise kernels: unary maps, broadcasting binary ops and select.
 *
 * Broadcast operands are walked with per-operand strides (0 on broadcast dims): an odometer over
 * the outer dims and a tight inner loop over the last one. The op is switched on outside the
 * inner loop, so each loop body is monomorphic and V8 keeps it in registers.
 */
import type { BinaryOp, BroadcastInfo, UnaryOp } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

function sigmoid(x: number): number {
  // NOTE: split by sign so exp never overflows: for x < 0, e^x / (1 + e^x).
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function softplus(x: number): number {
  // NOTE: log(1 + e^x) = max(x, 0) + log1p(e^-|x|), exact for large |x|.
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function unaryInto(op: UnaryOp, x: TypedArray, out: TypedArray, params: readonly number[]): void {
  const n = x.length;
  switch (op) {
    case "neg": for (let i = 0; i < n; i++) out[i] = -x[i]!; break;
    case "exp": for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!); break;
    case "log": for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!); break;
    case "sqrt": for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!); break;
    case "abs": for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!); break;
    case "sign": for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? 1 : v < 0 ? -1 : v; } break;
    case "tanh": for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!); break;
    case "sigmoid": for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!); break;
    case "relu": for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : v !== v ? v : 0; } break;
    case "step": for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? 1 : 0; break;
    case "softplus": for (let i = 0; i < n; i++) out[i] = softplus(x[i]!); break;
    case "log1p": for (let i = 0; i < n; i++) out[i] = Math.log1p(x[i]!); break;
    case "expm1": for (let i = 0; i < n; i++) out[i] = Math.expm1(x[i]!); break;
    case "square": for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v * v; } break;
    case "reciprocal": for (let i = 0; i < n; i++) out[i] = 1 / x[i]!; break;
    case "floor": for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]!); break;
    case "ceil": for (let i = 0; i < n; i++) out[i] = Math.ceil(x[i]!); break;
    case "round": for (let i = 0; i < n; i++) out[i] = roundHalfEven(x[i]!); break;
    case "sin": for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]!); break;
    case "cos": for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]!); break;
    case "nonFinite": for (let i = 0; i < n; i++) out[i] = Number.isFinite(x[i]!) ? 0 : 1; break;
    case "leakyRelu": {
      const slope = params[0]!;
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : v * slope; }
      break;
    }
    case "elu": {
      const alpha = params[0]!;
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : alpha * Math.expm1(v); }
      break;
    }
    case "powScalar": {
      const p = params[0]!;
      if (p === 2) for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v * v; }
      else for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, p);
      break;
    }
    case "clamp": {
      const lo = params[0]!;
      const hi = params[1]!;
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < lo ? lo : v > hi ? hi : v; }
      break;
    }
    default:
      op satisfies never;
  }
}

/** Rounds half to even, as PyTorch and NumPy do. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function binaryRow(
  op: BinaryOp, out: TypedArray, o: number, a: TypedArray, ia: number, sa: number,
  b: TypedArray, ib: number, sb: number, n: number,
): void {
  switch (op) {
    case "add": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! + b[ib]!; break;
    case "sub": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! - b[ib]!; break;
    case "mul": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! * b[ib]!; break;
    case "div": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! / b[ib]!; break;
    case "pow": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = Math.pow(a[ia]!, b[ib]!); break;
    case "maximum": for (let i = 0; i < n; i++, ia += sa, ib += sb) { const x = a[ia]!, y = b[ib]!; out[o + i] = x > y || x !== x ? x : y; } break;
    case "minimum": for (let i = 0; i < n; i++, ia += sa, ib += sb) { const x = a[ia]!, y = b[ib]!; out[o + i] = x < y || x !== x ? x : y; } break;
    case "eq": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! === b[ib]! ? 1 : 0; break;
    case "ne": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! !== b[ib]! ? 1 : 0; break;
    case "lt": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! < b[ib]! ? 1 : 0; break;
    case "le": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! <= b[ib]! ? 1 : 0; break;
    case "gt": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! > b[ib]! ? 1 : 0; break;
    case "ge": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! >= b[ib]! ? 1 : 0; break;
    case "reluGrad": for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = b[ib]! <= 0 ? 0 : a[ia]!; break;
    default:
      op satisfies never;
  }
}

/**
 * Merges adjacent dims that every operand walks contiguously (stride[d] = stride[d+1] * shape[d+1],
 * which includes two broadcast dims), so rows are as long as possible: a bias [1, C, 1, 1] over
 * [N, C, H, W] becomes rows of H*W, a same-shape op a single row.
 */
export function coalesce(info: BroadcastInfo): BroadcastInfo {
  const shape = info.outShape;
  const rank = shape.length;
  if (rank < 2) return info;
  const k = info.strides.length;
  const outShape: number[] = [shape[0]!];
  const strides: number[][] = info.strides.map((s) => [s[0]!]);
  for (let d = 1; d < rank; d++) {
    const last = outShape.length - 1;
    let merge = true;
    for (let j = 0; j < k && merge; j++) merge = strides[j]![last]! === info.strides[j]![d]! * shape[d]!;
    if (merge) {
      outShape[last] = outShape[last]! * shape[d]!;
      for (let j = 0; j < k; j++) strides[j]![last] = info.strides[j]![d]!;
    } else {
      outShape.push(shape[d]!);
      for (let j = 0; j < k; j++) strides[j]!.push(info.strides[j]![d]!);
    }
  }
  return outShape.length === rank ? info : { outShape, strides };
}

/**
 * Visits every row (last dim) of a broadcast walk: calls row(outOffset, operandOffsets, rowLength)
 * with operand offsets advanced by their strides. Rank 0 is one row of length 1. The info must
 * be coalesced by the caller when it wants the longest rows.
 */
export function forEachRow(
  info: BroadcastInfo,
  row: (o: number, offsets: Int32Array, n: number) => void,
): void {
  const shape = info.outShape;
  const rank = shape.length;
  const k = info.strides.length;
  const offsets = new Int32Array(k);
  if (rank === 0) {
    row(0, offsets, 1);
    return;
  }
  const n = shape[rank - 1]!;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d]!;
  if (n === 0 || rows === 0) return;
  const idx = new Int32Array(rank);
  for (let r = 0; r < rows; r++) {
    row(r * n, offsets, n);
    // advance the odometer over dims rank-2 .. 0
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      for (let j = 0; j < k; j++) offsets[j]! += info.strides[j]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let j = 0; j < k; j++) offsets[j]! -= info.strides[j]![d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export function binaryInto(op: BinaryOp, a: TypedArray, b: TypedArray, full: BroadcastInfo, out: TypedArray): void {
  const info = coalesce(full);
  const rank = info.outShape.length;
  const sa = rank ? info.strides[0]![rank - 1]! : 0;
  const sb = rank ? info.strides[1]![rank - 1]! : 0;
  forEachRow(info, (o, off, n) => binaryRow(op, out, o, a, off[0]!, sa, b, off[1]!, sb, n));
}

export function selectInto(cond: TypedArray, a: TypedArray, b: TypedArray, full: BroadcastInfo, out: TypedArray): void {
  const info = coalesce(full);
  const rank = info.outShape.length;
  const last = (j: number) => (rank ? info.strides[j]![rank - 1]! : 0);
  const sc = last(0), sa = last(1), sb = last(2);
  forEachRow(info, (o, off, n) => {
    let ic = off[0]!, ia = off[1]!, ib = off[2]!;
    for (let i = 0; i < n; i++, ic += sc, ia += sa, ib += sb) out[o + i] = cond[ic] !== 0 ? a[ia]! : b[ib]!;
  });
}
