/**
 * Public exports of src/optim: gradient transformations (pure init/update pairs), named
 * optimizers as chains of them, the stateful Optimizer, gradient clipping, moving averages.
 */
export { chain, partitionByName, applyUpdates, defineTransformation, makeState } from "./base.js";
export type { GradientTransformation, OptState, TensorTree, LabelFn, NamedParameters } from "./base.js";
export {
  scaleBy, scaleByLearningRate, addWeightDecay, traceMomentum, traceEma, scaleByAdagrad, scaleByRms, scaleByAdam,
} from "./transforms.js";
export type { LrFn, TraceMomentumOptions, TraceEmaOptions, ScaleByAdagradOptions, ScaleByRmsOptions, ScaleByAdamOptions } from "./transforms.js";
export { clipByValue, clipByGlobalNorm, globalNorm, clipGradNorm, clipGradNormAsync, clipGradValue } from "./clip.js";
export type { ClipTarget, ClipGradNormOptions } from "./clip.js";
export { sgd, momentumEma, adagrad, rmsprop, adam, adamW, DEFAULT_LEARNING_RATES } from "./alias.js";
export type { CommonOptimizerOptions, SgdOptions, MomentumEmaOptions, AdagradOptions, RmspropOptions, AdamOptions } from "./alias.js";
export { Optimizer, createOptimizer, OPTIMIZER_NAMES, OPTIMIZERS, isBiasOrNorm } from "./optimizer.js";
export type {
  OptimizerStateDict, OptimizerMeta, OptimizerInit, StateSkeleton, OptimizerName, OptimizerOptionsMap, ParamSelector, ParamGroup,
  CreateOptimizerOptions, OptimizerEntry,
} from "./optimizer.js";
export { ExponentialMovingAverage, WeightEma } from "./ema.js";
export type { EmaOptions, EmaState, WeightEmaStateDict } from "./ema.js";
