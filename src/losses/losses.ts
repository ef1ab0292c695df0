/**
 * Loss functions with PyTorch semantics (names in camelCase), composed of differentiable ops so
 * their gradients (and second derivatives, for Hessian work) come from autograd.
 *
 * reduction: "mean" (default) averages the per-element losses, "sum" adds them, "none" returns
 * them. With class weights, crossEntropy's "mean" is the weighted mean Σ w_{y_n}·l_n / Σ w_{y_n}
 * (PyTorch's rule), not a plain mean.
 *
 * NOTE: numerical stability. Nothing here exponentiates a logit and then takes its log:
 *  - crossEntropy goes through logSoftmax = x − logSumExp(x) (the max is subtracted first);
 *  - binaryCrossEntropyWithLogits is (1 − t)·x + softplus(−x), softplus computed without overflow;
 *  - focal uses log(1 − p_t) = −softplus(±x) (sigmoid form) and a log-sum-exp over the other
 *    classes (softmax form), so (1 − p_t)^γ never meets log 0;
 *  - binaryCrossEntropy takes probabilities, clamps log p and log(1 − p) at −100 and uses
 *    PyTorch's gradient (p − t) / max(p(1 − p), 1e-12), finite at p ∈ {0, 1} too.
 * Logits of ±1000 give finite values and gradients throughout.
 */
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import { logSoftmax, logSumExp, sigmoid, softmax, softplus } from "../ops/activations.js";
import { record } from "../autograd/graph.js";
import { isGradEnabled, noGrad } from "../autograd/mode.js";
import { abs, add, clamp, div, eq, exp, gt, log, lt, maximum, mul, ne, neg, pow, sqrt, square, sub, where } from "../ops/elementwise.js";
import { cast, detach, expand, gather, oneHot, permute, reshape, take } from "../ops/movement.js";
import { output } from "../ops/util.js";
import { checkIndexRange, checkValues } from "../ops/checks.js";
import { mean, sum } from "../ops/reduce.js";
import { requireFloat, type DType } from "../tensor/dtype.js";
import { sameShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

export type Reduction = "mean" | "sum" | "none";

export interface ReductionOptions {
  /** "mean" (default), "sum" or "none" (per-element losses) */
  reduction?: Reduction;
}

/** PyTorch's floor under p·(1 − p) in the gradient of binaryCrossEntropy. */
const BCE_EPSILON = 1e-12;

export function checkReduction(where: string, r: unknown): Reduction {
  if (r === undefined) return "mean";
  if (r !== "mean" && r !== "sum" && r !== "none") throw new ConfigError(`${where}: invalid reduction ${JSON.stringify(r)} (expected "mean", "sum" or "none")`);
  return r;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === "none" ? loss : reduction === "sum" ? sum(loss) : mean(loss);
}

function sameShapes(where: string, input: Tensor, target: Tensor): void {
  requireFloat(where, input.dtype);
  if (target.dtype === "int32") throw new DTypeError(`${where}: target is int32; expected floating values like the input (cast it)`);
  if (target.dtype !== input.dtype) throw new DTypeError(`${where}: input is ${input.dtype} but target is ${target.dtype}`);
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${where}: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
  }
}

/** A finite number that passes `ok`, or a ConfigError naming where, the option and what is allowed. */
export function finiteNumber(where: string, name: string, v: number, ok: (v: number) => boolean, allowed: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new ConfigError(`${where}: invalid ${name} ${v} (expected ${allowed})`);
  return v;
}

/** Moves the class dim (1) last and merges the rest: [N, C, d1, ...] → [M, C]; also the per-sample shape. */
function classesLast(x: Tensor): { flat: Tensor; sampleShape: number[] } {
  if (x.rank === 1) return { flat: reshape(x, [1, x.shape[0]!]), sampleShape: [] };
  const c = x.shape[1]!;
  const sampleShape = [x.shape[0]!, ...x.shape.slice(2)];
  const moved = x.rank === 2 ? x : permute(x, [0, ...x.shape.slice(2).map((_, i) => i + 2), 1]);
  return { flat: reshape(moved, [-1, c]), sampleShape };
}

