/**
 * Named optimizers as chains of transforms (transforms.ts), each a pure GradientTransformation.
 * The stateful `Optimizer` and `createOptimizer` (optimizer.ts) wrap them for a training loop.
 *
 * Batch, mini-batch and stochastic gradient descent are one rule, `sgd`, applied to gradients of
 * losses averaged over batches of different sizes: the whole training set, a mini-batch, or one
 * example. The data loader's batch size decides which; the optimizer does not know.
 *
 * Common options: `lr` (a number, or a function of the step count), `weightDecay` (λ) with
 * `decoupledWeightDecay` (false: L2 added to the gradient before the preconditioner, PyTorch's
 * weight_decay; true: θ ← θ − lr·λ·θ applied separately, AdamW's rule), `lrScale` (a multiplier
 * of lr for a parameter group), and `clipValue` / `clipNorm` (clip the gradients, by value or by
 * their global norm, before anything else).
 */
import { chain, type GradientTransformation } from "./base.js";
import { clipByGlobalNorm, clipByValue } from "./clip.js";
import {
  addWeightDecay, scaleByAdagrad, scaleByAdam, scaleByLearningRate, scaleByRms, traceEma, traceMomentum, type LrFn,
} from "./transforms.js";
import { checkBoolean, checkNonNegative } from "./validate.js";
import { ConfigError } from "../errors/errors.js";
import { preview } from "../errors/values.js";

export interface CommonOptimizerOptions {
  lr?: number | LrFn;
  weightDecay?: number;
  decoupledWeightDecay?: boolean;
  lrScale?: number;
  clipValue?: number;
  clipNorm?: number;
}

export const COMMON_OPTION_NAMES = ["lr", "weightDecay", "decoupledWeightDecay", "lrScale", "clipValue", "clipNorm"] as const;

/**
 * The default learning rate of each rule, PyTorch's where PyTorch has the rule. The one table:
 * the functions below, createOptimizer's named optimizers and the experiment config all read it.
 */
export const DEFAULT_LEARNING_RATES = { sgd: 1e-3, momentumEma: 1e-2, adagrad: 1e-2, rmsprop: 1e-2, adam: 1e-3, adamW: 1e-3 } as const;

/** The chain [clip] [coupled decay] core [decoupled decay] scaleByLearningRate. */
function assemble(o: CommonOptimizerOptions, defaultLr: number, core: GradientTransformation[], defaultWd = 0, decoupledDefault = false): GradientTransformation {
  const wd = checkNonNegative("weightDecay", o.weightDecay ?? defaultWd);
  const decoupled = checkBoolean("decoupledWeightDecay", o.decoupledWeightDecay ?? decoupledDefault);
  const parts: GradientTransformation[] = [];
  if (o.clipValue !== undefined) parts.push(clipByValue(o.clipValue));
  if (o.clipNorm !== undefined) parts.push(clipByGlobalNorm(o.clipNorm));
  if (wd > 0 && !decoupled) parts.push(addWeightDecay(wd));
  parts.push(...core);
  if (wd > 0 && decoupled) parts.push(addWeightDecay(wd));
  parts.push(scaleByLearningRate(o.lr ?? defaultLr, o.lrScale === undefined ? {} : { scale: o.lrScale }));
  return chain(...parts);
}

