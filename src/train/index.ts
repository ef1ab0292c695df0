/**
 * Public exports of src/train that run anywhere: the fit loop, the Callback interface, early
 * stopping, steering a run by hand (Control), metrics and the checkpoint train-state schema. Files,
 * experiments and terminal progress are in ./node.ts (descent/node).
 */
export { fit, evaluate } from "./fit.js";
export type { FitOptions, History, EpochLog, StepLog, TrainContext, TrainOutcome, TrainableModel, LossFn, Penalty, Evaluation, EvaluateOptions, TrainState } from "./fit.js";
export { EarlyStopping } from "./callback.js";
export type { Callback, EarlyStoppingOptions, Monitor } from "./callback.js";
export { ConfusionMatrix, predictClasses, readPredictedClasses } from "./metrics.js";
export { Control, parseControlCommand, controlEvents, CONTROL_ACTIONS } from "./control.js";
export type { ControlCommand, ControlEvent, ControlSource, ControlOptions } from "./control.js";
export { parseTrainState, checkTrainCheckpoint } from "./state.js";
export { TrainingRecorder, trainingRecorder, activationHealth, RECORDED_ACTIVATIONS, PROBE_SAMPLES } from "./records.js";
export type { TrainingRecord, ParamRecord, ActivationRecord, RecorderOptions } from "./records.js";
