/**
 * Training callbacks: small objects the fit loop calls at the start and end of training, of each
 * epoch and after each batch. Each may keep state, which it saves into checkpoints through
 * `stateDict`/`loadStateDict` so a resumed run behaves exactly as an uninterrupted one.
 *
 * Built in: earlyStopping (monitor a dev metric, patience, minDelta, restore the best weights),
 * checkpoints (every N epochs, keep the last K and the best), a JSONL metrics log, and terminal
 * progress. Learning-rate schedules are applied by fit itself, before the step or epoch they set.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { pruneCheckpoints } from "../io/checkpoint.js";
import { TrainingProgress, type ProgressOptions } from "./progress.js";
import type { EpochLog, StepLog, TrainContext } from "./fit.js";

export type JsonObject = { [key: string]: unknown };

export interface Callback {
  readonly name: string;
  onTrainBegin?(ctx: TrainContext): void;
  onEpochBegin?(ctx: TrainContext, epoch: number): void;
  onBatchEnd?(ctx: TrainContext, log: StepLog): void;
  onEpochEnd?(ctx: TrainContext, log: EpochLog): void;
  onTrainEnd?(ctx: TrainContext): void;
  stateDict?(): JsonObject;
  loadStateDict?(state: JsonObject): void;
}

/** The epoch-log fields a callback may monitor. */
export type Monitor = "devLoss" | "devAccuracy" | "trainLoss" | "trainAccuracy";
export const MONITORS: readonly Monitor[] = ["devLoss", "devAccuracy", "trainLoss", "trainAccuracy"];

function checkMonitor(monitor: string): Monitor {
  if (!(MONITORS as readonly string[]).includes(monitor)) {
    throw new ConfigError(`Invalid monitor: "${monitor}" (expected one of ${MONITORS.join(", ")})`);
  }
  return monitor as Monitor;
}

/** Accuracies improve upward, losses downward. */
function improves(monitor: Monitor, value: number, best: number, minDelta: number): boolean {
  return monitor.endsWith("Accuracy") ? value > best + minDelta : value < best - minDelta;
}

export interface EarlyStoppingOptions {
  /** the epoch metric to watch (default "devLoss") */
  monitor?: Monitor;
  /** epochs without improvement before stopping (default 3) */
  patience?: number;
  /** the smallest change that counts as improvement (default 0) */
  minDelta?: number;
  /** put back the weights of the best epoch when training ends (default true) */
  restoreBest?: boolean;
}

/**
 * Stops training when `monitor` has not improved by more than minDelta for `patience` epochs,
 * and (restoreBest) puts back the best epoch's weights. Tensors are immutable, so keeping the
 * best weights is keeping a reference to that epoch's state dict: no copy.
 */
export class EarlyStopping implements Callback {
  readonly name = "earlyStopping";
  readonly monitor: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  best: number | null = null;
  bestEpoch = -1;
  wait = 0;
  private bestWeights: Record<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = checkMonitor(options.monitor ?? "devLoss");
    this.patience = options.patience ?? 3;
    this.minDelta = options.minDelta ?? 0;
    this.restoreBest = options.restoreBest ?? true;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new ConfigError(`Invalid patience: ${this.patience} (expected an integer >= 0)`);
    if (!(this.minDelta >= 0)) throw new ConfigError(`Invalid minDelta: ${this.minDelta} (expected >= 0)`);
  }

  onEpochEnd(ctx: TrainContext, log: EpochLog): void {
    const value = log[this.monitor];
    if (value === undefined) {
      throw new ConfigError(`earlyStopping: monitor "${this.monitor}" is not measured (${this.monitor.startsWith("dev") ? "no dev set" : "missing"})`);
    }
    if (this.best === null || improves(this.monitor, value, this.best, this.minDelta)) {
      this.best = value;
      this.bestEpoch = log.epoch;
      this.wait = 0;
      if (this.restoreBest) this.bestWeights = ctx.model.stateDict();
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      ctx.stop(`early stopping: ${this.monitor} did not improve for ${this.wait} epoch${this.wait === 1 ? "" : "s"} (best ${this.best.toPrecision(4)} at epoch ${this.bestEpoch + 1})`);
    }
  }

  onTrainEnd(ctx: TrainContext): void {
    if (this.restoreBest && this.bestWeights && this.bestEpoch !== ctx.lastEpoch) {
      ctx.model.loadStateDict(this.bestWeights);
      ctx.log(`restored the weights of epoch ${this.bestEpoch + 1} (best ${this.monitor} ${this.best?.toPrecision(4)})`);
    }
  }

  /** The best weights themselves go into the checkpoint's tensors (see bestState). */
  stateDict(): JsonObject {
    return { best: this.best, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  loadStateDict(state: JsonObject): void {
    this.best = (state.best as number | null) ?? null;
    this.bestEpoch = (state.bestEpoch as number) ?? -1;
    this.wait = (state.wait as number) ?? 0;
  }

  /** The best epoch's weights, for checkpoints (null until an epoch has ended). */
  get bestState(): Record<string, Tensor> | null {
    return this.bestWeights;
  }

  set bestState(weights: Record<string, Tensor> | null) {
    this.bestWeights = weights;
  }
}

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

  onBatchEnd(ctx: TrainContext): void {
    if (this.everySteps !== null && ctx.step % this.everySteps === 0) {
      ctx.saveCheckpoint(join(this.dir, `step-${ctx.step}.ckpt`));
      pruneCheckpoints(this.dir, this.keepLast, /^step-(\d+)\.ckpt$/);
    }
  }

  onEpochEnd(ctx: TrainContext, log: EpochLog): void {
    // the state saved is "after this epoch": a resume starts the next one
    if ((log.epoch + 1) % this.everyEpochs === 0) {
      ctx.saveCheckpoint(join(this.dir, `epoch-${log.epoch + 1}.ckpt`));
      pruneCheckpoints(this.dir, this.keepLast, /^epoch-(\d+)\.ckpt$/);
    }
    const value = this.monitor ? log[this.monitor] : undefined;
    if (value !== undefined && (this.best === null || improves(this.monitor!, value, this.best, 0))) {
      this.best = value;
      ctx.saveCheckpoint(join(this.dir, "best.ckpt"));
    }
  }

  stateDict(): JsonObject {
    return { best: this.best };
  }

  loadStateDict(state: JsonObject): void {
    this.best = (state.best as number | null) ?? null;
  }
}

/** Appends one JSON line per step, epoch and event to a metrics.jsonl file (docs/run-folder.md). */
export class MetricsLog implements Callback {
  readonly name = "metricsLog";

  constructor(readonly path: string) {}

  private write(record: JsonObject): void {
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }

  onBatchEnd(_ctx: TrainContext, log: StepLog): void {
    this.write({ type: "step", ...log });
  }

  onEpochEnd(_ctx: TrainContext, log: EpochLog): void {
    this.write({ type: "epoch", ...log });
  }

  event(epoch: number, step: number, message: string): void {
    this.write({ type: "event", epoch, step, message });
  }
}

/** Terminal progress: bars on a TTY, one line per epoch otherwise. */
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
  parts.push(` lr ${log.lr.toPrecision(3)}`, `${log.seconds.toFixed(1)}s`);
  return parts.join(" ");
}
