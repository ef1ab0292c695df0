/**
 * Activations. sigmoid, tanh and the ReLU family are kernels with their derivative written in terms
 * of the output where that is exact (sigmoid' = y(1-y), tanh' = 1-y^2, so second derivatives come
 * out right). softmax, logSoftmax and logSumExp are compositions around a detached max, which
 * keeps exp from overflowing and leaves the gradient unchanged (the max cancels analytically).
 */
import { ShapeError, fmtShape } from "../errors/errors.js";
import { requireFloat } from "../tensor/dtype.js";
import { normalizeAxis } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { add, binaryOp, div, exp, gt, isNonFinite, log, mul, sub, unaryOp, where } from "./elementwise.js";
import { max, sum } from "./reduce.js";
import { detach, reshape } from "./movement.js";

/** 1 / (1 + e^-x); d/dx = y (1 - y). */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp("sigmoid", x, "sigmoid", (g, _x, y) => mul(g, mul(y, sub(1, y))));
}

/** d/dx = 1 - y^2. */
export function tanh(x: Tensor): Tensor {
  return unaryOp("tanh", x, "tanh", (g, _x, y) => mul(g, sub(1, mul(y, y))));
}

/** max(x, 0); d/dx = 1 for x > 0, else 0 (0 at x = 0, as in PyTorch). */
export function relu(x: Tensor): Tensor {
  return unaryOp("relu", x, "relu", (g, xx) => reluGrad(g, xx));
}

/**
 * relu's backward in one pass: g where x > 0, else +0 (PyTorch's threshold_backward, so a NaN x
 * passes g). Linear in g, so its own gradient is reluGrad(gg, x); with respect to x it is 0.
 */
function reluGrad(g: Tensor, x: Tensor): Tensor {
  return binaryOp("reluGrad", g, x, "reluGrad", (gg) => [reluGrad(gg, x), null]);
}

/** 1 where x > 0, else 0: the derivative of relu, itself with derivative 0. */
function step(x: Tensor): Tensor {
  return unaryOp("step", x, "step");
}

/** x for x > 0, negativeSlope·x otherwise; d/dx = 1 or negativeSlope. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unaryOp("leakyRelu", x, "leakyRelu", (g, xx) => mul(g, add(mul(step(xx), 1 - negativeSlope), negativeSlope)), [negativeSlope]);
}

/** x for x > 0, alpha·(e^x − 1) otherwise; d/dx = 1 or y + alpha. */
export function elu(x: Tensor, alpha = 1): Tensor {
  return unaryOp("elu", x, "elu", (g, xx, y) => mul(g, where(gt(xx, 0), 1, add(y, alpha))), [alpha]);
}

/** log(1 + e^x), computed without overflow; d/dx = sigmoid(x). */
export function softplus(x: Tensor): Tensor {
  return unaryOp("softplus", x, "softplus", (g, xx) => mul(g, sigmoid(xx)));
}

/**
 * PReLU: x for x > 0, a·x otherwise, with a learnable slope per channel (dim 1), or one slope
 * shared by all ([1]). d/dx = 1 or a; d/da = 0 or x.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  requireFloat("prelu", x.dtype);
  const channels = x.rank >= 2 ? x.shape[1]! : 1;
  if (weight.rank !== 1 || (weight.shape[0] !== 1 && weight.shape[0] !== channels)) {
    throw new ShapeError(`prelu: weight ${fmtShape(weight.shape)} must be [1] or [${channels}] for input ${fmtShape(x.shape)}`);
  }
  const w = weight.shape[0] === 1 || x.rank < 2 ? weight : reshape(weight, [1, channels, ...x.shape.slice(2).map(() => 1)]);
  return where(gt(x, 0), x, mul(w, x));
}

/** e^x_i / sum_j e^x_j along dim. */
export function softmax(x: Tensor, dim: number): Tensor {
  requireFloat("softmax", x.dtype);
  normalizeAxis("softmax", dim, x.rank);
  const e = exp(sub(x, detach(safeMax(x, dim))));
  return div(e, sum(e, dim, true));
}

/** log softmax(x) = x - logSumExp(x) along dim, stable for any magnitude. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  requireFloat("logSoftmax", x.dtype);
  return sub(x, logSumExp(x, dim, true));
}

/** log sum_j e^x_j along dim: m + log sum e^(x - m) with m the (detached) max. */
export function logSumExp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  requireFloat("logSumExp", x.dtype);
  const m = detach(safeMax(x, dim));
  const s = log(sum(exp(sub(x, m)), dim, true));
  const out = add(s, m);
  return keepdim ? out : reshape(out, out.shape.filter((_, i) => !dimsOf(dim, x.rank).includes(i)));
}

function dimsOf(dim: number | readonly number[], rank: number): number[] {
  return (typeof dim === "number" ? [dim] : [...dim]).map((d) => normalizeAxis("logSumExp", d, rank));
}

/** The max along dim (keepdim), with infinite maxima replaced by 0 so x - m never makes NaN. */
function safeMax(x: Tensor, dim: number | readonly number[]): Tensor {
  const m = max(detach(x), dim, true);
  return where(isNonFinite(m), 0, m);
}
