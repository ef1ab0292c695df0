/**
 * The Backend interface: storage and kernels, nothing else. A backend knows nothing of autograd,
 * broadcasting rules or layers: ops (src/ops) validate shapes, work out broadcast strides and
 * geometry, and call these slots with plain numbers. Every tensor's storage is contiguous and
 * row-major, so reshape never reaches a backend.
 *
 * Kernels return a new DataId at once; a backend may enqueue the work (a GPU backend records it
 * into a shared pass) as long as `read` resolves after it has finished. `readSync` is optional:
 * CPU backends have it, asynchronous ones may not.
 */
import type { DType, TypedArray } from "../tensor/dtype.js";
import type { UpdateStage } from "./update.js";

/** An opaque handle to a backend's storage. */
export type DataId = object;

export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "abs" | "sign" | "tanh" | "sigmoid" | "relu" | "step"
  | "softplus" | "log1p" | "expm1" | "square" | "reciprocal" | "floor" | "ceil" | "round" | "sin" | "cos"
  /** params: [negativeSlope] */
  | "leakyRelu"
  /** params: [alpha] */
  | "elu"
  /** params: [exponent] */
  | "powScalar"
  /** params: [min, max] */
  | "clamp"
  /** 1 where the value is NaN or infinite, else 0 */
  | "nonFinite";

/** Comparisons give 1 or 0 in the inputs' dtype. */
export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge"
  /** ReLU's backward, a the gradient and b ReLU's input: +0 where b <= 0, else a (NaN b passes a), as PyTorch's threshold_backward */
  | "reluGrad";

export type ReduceOp = "sum" | "max" | "min";

/** How crossEntropy reduces its per-row losses (losses/losses.ts's Reduction). */
export type CrossEntropyReduction = "mean" | "sum" | "none";

/** How a binary or select kernel walks its operands: broadcast strides into one output shape. */
export interface BroadcastInfo {
  readonly outShape: readonly number[];
  /** per operand, its strides within outShape (0 on broadcast dims) */
  readonly strides: readonly (readonly number[])[];
}

/** A batched matrix product: out[b] = op(A[b]) @ op(B[b]), op = transpose when the flag is set. */
export interface MatmulInfo {
  readonly batch: number;
  /** element offsets of each batch's A and B matrices (broadcast batches repeat offsets) */
  readonly aOffsets: Int32Array;
  readonly bOffsets: Int32Array;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

/** The geometry of a 2-D sliding window over NCHW input, shared by convolution and pooling. */
export interface WindowInfo {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outH: number;
  readonly outW: number;
  /**
   * How im2col lays out its columns (and col2im reads them): "nkl" = [N, C*kh*kw, outH*outW]
   * (the default), "knl" = [C*kh*kw, N, outH*outW], so that one matrix product covers the batch.
   */
  readonly layout?: "nkl" | "knl";
}

/** One block copied into a larger output at an offset (concat, pad, and the adjoint of slice). */
export interface Placement {
  readonly id: DataId;
  readonly shape: readonly number[];
  readonly offset: readonly number[];
}

export interface Backend {
  readonly name: string;
  /** Whether float64 tensors may live here. */
  readonly supportsFloat64: boolean;

  upload(values: TypedArray): DataId;
  fill(size: number, value: number, dtype: DType): DataId;
  read(id: DataId): Promise<TypedArray>;
  readSync?(id: DataId): TypedArray;
  dispose(id: DataId): void;

