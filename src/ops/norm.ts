/**
 * Normalization as functions: batch, layer, instance and group norm. Each is composed of
 * differentiable ops (mean, variance, rsqrt), so gradients and second derivatives are exact.
 * They normalize with the biased variance; batchNorm's running variance uses the unbiased one
 * (PyTorch's convention). Running statistics are returned, never mutated: tensors are values.
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { requireFloat } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/mode.js";
import { add, mul, sqrt, sub, div } from "./elementwise.js";
import { mean, variance } from "./reduce.js";
import { detach, reshape } from "./movement.js";

function validEps(op: string, eps: number): void {
  if (!(eps > 0)) throw new ConfigError(`${op}: invalid eps ${eps} (expected eps > 0)`);
}

/** (x − mean) / sqrt(var + eps) over `axes`, with biased variance. */
function normalize(x: Tensor, axes: number[], eps: number): Tensor {
  const mu = mean(x, axes, true);
  const v = variance(x, axes, { correction: 0, keepdim: true });
  return div(sub(x, mu), sqrt(add(v, eps)));
}

function checkParam(op: string, name: string, p: Tensor | null | undefined, shape: readonly number[]): void {
  if (p && (p.rank !== shape.length || p.shape.some((d, i) => d !== shape[i]))) {
    throw new ShapeError(`${op}: ${name} has shape ${fmtShape(p.shape)}, expected ${fmtShape(shape)}`);
  }
}

/** y·weight + bias, with weight and bias [C] broadcast along dim 1. */
function affineChannels(y: Tensor, weight?: Tensor | null, bias?: Tensor | null): Tensor {
  const view = [1, y.shape[1]!, ...y.shape.slice(2).map(() => 1)];
  if (weight) y = mul(y, reshape(weight, view));
  if (bias) y = add(y, reshape(bias, view));
  return y;
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** normalize with the batch statistics (and update the running ones) instead of the running ones */
  training: boolean;
  /** running = (1 − momentum)·running + momentum·batch statistic (default 0.1) */
  momentum?: number;
  eps?: number;
}

export interface BatchNormResult {
  output: Tensor;
  /** the updated running statistics (training), or the ones passed in (eval) */
  runningMean: Tensor | null;
  runningVar: Tensor | null;
}

/**
 * Batch norm over [N, C] or [N, C, ...]: statistics per channel over every other dim.
 * Training: y = (x − μ_B)/sqrt(σ²_B + eps)·γ + β, running ← (1 − m)·running + m·(μ_B, σ²_B·n/(n−1)).
 * Eval: the running statistics take the place of μ_B and σ²_B.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions): BatchNormResult {
  const op = "batchNorm";
  requireFloat(op, x.dtype);
  const { weight, bias, runningMean = null, runningVar = null, training, momentum = 0.1, eps = 1e-5 } = options;
  validEps(op, eps);
  if (!(momentum >= 0 && momentum <= 1)) throw new ConfigError(`${op}: invalid momentum ${momentum} (expected 0 <= momentum <= 1)`);
  if (x.rank < 2) throw new ShapeError(`${op}: expected input [N, C] or [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  for (const [name, p] of [["weight", weight], ["bias", bias], ["runningMean", runningMean], ["runningVar", runningVar]] as const) {
    checkParam(op, name, p, [c]);
  }
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const view = [1, c, ...x.shape.slice(2).map(() => 1)];
  if (!training) {
    if (!runningMean || !runningVar) throw new ConfigError(`${op}: evaluation mode needs runningMean and runningVar`);
    const y = div(sub(x, reshape(runningMean, view)), sqrt(add(reshape(runningVar, view), eps)));
    return { output: affineChannels(y, weight, bias), runningMean, runningVar };
  }
  const count = x.size / c;
  if (count <= 1) throw new ShapeError(`${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
  const output = affineChannels(normalize(x, axes, eps), weight, bias);
  let newMean = runningMean;
  let newVar = runningVar;
  noGrad(() => {
    const xd = detach(x);
    if (runningMean) newMean = add(mul(runningMean, 1 - momentum), mul(reshape(mean(xd, axes), [c]), momentum));
    if (runningVar) newVar = add(mul(runningVar, 1 - momentum), mul(reshape(variance(xd, axes, { correction: 1 }), [c]), momentum));
  });
  return { output, runningMean: newMean, runningVar: newVar };
}

/** Normalizes over the trailing `normalizedShape` dims, then · weight + bias (of that shape). */
export function layerNorm(
  x: Tensor, normalizedShape: readonly number[], options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {},
): Tensor {
  const op = "layerNorm";
  requireFloat(op, x.dtype);
  const { weight, bias, eps = 1e-5 } = options;
  validEps(op, eps);
  const k = normalizedShape.length;
  if (k === 0 || k > x.rank || normalizedShape.some((d, i) => d !== x.shape[x.rank - k + i])) {
    throw new ShapeError(`${op}: normalizedShape ${fmtShape(normalizedShape)} does not match the trailing dims of input ${fmtShape(x.shape)}`);
  }
  checkParam(op, "weight", weight, normalizedShape);
  checkParam(op, "bias", bias, normalizedShape);
  let y = normalize(x, normalizedShape.map((_, i) => x.rank - k + i), eps);
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** Normalizes each (sample, channel) plane of [N, C, ...] over its spatial dims. */
export function instanceNorm(x: Tensor, options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  const op = "instanceNorm";
  requireFloat(op, x.dtype);
  const { weight, bias, eps = 1e-5 } = options;
  validEps(op, eps);
  if (x.rank < 3) throw new ShapeError(`${op}: expected input [N, C, ...spatial], got ${fmtShape(x.shape)}`);
  checkParam(op, "weight", weight, [x.shape[1]!]);
  checkParam(op, "bias", bias, [x.shape[1]!]);
  const axes = x.shape.map((_, i) => i).filter((i) => i >= 2);
  return affineChannels(normalize(x, axes, eps), weight, bias);
}

/** Splits the C channels into numGroups groups and normalizes each (sample, group) together. */
export function groupNorm(
  x: Tensor, numGroups: number, options: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {},
): Tensor {
  const op = "groupNorm";
  requireFloat(op, x.dtype);
  const { weight, bias, eps = 1e-5 } = options;
  validEps(op, eps);
  if (x.rank < 2) throw new ShapeError(`${op}: expected input [N, C, ...], got ${fmtShape(x.shape)}`);
  const [n, c] = x.shape as [number, number];
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new ConfigError(`${op}: numGroups ${numGroups} must divide the ${c} channels`);
  }
  checkParam(op, "weight", weight, [c]);
  checkParam(op, "bias", bias, [c]);
  const grouped = reshape(x, [n, numGroups, -1]);
  const y = reshape(normalize(grouped, [2], eps), x.shape);
  return affineChannels(y, weight, bias);
}