/**
 * Labels other than ignoreIndex must lie in [0, C): checked at once on a backend that reads
 * synchronously, before the next read elsewhere (ops/checks.ts).
 */
function checkLabels(where: string, target: Tensor, classes: number, ignoreIndex: number | undefined): void {
  checkIndexRange(where, target, classes, "class label", { ...(ignoreIndex === undefined ? {} : { skip: ignoreIndex }), suffix: ` (input has ${classes} classes)` });
}

/**
 * Flat int32 labels [M] with ignored entries replaced by 0, and the keep mask in `dtype` (null
 * when no label may be ignored). The mask is computed with ops (labels != ignoreIndex), so no
 * read-back is needed; a mask of ones changes no value (x·1 = x, and Σ 1 over M is M exactly,
 * which is what the plain mean divides by).
 */
function maskedLabels(flat: Tensor, ignoreIndex: number | undefined, dtype: DType): { labels: Tensor; keep: Tensor | null } {
  if (ignoreIndex === undefined) return { labels: flat, keep: null };
  const on = ne(flat, ignoreIndex);
  return { labels: mul(flat, on), keep: cast(on, dtype) };
}

/** Class labels as checked (checkLabels) and masked (maskedLabels) int32 [M]. */
function checkedLabels(where: string, target: Tensor, classes: number, ignoreIndex: number | undefined, like: Tensor): { labels: Tensor; keep: Tensor | null } {
  checkLabels(where, target, classes, ignoreIndex);
  return maskedLabels(reshape(target, [target.size]), ignoreIndex, like.dtype);
}

function checkClassWeight(where: string, weight: Tensor | null | undefined, classes: number, input: Tensor): Tensor | null {
  if (!weight) return null;
  if (weight.rank !== 1 || weight.shape[0] !== classes) {
    throw new ShapeError(`${where}: weight ${fmtShape(weight.shape)} must have one value per class ([${classes}])`);
  }
  if (weight.dtype !== input.dtype) throw new DTypeError(`${where}: weight is ${weight.dtype} but input is ${input.dtype}`);
  return weight;
}

/**
 * crossEntropy's common case (class labels, no class weights, no smoothing) as one op, on a
 * backend with the fused kernel (backend.crossEntropy: one call forward, one backward, the
 * composed path's bits). Its backward rule runs the fused kernel; under createGraph (Hessian
 * work) it is the same gradient written with differentiable ops, dx = dlogp − softmax(x)·Σ dlogp
 * with dlogp the label's −g·keep (÷ the kept count for the mean), so it differentiates again.
 */
function fusedCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: number, reduction: Reduction): Tensor {
  const backend = logits.backend;
  const [rows, classes] = logits.shape as [number, number];
  const y = output(logits, backend.crossEntropy!(logits.dataId, labels.dataId, rows, classes, ignoreIndex, reduction, logits.dtype), reduction === "none" ? [rows] : []);
  return record("crossEntropy", [logits], y, (g) => {
    if (!isGradEnabled()) {
      return [output(logits, backend.crossEntropyBackward!(logits.dataId, labels.dataId, g.dataId, rows, classes, ignoreIndex, reduction, logits.dtype), logits.shape)];
    }
    const { labels: kept, keep } = maskedLabels(labels, ignoreIndex, logits.dtype);
    let perRow = reduction === "none" ? g : expand(reshape(g, [1]), [rows]);
    if (reduction === "mean") perRow = div(perRow, sum(keep!));
    const dlogp = mul(oneHot(kept, classes, logits.dtype), reshape(mul(neg(perRow), keep!), [rows, 1]));
    return [sub(dlogp, mul(softmax(logits, 1), sum(dlogp, 1, true)))];
  });
}