  cast(x: DataId, size: number, from: DType, to: DType): DataId;
  unary(op: UnaryOp, x: DataId, size: number, dtype: DType, params?: readonly number[]): DataId;
  binary(op: BinaryOp, a: DataId, b: DataId, info: BroadcastInfo, dtype: DType): DataId;
  /** out = cond != 0 ? a : b, all three broadcast into info.outShape (strides in that order). */
  select(cond: DataId, a: DataId, b: DataId, info: BroadcastInfo, condDType: DType, dtype: DType): DataId;
  /** Reduces the given axes (sorted, unique) of x; the output drops them. */
  reduce(op: ReduceOp, x: DataId, shape: readonly number[], axes: readonly number[], dtype: DType): DataId;
  /** Index (int32) of the max or min along one axis; the output drops that axis. */
  argReduce(op: "argmax" | "argmin", x: DataId, shape: readonly number[], axis: number, dtype: DType): DataId;
  /** out[i] = x[offset + sum_k idx_k * strides[k]] over outShape: transpose, expand and slice. */
  strided(x: DataId, outShape: readonly number[], strides: readonly number[], offset: number, dtype: DType): DataId;
  /** A tensor of outShape filled with `fill`, with each part copied in at its offset. */
  assemble(parts: readonly Placement[], outShape: readonly number[], fill: number, dtype: DType): DataId;
  /** out[i] = x[indices[i]] (flat indices into x). */
  take(x: DataId, indices: DataId, count: number, dtype: DType): DataId;
  /** out = zeros(size); out[indices[i]] += x[i]. The adjoint of take. */
  scatterAdd(x: DataId, indices: DataId, count: number, size: number, dtype: DType): DataId;
  matmul(a: DataId, b: DataId, info: MatmulInfo, dtype: DType): DataId;
  /**
   * Optional: `matmul` with bias [n] added to every row of the result, the bits of matmul then a
   * broadcast add; null where it declines. linear runs the two ops on a backend without it.
   */
  matmulBias?(a: DataId, b: DataId, bias: DataId, info: MatmulInfo, dtype: DType): DataId | null;
  /** [N, C, H, W] -> columns laid out as info.layout says, zero outside the input (padding). */
  im2col(x: DataId, info: WindowInfo, dtype: DType): DataId;
  /** The adjoint of im2col: sums each column entry back into its input position. */
  col2im(cols: DataId, info: WindowInfo, dtype: DType): DataId;
  /**
   * Optional fused 2-D convolution, groups 1: y [N, outC, outH, outW] = weight [outC, C·kh·kw]
   * applied to the columns of x [N, C, H, W] (`info`, its layout ignored), plus bias [outC] per
   * channel when not null: the result of ops/conv.ts's composed path (im2col "knl", matmul,
   * permute, then the broadcast add) bit for bit. Null where the backend does not run the case;
   * the composed path runs then.
   */
  conv2d?(x: DataId, weight: DataId, bias: DataId | null, info: WindowInfo, outC: number, dtype: DType): DataId | null;
  /**
   * The gradients of `conv2d` for dy [N, outC, outH, outW] (dx when `needX`, dweight [outC,
   * C·kh·kw] when `needWeight`), the composed path's bit for bit; null where it does not run.
   */
  conv2dBackward?(
    x: DataId, weight: DataId, dy: DataId, info: WindowInfo, outC: number, needX: boolean, needWeight: boolean, dtype: DType,
  ): { dx: DataId | null; dweight: DataId | null } | null;
  /**
   * Optional fused softmax cross-entropy of logits [rows, classes] against int32 labels [rows]
   * (each in [0, classes) or equal to ignoreIndex, already checked): the per-row losses for
   * "none", else one value, the sum or the mean over the labels kept. The result of
   * losses/losses.ts's composed path (logSoftmax, gather, mask, mean) bit for bit; the composed
   * path runs on a backend without it.
   */
  crossEntropy?(logits: DataId, labels: DataId, rows: number, classes: number, ignoreIndex: number, reduction: CrossEntropyReduction, dtype: DType): DataId;
  /** The gradient [rows, classes] of `crossEntropy` for the gradient of its output, the composed path's bit for bit. */
  crossEntropyBackward?(
    logits: DataId, labels: DataId, grad: DataId, rows: number, classes: number, ignoreIndex: number, reduction: CrossEntropyReduction, dtype: DType,
  ): DataId;
  /** For each output window [N, C, outH, outW], the flat input index of its maximum (int32). */
  maxPoolIndices(x: DataId, info: WindowInfo, dtype: DType): DataId;
  /**
   * Optional: maxPoolIndices and each window's maximum (take of x at those indices, its bits) in
   * one pass; max-pooling runs the two ops on a backend without it.
   */
  maxPool?(x: DataId, info: WindowInfo, dtype: DType): { values: DataId; indices: DataId };
  /**
   * The fused optimizer update of one parameter (update.ts): runs `stages` with u = grad,
   * rewriting each stage's slot buffers in place, and returns a new buffer θ + u. Optional: the
   * optimizer runs the same math as separate ops on a backend without it.
   */
  applyUpdate?(stages: readonly UpdateStage[], param: DataId, grad: DataId, slots: readonly DataId[], size: number, dtype: DType): DataId;
  /**
   * A copy of x for an optimizer slot that only `applyUpdate` will rewrite, placed where that
   * update reads it without copying (the cpu family: the update kernel's shared memory).
   * Optional: the optimizer makes a plain copy on a backend without it.
   */
  updateSlot?(x: DataId, size: number, dtype: DType): DataId;
}
