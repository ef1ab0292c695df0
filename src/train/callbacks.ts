/**
 * The training callbacks that need Node (exported from descent/node): checkpoints in a folder
 * (every N epochs, keep the last K and the best), a JSONL metrics log, and terminal progress.
 * The Callback interface and the browser-safe callbacks (early stopping) are in callback.ts.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { ConfigError } from "../errors/errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { pruneCheckpoints } from "../io/checkpoint-file.js";
import { formatLr } from "../schedules/format.js";
import { TrainingProgress, type ProgressOptions } from "./progress.js";
import type { EpochLog, StepLog, TrainContext } from "./fit.js";
import { checkMonitor, improves, parseCallbackState, type Callback, type JsonObject, type Monitor } from "./callback.js";

/** The state checkpointing saves, checked when a checkpoint gives it back. */
const CHECKPOINT_STATE = z.strictObject({ best: z.number().nullable() });
/** The metrics log's saved state: how many lines the file held when the checkpoint was taken. */
const METRICS_STATE = z.strictObject({ lines: z.number().int().nonnegative() });

export interface CheckpointOptions {
  /** the folder for epoch-<E>.ckpt and best.ckpt */
  dir: string;
  /** write one every N epochs (default 1) */
  everyEpochs?: number;
  /** also write step-<S>.ckpt every N optimizer steps (default: never) */
  everySteps?: number | null;
  /** keep the last K epoch checkpoints (default 3) */
  keepLast?: number;
  /** also keep best.ckpt for the best value of this metric (default "devLoss" when there is a dev set) */
  monitor?: Monitor | null;
}

/**
 * Writes resumable checkpoints through the context (which knows the whole training state):
 * epoch-<E>.ckpt every N epochs, step-<S>.ckpt every N steps when asked, the last K of each kept,
 * and best.ckpt whenever the monitored metric improves.
 */
export class Checkpointing implements Callback {
  readonly name = "checkpoint";
  readonly runsLast = true;
  readonly dir: string;
  readonly everyEpochs: number;
  readonly everySteps: number | null;
  readonly keepLast: number;
  readonly monitor: Monitor | null;
  private best: number | null = null;

  constructor(options: CheckpointOptions) {
    this.dir = options.dir;
    this.everyEpochs = options.everyEpochs ?? 1;
    this.everySteps = options.everySteps ?? null;
    this.keepLast = options.keepLast ?? 3;
    this.monitor = options.monitor === undefined ? "devLoss" : options.monitor && checkMonitor(options.monitor);
    if (!Number.isInteger(this.everyEpochs) || this.everyEpochs < 1) throw new ConfigError(`Invalid checkpoint everyEpochs: ${this.everyEpochs} (expected an integer >= 1)`);
    if (this.everySteps !== null && (!Number.isInteger(this.everySteps) || this.everySteps < 1)) {
      throw new ConfigError(`Invalid checkpoint everySteps: ${this.everySteps} (expected an integer >= 1)`);
    }
    if (!Number.isInteger(this.keepLast) || this.keepLast < 1) throw new ConfigError(`Invalid checkpoint keepLast: ${this.keepLast} (expected an integer >= 1)`);
    mkdirSync(this.dir, { recursive: true });
  }

  async onBatchEnd(ctx: TrainContext): Promise<void> {
    if (this.everySteps !== null && ctx.step % this.everySteps === 0) {
      await ctx.saveCheckpoint(join(this.dir, `step-${ctx.step}.ckpt`));
      pruneCheckpoints(this.dir, this.keepLast, /^step-(\d+)\.ckpt$/);
    }
  }

  async onEpochEnd(ctx: TrainContext, log: EpochLog): Promise<void> {
    // the state saved is "after this epoch": a resume starts the next one
    if ((log.epoch + 1) % this.everyEpochs === 0) {
      await ctx.saveCheckpoint(join(this.dir, `epoch-${log.epoch + 1}.ckpt`));
      pruneCheckpoints(this.dir, this.keepLast, /^epoch-(\d+)\.ckpt$/);
    }
    const value = this.monitor ? log[this.monitor] : undefined;
    if (value !== undefined && (this.best === null || improves(this.monitor!, value, this.best, 0))) {
      this.best = value;
      await ctx.saveCheckpoint(join(this.dir, "best.ckpt"));
    }
  }

  stateDict(): JsonObject {
    return { best: this.best };
  }

  loadStateDict(state: JsonObject): void {
    this.best = parseCallbackState("checkpoint", CHECKPOINT_STATE, state).best;
  }
}

/**
 * Appends one JSON line per step, epoch and event to a metrics.jsonl file (docs/run-folder.md).
 * A checkpoint keeps how many lines the file held when it was taken; resuming from it cuts the
 * file back to those lines (written to a temporary file and renamed), so the steps a crashed run
 * logged after its last checkpoint are logged once, by the resumed run, and a resumed run's file
 * reads as the uninterrupted run's. A half-written last line goes with the cut.
 */