export interface CrossEntropyOptions extends ReductionOptions {
  /** mixes the target with the uniform distribution: t' = (1 − ε)·t + ε/C (default 0) */
  labelSmoothing?: number;
  /** a rescaling weight per class, [C] */
  weight?: Tensor | null;
  /** class-index targets equal to this are skipped (and left out of the mean's denominator) */
  ignoreIndex?: number;
}

/**
 * Softmax cross-entropy from logits `input` [N, C] (or [N, C, d1, ...], or [C]) and a target of
 * int32 class indices [N] (or [N, d1, ...]) or of class probabilities shaped like the input.
 *
 *   indices:        l_n = −w_{y_n}·[(1 − ε)·log p_{n,y_n} + (ε/C)·Σ_c w_c/w_{y_n}·log p_{n,c}]
 *                   (PyTorch: (1−ε)·nll + (ε/C)·(−Σ_c w_c log p_{n,c}))
 *   probabilities:  l_n = −Σ_c w_c·t'_{n,c}·log p_{n,c},  t' = (1 − ε)·t + ε/C
 *
 * with log p = logSoftmax(input) over the class dim. "mean" divides by Σ_n w_{y_n} over the kept
 * samples for indices (their count without weights), and by the number of samples for
 * probabilities. A label outside [0, C) is an error naming the first bad label and its index.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const where = "crossEntropy";
  requireFloat(where, input.dtype);
  const reduction = checkReduction(where, options.reduction);
  const eps = finiteNumber(where, "labelSmoothing", options.labelSmoothing ?? 0, (v) => v >= 0 && v <= 1, "0 <= labelSmoothing <= 1");
  if (input.rank === 0) throw new ShapeError(`${where}: input must be [N, C] logits (or [C]), got a scalar`);
  const classes = input.rank === 1 ? input.shape[0]! : input.shape[1]!;
  const weight = checkClassWeight(where, options.weight, classes, input);
  const { flat: logits, sampleShape } = classesLast(input);
  if (target.dtype === "int32") {
    if (!sameShape(target.shape, sampleShape)) {
      throw new ShapeError(`${where}: class-index target ${fmtShape(target.shape)} must be ${fmtShape(sampleShape)} for input ${fmtShape(input.shape)}`);
    }
    const ignoreIndex = options.ignoreIndex ?? -100;
    if (!weight && eps === 0 && logits.backend.crossEntropy && logits.backend.crossEntropyBackward && logits.size > 0) {
      checkLabels(where, target, classes, ignoreIndex);
      const loss = fusedCrossEntropy(logits, reshape(target, [target.size]), ignoreIndex, reduction);
      return reduction === "none" ? reshape(loss, sampleShape) : loss;
    }
    const logp = logSoftmax(logits, 1);
    const { labels, keep } = checkedLabels(where, target, classes, ignoreIndex, input);
    const m = labels.size;
    const picked = reshape(gather(logp, 1, reshape(labels, [m, 1])), [m]);
    let wy: Tensor | null = weight ? take(weight, labels) : null;
    if (keep) wy = wy ? mul(wy, keep) : keep;
    let loss = neg(wy ? mul(picked, wy) : picked);
    if (eps > 0) {
      let smooth = neg(sum(weight ? mul(logp, weight) : logp, 1));
      if (keep) smooth = mul(smooth, keep);
      loss = add(mul(loss, 1 - eps), mul(smooth, eps / classes));
    }
    if (reduction === "none") return reshape(loss, sampleShape);
    if (reduction === "sum") return sum(loss);
    return wy ? div(sum(loss), sum(wy)) : mean(loss);
  }
  if (!sameShape(target.shape, input.shape)) {
    throw new ShapeError(`${where}: probability target ${fmtShape(target.shape)} must have the input's shape ${fmtShape(input.shape)} (or pass int32 class indices)`);
  }
  if (target.dtype !== input.dtype) throw new DTypeError(`${where}: input is ${input.dtype} but target is ${target.dtype}`);
  const logp = logSoftmax(logits, 1);
  let t = classesLast(target).flat;
  if (eps > 0) t = add(mul(t, 1 - eps), eps / classes);
  if (weight) t = mul(t, weight);
  const loss = neg(sum(mul(logp, t), 1));
  if (reduction === "none") return reshape(loss, sampleShape);
  return reduction === "sum" ? sum(loss) : mean(loss);
}

/**
 * Reports the first value outside [0, 1] (NaN included) instead of letting it become NaN: at once,
 * or before the next read on an asynchronous backend (ops/checks.ts).
 */
