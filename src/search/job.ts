/**
 * A trial as it travels to a worker (a local worker process over IPC, a `descent worker` through
 * the queue): plain data, no code. The worker validates it with zod and the train config inside it
 * with the train config's own schema before anything runs, so a job can only ever train a valid
 * config; a job that fails validation fails with the field named.
 */
import { join } from "node:path";
import * as z from "zod";
import { ConfigError } from "../errors/errors.js";
import { describeIssue, resolveConfig, type ExperimentConfig } from "../train/config.js";
import { TrialReporter, type IntermediateStore } from "./pruners.js";
import { TRIAL_METRICS, type Direction, type PrunerSpec, type TrialMetric } from "./spec.js";
import { runConfigTrial, runTrial, type TrialRecord } from "./trial.js";
import type { Params } from "./space.js";

/** The queue trials go on when none is named. */
export const DEFAULT_QUEUE = "descent-trials";

export interface TrialJob {
  studyId: string;
  id: number;
  params: Params;
  round: number;
  config: ExperimentConfig;
  metric: TrialMetric;
  direction: Direction;
  pruner: PrunerSpec;
}

const jobSchema = z.strictObject({
  studyId: z.string().regex(/^[\w.-]+$/),
  id: z.number().int().nonnegative(),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  round: z.number().int().nonnegative(),
  config: z.record(z.string(), z.unknown()),
  metric: z.enum(TRIAL_METRICS),
  direction: z.enum(["minimize", "maximize"]),
  pruner: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("none") }),
    z.strictObject({ type: z.literal("asha"), minEpochs: z.number().int().positive(), reductionFactor: z.number().int().min(2) }),
    z.strictObject({ type: z.literal("median"), warmupEpochs: z.number().int().nonnegative(), minTrials: z.number().int().positive() }),
  ]),
});

/** Validates a job taken from a queue or a pipe; a bad one is a ConfigError naming the field. */
export function parseTrialJob(data: unknown): TrialJob {
  const parsed = jobSchema.safeParse(data);
  if (!parsed.success) {
    const { path, detail } = describeIssue(parsed.error.issues[0]!, data);
    throw new ConfigError(`trial job: ${path.map(String).join(".") || "(top level)"}: ${detail}`);
  }
  const job = parsed.data;
  return { ...job, config: resolveConfig(job.config, `trial job ${job.studyId}/${job.id}: config`) };
}

/** The folder of a trial's run, under a worker's folder for a study's runs. */
export function trialRunDir(runsDir: string, id: number): string {
  return join(runsDir, `trial-${String(id).padStart(4, "0")}`);
}

/** Runs a job's trial, reporting to `store`, its run folder under `runsDir`. */
export function executeTrialJob(job: TrialJob, store: IntermediateStore, runsDir: string, signal?: AbortSignal): Promise<TrialRecord> {
  const reporter = new TrialReporter(job.id, job.pruner, job.direction, store, job.config.epochs);
  return runTrial(job, reporter, () => runConfigTrial(job.config, job.metric, trialRunDir(runsDir, job.id), reporter, signal));
}