export class MetricsLog implements Callback {
  readonly name = "metricsLog";
  private epoch = 0;
  private step = 0;
  /** complete lines in the file, counted on first use (a resumed run's file already has some) */
  private lines: number | null = null;
  /** true once a resume has cut the file back to its checkpoint */
  rewound = false;

  constructor(readonly path: string) {}

  /** The epoch in progress and the step about to be taken: where an event that stops training happened. */
  get position(): { epoch: number; step: number } {
    return { epoch: this.epoch, step: this.step };
  }

  onEpochBegin(ctx: TrainContext, epoch: number): void {
    this.epoch = epoch;
    this.step = ctx.step;
  }

  /** Appends one record (a control event from the dashboard, say) as a line. */
  write(record: JsonObject): void {
    const before = this.lineCount();
    appendFileSync(this.path, JSON.stringify(record) + "\n");
    this.lines = before + 1;
  }

  stateDict(): JsonObject {
    return { lines: this.lineCount() };
  }

  loadStateDict(state: JsonObject): void {
    const { lines } = parseCallbackState("metricsLog", METRICS_STATE, state);
    const kept = metricsLines(this.path).lines.slice(0, lines);
    writeFileAtomic(this.path, kept.map((l) => l + "\n").join(""));
    this.lines = kept.length;
    this.rewound = true;
  }

  private lineCount(): number {
    this.lines ??= metricsLines(this.path).lines.length;
    return this.lines;
  }

  onBatchEnd(_ctx: TrainContext, log: StepLog): void {
    this.step = log.step + 1;
    this.write({ type: "step", ...log });
  }

  onEpochEnd(_ctx: TrainContext, log: EpochLog): void {
    this.write({ type: "epoch", ...log });
  }

  /** A training record (src/train/records.ts): gradient, weight and update norms, activation health. */
  record(record: JsonObject): void {
    this.write(record);
  }

  /** An event; `reason` tags the kind of stop (see run-folder.ts). */
  event(epoch: number, step: number, message: string, reason?: string): void {
    this.write({ type: "event", epoch, step, message, ...(reason ? { reason } : {}) });
  }
}

/** Terminal progress: bars on a terminal's stderr, and one line per epoch through `log`. */
export class ProgressDisplay implements Callback {
  readonly name = "progress";
  private readonly progress: TrainingProgress;
  private epochStart = 0;
  private samples = 0;

  constructor(options: ProgressOptions = {}) {
    this.progress = new TrainingProgress(options);
  }

  onTrainBegin(ctx: TrainContext): void {
    this.progress.startTraining(ctx.epochs, ctx.epoch);
  }

  onEpochBegin(ctx: TrainContext, epoch: number): void {
    this.epochStart = performance.now();
    this.samples = 0;
    this.progress.startEpoch(epoch, ctx.batchesPerEpoch);
  }

  onBatchEnd(ctx: TrainContext, log: StepLog): void {
    this.samples += log.batchSize;
    const seconds = (performance.now() - this.epochStart) / 1000;
    const rate = this.samples / Math.max(seconds, 1e-9);
    const done = ctx.batchInEpoch;
    const eta = ((ctx.batchesPerEpoch - done) * seconds) / Math.max(done, 1);
    this.progress.batch(done, log.loss, rate, eta);
  }

  onEpochEnd(_ctx: TrainContext, log: EpochLog): void {
    const best = log.devAccuracy ?? log.trainAccuracy;
    const info = best === undefined ? `loss ${(log.devLoss ?? log.trainLoss).toFixed(4)}` : `${log.devAccuracy === undefined ? "train" : "dev"} acc ${pct(best)}`;
    this.progress.endEpoch(log.epoch, describeEpoch(log), info);
  }

  onTrainEnd(): void {
    this.progress.stop();
  }

  message(line: string): void {
    this.progress.message(line);
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** One line per epoch: `epoch 3/10  train loss 0.1234 acc 96.10%  dev loss 0.1456 acc 95.70%  12.3s`. */
export function describeEpoch(log: EpochLog): string {
  const parts = [`epoch ${log.epoch + 1}`, `train loss ${log.trainLoss.toFixed(4)}`];
  if (log.trainAccuracy !== undefined) parts.push(`acc ${pct(log.trainAccuracy)}`);
  if (log.devLoss !== undefined) parts.push(` dev loss ${log.devLoss.toFixed(4)}`);
  if (log.devAccuracy !== undefined) parts.push(`acc ${pct(log.devAccuracy)}`);
  parts.push(` lr ${formatLr(log.lr)}`, `${log.seconds.toFixed(1)}s`);
  return parts.join(" ");
}

/**
 * The complete (newline-terminated) lines of a metrics.jsonl, and their size in bytes: a line a
 * crash cut short is left out, and `size` is where a reader that follows the file goes on from.
 * None for a missing file.
 */
export function metricsLines(path: string): { lines: string[]; size: number } {
  if (!existsSync(path)) return { lines: [], size: 0 };
  const buf = readFileSync(path);
  const size = buf.lastIndexOf(0x0a) + 1;
  const lines = buf.subarray(0, size).toString("utf8").split("\n");
  lines.pop(); // "" after the last newline
  return { lines, size };
}