function checkProbabilities(where: string, what: string, x: Tensor): void {
  checkValues(x, (v) => {
    for (let i = 0; i < v.length; i++) {
      const p = v[i]!;
      if (!(p >= 0 && p <= 1)) {
        return new ConfigError(`${where}: ${what} ${p} at index ${i} is outside [0, 1] (${what === "input" ? "pass probabilities, e.g. sigmoid(logits), or use binaryCrossEntropyWithLogits" : "targets must be probabilities"})`);
      }
    }
    return null;
  });
}

function elementWeight(where: string, name: string, w: Tensor | null | undefined, input: Tensor): Tensor | null {
  if (!w) return null;
  if (w.dtype !== input.dtype) throw new DTypeError(`${where}: ${name} is ${w.dtype} but input is ${input.dtype}`);
  const r = Math.max(w.rank, input.rank);
  for (let i = 1; i <= r; i++) {
    const a = w.shape[w.rank - i] ?? 1;
    const b = input.shape[input.rank - i] ?? 1;
    if (w.rank > input.rank || (a !== b && a !== 1)) throw new ShapeError(`${where}: ${name} ${fmtShape(w.shape)} does not broadcast to input ${fmtShape(input.shape)}`);
  }
  return w;
}

export interface BinaryCrossEntropyOptions extends ReductionOptions {
  /** a rescaling weight per element, broadcast to the input's shape */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy from probabilities p ∈ [0, 1] and targets t ∈ [0, 1]:
 *
 *   l = −w·[t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)]
 *
 * An input outside [0, 1] (or NaN) is reported, naming its index. Prefer
 * binaryCrossEntropyWithLogits when you have logits: it is exact where p rounds to 0 or 1.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BinaryCrossEntropyOptions = {}): Tensor {
  const where = "binaryCrossEntropy";
  sameShapes(where, input, target);
  const reduction = checkReduction(where, options.reduction);
  const weight = elementWeight(where, "weight", options.weight, input);
  checkProbabilities(where, "input", input);
  checkProbabilities(where, "target", target);
  // NOTE: PyTorch's own backward rule, (p − t) / max(p·(1 − p), 1e-12), written with differentiable
  // ops: it is finite at p ∈ {0, 1}, where the derivative of the clamped logs is not defined.
  const value = noGrad(() => {
    const p = detach(input);
    const logP = clamp(log(p), -100, Infinity);
    const log1mP = clamp(log(sub(1, p)), -100, Infinity);
    return neg(add(mul(target, logP), mul(sub(1, target), log1mP)));
  });
  let loss = record("binaryCrossEntropy", [input], value, (g) => [
    mul(g, div(sub(input, target), maximum(mul(input, sub(1, input)), BCE_EPSILON))),
  ]);
  if (weight) loss = mul(loss, weight);
  return reduce(loss, reduction);
}

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** weight of the positive term, per class (broadcast along the last dim): trades recall for precision */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy from logits x (p = σ(x)), stable for any x:
 *
 *   l = w·[(1 − t)·x + (1 + (pw − 1)·t)·softplus(−x)]      (= −w·[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))])
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BinaryCrossEntropyWithLogitsOptions = {}): Tensor {
  const where = "binaryCrossEntropyWithLogits";
  sameShapes(where, input, target);
  const reduction = checkReduction(where, options.reduction);
  const weight = elementWeight(where, "weight", options.weight, input);
  const posWeight = elementWeight(where, "posWeight", options.posWeight, input);
  const logWeight = posWeight ? add(1, mul(sub(posWeight, 1), target)) : null;
  const sp = softplus(neg(input));
  let loss = add(mul(sub(1, target), input), logWeight ? mul(logWeight, sp) : sp);
  if (weight) loss = mul(loss, weight);
  return reduce(loss, reduction);
}