export interface SgdOptions extends CommonOptimizerOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent (PyTorch's torch.optim.SGD), default lr 1e-3:
 *
 *   g ← g + λθ                                   (weightDecay, coupled)
 *   b_1 = g_1,  b_t = μ·b_{t−1} + (1 − τ)·g_t    (momentum μ > 0, dampening τ)
 *   d = g_t + μ·b_t (nesterov)  |  b_t (momentum)  |  g_t (μ = 0)
 *   θ ← θ − lr·d
 */
export function sgd(options: SgdOptions = {}): GradientTransformation {
  const core = (options.momentum ?? 0) > 0 || options.nesterov
    ? [traceMomentum({ momentum: options.momentum ?? 0, dampening: options.dampening ?? 0, nesterov: options.nesterov ?? false })]
    : [];
  if (core.length === 0) checkNonNegative("momentum", options.momentum ?? 0);
  return assemble(options, DEFAULT_LEARNING_RATES.sgd, core);
}

export interface MomentumEmaOptions extends CommonOptimizerOptions {
  beta?: number;
  biasCorrection?: boolean;
}

/**
 * Momentum written as an exponentially weighted average of gradients (the form in Ng's course),
 * default lr 1e-2, β 0.9:
 *
 *   v_t = β·v_{t−1} + (1 − β)·g_t,  v_0 = 0
 *   θ ← θ − lr·v_t          (θ ← θ − lr·v_t / (1 − β^t) with biasCorrection)
 *
 * It equals PyTorch's SGD momentum with dampening = β up to the scale of lr, except on step 1.
 */
export function momentumEma(options: MomentumEmaOptions = {}): GradientTransformation {
  return assemble(options, DEFAULT_LEARNING_RATES.momentumEma, [traceEma({ beta: options.beta ?? 0.9, biasCorrection: options.biasCorrection ?? false })]);
}

export interface AdagradOptions extends CommonOptimizerOptions {
  lrDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

/**
 * Adagrad (PyTorch's torch.optim.Adagrad), default lr 1e-2, ε 1e-10:
 *
 *   g ← g + λθ                      (weightDecay)
 *   s_t = s_{t−1} + g_t²,  s_0 = initialAccumulatorValue
 *   θ ← θ − lr / (1 + (t − 1)·lrDecay) · g_t / (√s_t + ε)
 */
export function adagrad(options: AdagradOptions = {}): GradientTransformation {
  const o: Parameters<typeof scaleByAdagrad>[0] = {};
  if (options.eps !== undefined) o.eps = options.eps;
  if (options.lrDecay !== undefined) o.lrDecay = options.lrDecay;
  if (options.initialAccumulatorValue !== undefined) o.initialAccumulatorValue = options.initialAccumulatorValue;
  return assemble(options, DEFAULT_LEARNING_RATES.adagrad, [scaleByAdagrad(o)]);
}

export interface RmspropOptions extends CommonOptimizerOptions {
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
}

/**
 * RMSProp (PyTorch's torch.optim.RMSprop), default lr 1e-2, α 0.99, ε 1e-8:
 *
 *   g ← g + λθ                                         (weightDecay)
 *   s_t = α·s_{t−1} + (1 − α)·g_t²
 *   d = √(s_t − m_t²) + ε with m_t = α·m_{t−1} + (1 − α)·g_t   (centered)   |   √s_t + ε
 *   b_t = μ·b_{t−1} + g_t / d,  θ ← θ − lr·b_t         (momentum μ > 0)
 *   θ ← θ − lr·g_t / d                                 (μ = 0)
 */
export function rmsprop(options: RmspropOptions = {}): GradientTransformation {
  const o: Parameters<typeof scaleByRms>[0] = {};
  if (options.alpha !== undefined) o.alpha = options.alpha;
  if (options.eps !== undefined) o.eps = options.eps;
  if (options.momentum !== undefined) o.momentum = options.momentum;
  if (options.centered !== undefined) o.centered = options.centered;
  return assemble(options, DEFAULT_LEARNING_RATES.rmsprop, [scaleByRms(o)]);
}

export interface AdamOptions extends CommonOptimizerOptions {
  betas?: readonly [number, number];
  eps?: number;
  amsgrad?: boolean;
  biasCorrection?: boolean;
}

/** Adam's default (beta1, beta2). */
export const ADAM_BETAS: readonly [number, number] = [0.9, 0.999];

function adamCore(options: AdamOptions): GradientTransformation {
  const betas = options.betas ?? ADAM_BETAS;
  if (!Array.isArray(betas) || betas.length !== 2) throw new ConfigError(`Invalid betas: ${preview(betas)} (expected [beta1, beta2])`);
  const o: Parameters<typeof scaleByAdam>[0] = { beta1: betas[0], beta2: betas[1] };
  if (options.eps !== undefined) o.eps = options.eps;
  if (options.amsgrad !== undefined) o.amsgrad = options.amsgrad;
  if (options.biasCorrection !== undefined) o.biasCorrection = options.biasCorrection;
  return scaleByAdam(o);
}

/**
 * Adam (PyTorch's torch.optim.Adam), default lr 1e-3, betas (0.9, 0.999), ε 1e-8:
 *
 *   g ← g + λθ                                   (weightDecay, coupled L2)
 *   m_t = β1·m_{t−1} + (1 − β1)·g_t
 *   v_t = β2·v_{t−1} + (1 − β2)·g_t²
 *   v̂_t = max(v̂_{t−1}, v_t)  (amsgrad)  |  v_t
 *   θ ← θ − lr · (m_t / (1 − β1^t)) / (√v̂_t / √(1 − β2^t) + ε)
 *   θ ← θ − lr · m_t / (√v̂_t + ε)               (biasCorrection: false)
 */
export function adam(options: AdamOptions = {}): GradientTransformation {
  return assemble(options, DEFAULT_LEARNING_RATES.adam, [adamCore(options)]);
}

/**
 * AdamW (PyTorch's torch.optim.AdamW): Adam with decoupled weight decay, default λ 1e-2:
 *
 *   θ ← θ − lr·λ·θ − lr · m̂_t / (√v̂_t + ε)      (m̂, v̂ as in adam)
 */
export function adamW(options: AdamOptions = {}): GradientTransformation {
  return assemble(options, DEFAULT_LEARNING_RATES.adamW, [adamCore(options)], 1e-2, true);
}
