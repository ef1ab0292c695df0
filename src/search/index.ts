/**
 * Hyperparameter search: the spec, the strategies, pruning, the study folder, `search()` and the
 * queue worker. The worker (and BullMQ with it) is loaded only when it is used.
 */
import type { WorkerOptions } from "./redis.js";

export { search, type SearchOptions, type Study, type Executor } from "./search.js";
export { resolveSearchSpec, loadSearchSpec, trialConfig, gridSize, STRATEGIES, TRIAL_METRICS } from "./spec.js";
export type { SearchSpec, SearchSpecInput, Strategy, TrialMetric, PrunerSpec, Direction } from "./spec.js";
export { fromUnit, toUnit, gridValues, isLogScale, type Distribution, type Space, type Params, type ParamValue } from "./space.js";
export { createSampler, rankTrials, GridSampler, RandomSampler, CoarseToFineSampler, TpeSampler, type Sampler, type Suggestion, type FinishedTrial, type UnitBox } from "./samplers.js";
export { MemoryStore, TrialReporter, decisionEpochs, shouldPrune, type IntermediateStore } from "./pruners.js";
export { readStudyFile, readTrials, readRounds, type StudyFile, type RoundRecord } from "./study.js";
export type { TrialRecord, TrialContext, Objective, TrialTask } from "./trial.js";
export type { WorkerOptions } from "./redis.js";

/** Takes trials from a Redis queue until the signal fires (what `descent worker` runs). */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { runWorker: run } = await import("./redis.js");
  return run(options);
}