export interface FocalOptions extends ReductionOptions {
  /**
   * Sigmoid form: the weight of the positive class, α_t = α·t + (1 − α)·(1 − t) (default 0.25);
   * a negative α means no α_t. Softmax form: one factor for every class (a number, default none)
   * or a weight per class ([C] tensor).
   */
  alpha?: number | Tensor;
  /** the focusing exponent γ >= 0 (default 2); γ = 0 is (α-weighted) cross-entropy */
  gamma?: number;
}

/**
 * Focal loss (Lin et al. 2017), which down-weights easy examples by (1 − p_t)^γ.
 *
 * Sigmoid (binary, multi-label) form, for logits x and float targets t ∈ {0, 1} of the same shape
 * (torchvision's sigmoid_focal_loss):
 *
 *   p = σ(x),  p_t = p·t + (1 − p)·(1 − t),  l = −α_t·(1 − p_t)^γ·log p_t
 *
 * where −log p_t is binaryCrossEntropyWithLogits. Softmax (multi-class) form, for logits [N, C]
 * and int32 class indices y:  l_n = −α_{y_n}·(1 − p_{n,y_n})^γ·log p_{n,y_n}, p = softmax(x).
 */
export function focal(input: Tensor, target: Tensor, options: FocalOptions = {}): Tensor {
  const op = "focal";
  const reduction = checkReduction(op, options.reduction);
  const gamma = finiteNumber(op, "gamma", options.gamma ?? 2, (v) => v >= 0, "gamma >= 0");
  if (target.dtype === "int32") return softmaxFocal(op, input, target, options.alpha, gamma, reduction);
  sameShapes(op, input, target);
  const alpha = options.alpha ?? 0.25;
  if (typeof alpha !== "number") throw new ConfigError(`${op}: the sigmoid form takes a number alpha (a per-class tensor needs int32 class targets)`);
  finiteNumber(op, "alpha", alpha, () => true, "a finite number");
  let loss = binaryCrossEntropyWithLogits(input, target, { reduction: "none" });
  if (gamma !== 0) {
    // where a target is exactly 0 or 1 (t·(1 − t) = 0), the fully stable form: log(1 − p_t) =
    // log σ(−x) = −softplus(x) where t = 1, log σ(x) = −softplus(−x) where t = 0; elsewhere (soft
    // targets) (1 − p_t)^γ directly. Chosen per element with ops, so no value is read back.
    // NOTE: each branch is fed a harmless value (0, 1) where the other is chosen, so the branch not
    // taken has a finite derivative there (0·∞ would make the gradient NaN).
    const binary = eq(mul(target, sub(1, target)), 0);
    const logOneMinusPt = neg(add(mul(target, softplus(input)), mul(sub(1, target), softplus(neg(input)))));
    const p = sigmoid(input);
    const oneMinusPt = clamp(sub(1, add(mul(p, target), mul(sub(1, p), sub(1, target)))), 0, Infinity);
    const stable = exp(mul(where(binary, logOneMinusPt, 0), gamma));
    const soft = pow(where(binary, 1, oneMinusPt), gamma);
    loss = mul(loss, where(binary, stable, soft));
  }
  if (alpha >= 0) loss = mul(loss, add(mul(target, alpha), mul(sub(1, target), 1 - alpha)));
  return reduce(loss, reduction);
}

