/** Public exports of src/train: the fit loop, callbacks, metrics, experiments and comparisons. */
export { fit, evaluate } from "./fit.js";
export type { FitOptions, History, EpochLog, StepLog, TrainContext, TrainableModel, LossFn, Penalty, Evaluation, EvaluateOptions } from "./fit.js";
export { EarlyStopping, Checkpointing, MetricsLog, ProgressDisplay, describeEpoch } from "./callbacks.js";
export type { Callback, EarlyStoppingOptions, CheckpointOptions, Monitor } from "./callbacks.js";
export { ConfusionMatrix, predictClasses, readPredictedClasses } from "./metrics.js";
export { resolveConfig, loadConfigFile, defaultExperiment, DEFAULT_LR } from "./config.js";
export type { ExperimentConfig, ExperimentConfigInput } from "./config.js";
export { runExperiment, loadData } from "./experiment.js";
export type { RunOptions, RunResult } from "./experiment.js";
export { runComparison } from "./compare.js";
export type { Varied, ComparisonResult } from "./compare.js";
export { loadSavedModel } from "./saved-model.js";
export type { SavedModel } from "./saved-model.js";
