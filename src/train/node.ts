/**
 * Public exports of src/train for Node (descent/node): callbacks that write files or draw on a
 * terminal, experiment configs and runs, comparisons and saved models. descent/node's `fit`
 * (checkpoints as files) is exported by src/node.ts itself, over the browser entry's.
 */
export { Checkpointing, MetricsLog, ProgressDisplay, describeEpoch } from "./callbacks.js";
export type { CheckpointOptions } from "./callbacks.js";
export { resolveConfig, loadConfigFile, defaultExperiment } from "./config.js";
export type { ExperimentConfig, ExperimentConfigInput } from "./config.js";
export { runExperiment, loadData } from "./experiment.js";
export type { RunOptions, RunResult } from "./experiment.js";
export { runComparison } from "./compare.js";
export type { Varied, ComparisonResult } from "./compare.js";
export { loadSavedModel } from "./saved-model.js";
export type { SavedModel } from "./saved-model.js";
export { FileControlSource, runFolderControl, readMetricsRecords, CONTROL_FILE } from "./control-file.js";
export { readSamples, predictSamples } from "./predict.js";
export type { Prediction } from "./predict.js";
