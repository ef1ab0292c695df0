/**
 * Pooling over NCHW input. Max pooling gathers each window's argmax (padding never wins), so its
 * gradient is a scatter to those positions; a backend with Backend.maxPool finds the argmaxes and
 * gathers their values in one pass. Average pooling is im2col then a mean over each window,
 * counting padded zeros (PyTorch's count_include_pad=True).
 */
import { requireFloat } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError, fmtShape } from "../errors/errors.js";
import { im2col, windowInfo } from "./conv.js";
import { checkPoolPadding, pair, type Pair } from "./window.js";
import { mean } from "./reduce.js";
import { recordTake, reshape, take } from "./movement.js";
import { output } from "./util.js";
import { saveFor } from "../autograd/graph.js";

export interface Pool2dOptions {
  kernelSize: Pair;
  /** defaults to kernelSize */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function poolInfo(op: string, x: Tensor, options: Pool2dOptions) {
  requireFloat(op, x.dtype);
  const kernel = pair(op, "kernelSize", options.kernelSize, 1);
  const padding = pair(op, "padding", options.padding ?? 0, 0);
  checkPoolPadding(op, padding, kernel);
  return windowInfo(op, x.shape, kernel, pair(op, "stride", options.stride ?? kernel, 1), padding, pair(op, "dilation", options.dilation ?? 1, 1));
}

export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const info = poolInfo("maxPool2d", x, options);
  const shape = [info.n, info.c, info.outH, info.outW];
  const fused = x.backend.maxPool?.(x.dataId, info, x.dtype);
  const idx = output(x, fused ? fused.indices : x.backend.maxPoolIndices(x.dataId, info, x.dtype), shape, "int32");
  const y = fused ? recordTake(x, idx, output(x, fused.values, shape)) : take(x, idx);
  saveFor(y, idx); // freed with y after backward when y is a Sequential's hidden activation: the next step reuses its storage
  return y;
}

export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const info = poolInfo("avgPool2d", x, options);
  const cols = reshape(im2col(x, info), [info.n, info.c, info.kh * info.kw, info.outH * info.outW]);
  return reshape(mean(cols, 2), [info.n, info.c, info.outH, info.outW]);
}

/** The mean over H and W: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireFloat("globalAvgPool2d", x.dtype);
  if (x.rank !== 4) throw new ShapeError(`globalAvgPool2d: expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
  return mean(x, [2, 3], true);
}
