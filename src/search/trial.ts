/**
 * One trial: a point of the space evaluated, by a user's objective function or by training the
 * base config with the point's values (runExperiment, with a per-epoch hook that reports the
 * metric and stops the run when the pruner says so). Whatever happens, the result is a record:
 * `complete`, `pruned` (stopped by the pruner; its value is the last epoch's) or `failed` (it
 * threw: a non-finite loss, a model that does not fit the data; the message is kept).
 *
 * A trial's run folder that already exists belongs to an earlier attempt at the same trial (its
 * worker was killed): with a checkpoint it is resumed from there, without one it is started over.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import type { Callback } from "../train/callback.js";
import type { ExperimentConfig } from "../train/config.js";
import { runExperiment } from "../train/experiment.js";
import type { Params } from "./space.js";
import type { FinishedTrial, TrialStatus } from "./samplers.js";
import type { TrialMetric } from "./spec.js";
import type { TrialReporter } from "./pruners.js";

/** A finished trial, as trials.jsonl holds it (one line each). */
export interface TrialRecord extends FinishedTrial {
  status: TrialStatus;
  /** the coarse-to-fine round (0 for other strategies) */
  round: number;
  /** the metric after each epoch */
  values: number[];
  /** the error of a failed trial */
  error?: string;
  /** the trial's run folder (on the worker's machine), null for an objective function */
  run: string | null;
  /** host:pid of the process that ran it */
  worker: string;
  seconds: number;
}

/** What a trial is asked to do. */
export interface TrialTask {
  id: number;
  params: Params;
  round: number;
}

/** What an objective function gets besides the values: its id, and where to report progress. */
export interface TrialContext {
  readonly id: number;
  /**
   * Reports the metric after an epoch (1-based; default the next one). True means the pruner
   * stops this trial: return now (the study records it as pruned, with this value).
   */
  report(value: number, epoch?: number): boolean;
}

/** A user's training function: the metric of one point of the space. */
export type Objective = (params: Params, trial: TrialContext) => number | Promise<number>;

/** A trial stopped by a signal (Ctrl-C): not a result; a resumed study runs it on from its checkpoint. */
export class TrialInterrupted extends Error {}

export const workerName = (): string => `${hostname()}:${process.pid}`;

const oneLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!;

/** The record of a trial that failed before it could start (a config it cannot run, a bad job). */
export function failedRecord(task: TrialTask, error: string, worker = workerName()): TrialRecord {
  return { id: task.id, params: task.params, round: task.round, status: "failed", value: null, values: [], error, run: null, worker, seconds: 0 };
}

/** Runs one trial and turns every outcome into a record. */
export async function runTrial(
  task: TrialTask,
  reporter: TrialReporter,
  evaluate: (ctx: TrialContext) => Promise<{ value: number; run: string | null }>,
): Promise<TrialRecord> {
  const started = performance.now();
  const ctx: TrialContext = { id: task.id, report: (value, epoch) => reporter.report(value, epoch) };
  const base = { id: task.id, params: task.params, round: task.round, worker: workerName() };
  let run: string | null = null;
  try {
    const out = await evaluate(ctx);
    run = out.run;
    const pruned = reporter.prunedAt !== null;
    const value = pruned ? reporter.values[reporter.prunedAt! - 1]! : out.value;
    if (!Number.isFinite(value)) throw new ConfigError(`the trial's metric is ${value}`);
    const values = reporter.values.filter((v) => v !== undefined);
    return { ...base, status: pruned ? "pruned" : "complete", value, values, run, seconds: (performance.now() - started) / 1000 };
  } catch (e) {
    if (e instanceof TrialInterrupted) throw e;
    return { ...base, status: "failed", value: null, values: reporter.values.filter((v) => v !== undefined), error: oneLine(e), run, seconds: (performance.now() - started) / 1000 };
  }
}

/** A trial's run folder from an earlier attempt: resume it when it has a checkpoint, else clear it. */
function earlierAttempt(runDir: string): boolean {
  if (!existsSync(runDir)) return false;
  const ck = join(runDir, "checkpoints");
  const hasCheckpoint = existsSync(join(runDir, "config.json")) && existsSync(ck) && readdirSync(ck).some((f) => f.endsWith(".ckpt"));
  if (!hasCheckpoint) rmSync(runDir, { recursive: true, force: true });
  return hasCheckpoint;
}

/**
 * Trains one config as a trial: the metric after each epoch goes to the trial's reporter, which
 * may stop the run (pruned). The trial's value is the metric of the epoch whose weights the run
 * keeps (early stopping's best epoch, else the last).
 */
export async function runConfigTrial(
  config: ExperimentConfig, metric: TrialMetric, runDir: string, reporter: TrialReporter, signal?: AbortSignal,
): Promise<{ value: number; run: string }> {
  const hook: Callback = {
    name: "searchTrial",
    onEpochEnd(fit, log) {
      const value = log[metric];
      if (value === undefined) throw new ConfigError(`metric ${metric} is not measured by this run (${metric.startsWith("dev") ? "no dev set" : "no accuracy for a regression"})`);
      if (reporter.report(value, log.epoch + 1)) fit.stop(`pruned after epoch ${log.epoch + 1} (${metric} ${value.toPrecision(4)})`);
    },
  };
  const common = { log: () => {}, progress: false, report: false, callbacks: [hook], signal };
  const result = earlierAttempt(runDir)
    ? await runExperiment(undefined, { ...common, resumeDir: runDir, epochs: config.epochs })
    : await runExperiment(config, { ...common, outDir: runDir });
  if (result.interrupted) throw new TrialInterrupted(`trial run ${runDir} interrupted`);
  // a resumed attempt reported only its own epochs; the history has them all
  for (const e of result.history.epochs) {
    const v = e[metric];
    if (v !== undefined) reporter.record(v, e.epoch + 1);
  }
  const kept = result.history.epochs.find((e) => e.epoch === result.history.finalEpoch) ?? result.history.epochs.at(-1);
  return { value: kept?.[metric] ?? NaN, run: result.dir };
}