function softmaxFocal(op: string, input: Tensor, target: Tensor, alpha: number | Tensor | undefined, gamma: number, reduction: Reduction): Tensor {
  requireFloat(op, input.dtype);
  if (input.rank < 2) throw new ShapeError(`${op}: the softmax form needs logits [N, C, ...], got ${fmtShape(input.shape)}`);
  const classes = input.shape[1]!;
  const { flat, sampleShape } = classesLast(input);
  if (!sameShape(target.shape, sampleShape)) {
    throw new ShapeError(`${op}: class-index target ${fmtShape(target.shape)} must be ${fmtShape(sampleShape)} for input ${fmtShape(input.shape)}`);
  }
  const { labels } = checkedLabels(op, target, classes, undefined, input);
  const m = labels.size;
  const logp = logSoftmax(flat, 1);
  const logPy = reshape(gather(logp, 1, reshape(labels, [m, 1])), [m]);
  let loss = neg(logPy);
  if (gamma !== 0) {
    // log(1 − p_y) = logSumExp over the other classes of log p: finite even when p_y rounds to 1
    if (classes === 1) {
      loss = mul(loss, 0);
    } else {
      const others = where(oneHot(labels, classes, input.dtype), -Infinity, logp);
      loss = mul(loss, exp(mul(logSumExp(others, 1), gamma)));
    }
  }
  if (alpha !== undefined) {
    if (typeof alpha === "number") {
      finiteNumber(op, "alpha", alpha, () => true, "a finite number");
      if (alpha >= 0) loss = mul(loss, alpha);
    } else {
      loss = mul(loss, take(checkClassWeight(op, alpha, classes, input)!, labels));
    }
  }
  if (reduction === "none") return reshape(loss, sampleShape);
  return reduction === "sum" ? sum(loss) : mean(loss);
}

/** Mean absolute error: l = |input − target|. */
export function l1(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  sameShapes("l1", input, target);
  return reduce(abs(sub(input, target)), checkReduction("l1", options.reduction));
}

/** Mean squared error: l = (input − target)². */
export function mse(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  sameShapes("mse", input, target);
  return reduce(square(sub(input, target)), checkReduction("mse", options.reduction));
}

/**
 * Smooth L1 (PyTorch): with d = |input − target|, l = 0.5·d²/β if d < β, else d − 0.5·β
 * (default β = 1; β = 0 is l1). Quadratic near 0, linear (robust to outliers) beyond β.
 */
export function smoothL1(input: Tensor, target: Tensor, options: ReductionOptions & { beta?: number } = {}): Tensor {
  const where_ = "smoothL1";
  sameShapes(where_, input, target);
  const reduction = checkReduction(where_, options.reduction);
  const beta = finiteNumber(where_, "beta", options.beta ?? 1, (v) => v >= 0, "beta >= 0");
  const d = abs(sub(input, target));
  if (beta === 0) return reduce(d, reduction);
  return reduce(where(lt(d, beta), div(mul(square(d), 0.5), beta), sub(d, 0.5 * beta)), reduction);
}

/** Huber (PyTorch): with d = |input − target|, l = 0.5·d² if d < δ, else δ·(d − 0.5·δ) (default δ = 1). */
export function huber(input: Tensor, target: Tensor, options: ReductionOptions & { delta?: number } = {}): Tensor {
  const where_ = "huber";
  sameShapes(where_, input, target);
  const reduction = checkReduction(where_, options.reduction);
  const delta = finiteNumber(where_, "delta", options.delta ?? 1, (v) => v > 0, "delta > 0");
  const d = abs(sub(input, target));
  return reduce(where(lt(d, delta), mul(square(d), 0.5), mul(sub(d, 0.5 * delta), delta)), reduction);
}

/**
 * Root mean squared error, a scalar: sqrt(mean((input − target)²)).
 * NOTE: at a perfect fit the derivative of sqrt at 0 is infinite; the gradient there is taken as
 * 0 (a subgradient) instead of NaN.
 */
export function rmse(input: Tensor, target: Tensor): Tensor {
  sameShapes("rmse", input, target);
  const m = mean(square(sub(input, target)));
  const positive = gt(m, 0);
  return where(positive, sqrt(where(positive, m, 1)), 0);
}
