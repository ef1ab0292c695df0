/**
 * Training callbacks: small objects the fit loop calls at the start and end of training, of each
 * epoch and around each batch. Each may keep state, which it saves into checkpoints through
 * `stateDict`/`loadStateDict` so a resumed run behaves exactly as an uninterrupted one.
 *
 * This file is the interface and the callbacks that run anywhere (early stopping: monitor a dev
 * metric, patience, minDelta, restore the best weights); the ones that write files are in
 * callbacks.ts (descent/node). Learning-rate schedules are applied by fit itself, before the step
 * or epoch they set.
 */
import * as z from "zod";
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import type { EpochLog, StepLog, TrainContext } from "./fit.js";

export type JsonObject = { [key: string]: unknown };

export interface Callback {
  readonly name: string;
  /** run after every other callback (checkpoints, so they hold the state the others reached) */
  readonly runsLast?: boolean;
  onTrainBegin?(ctx: TrainContext): void;
  onEpochBegin?(ctx: TrainContext, epoch: number): void;
  /** before each batch's forward pass, after the schedule has set the learning rate */
  onBatchBegin?(ctx: TrainContext): void;
  /** after each optimizer step; fit awaits a returned promise before the next batch (a pause) */
  onBatchEnd?(ctx: TrainContext, log: StepLog): void | Promise<void>;
  /** after each epoch (its dev evaluation); fit awaits a returned promise (a checkpoint being written) */
  onEpochEnd?(ctx: TrainContext, log: EpochLog): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void;
  stateDict?(): JsonObject;
  loadStateDict?(state: JsonObject): void;
}

/** The epoch-log fields a callback may monitor. */
export type Monitor = "devLoss" | "devAccuracy" | "trainLoss" | "trainAccuracy";
export const MONITORS: readonly Monitor[] = ["devLoss", "devAccuracy", "trainLoss", "trainAccuracy"];

export function checkMonitor(monitor: string): Monitor {
  if (!(MONITORS as readonly string[]).includes(monitor)) {
    throw new ConfigError(`Invalid monitor: "${monitor}" (expected one of ${MONITORS.join(", ")})`);
  }
  return monitor as Monitor;
}

/** The state early stopping saves, checked when a checkpoint gives it back. */
const EARLY_STOPPING_STATE = z.strictObject({ best: z.number().nullable(), bestEpoch: z.number().int().min(-1), wait: z.number().int().nonnegative() });

/** A callback's saved state parsed with its schema; a mismatch is a ConfigError naming the field. */
export function parseCallbackState<T>(name: string, schema: z.ZodType<T>, state: JsonObject): T {
  const parsed = schema.safeParse(state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${name}.loadStateDict: ${issue.path.map(String).join(".") || "state"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Accuracies improve upward, losses downward. */
export function improves(monitor: Monitor, value: number, best: number, minDelta: number): boolean {
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
    // an interrupted run resumes from its checkpoint and a failed one ends: only a finished run restores
    if (ctx.outcome !== "finished") return;
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
    const s = parseCallbackState("earlyStopping", EARLY_STOPPING_STATE, state);
    this.best = s.best;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
  }

  /** The best epoch's weights, for checkpoints (null until an epoch has ended). */
  get bestState(): Record<string, Tensor> | null {
    return this.bestWeights;
  }

  set bestState(weights: Record<string, Tensor> | null) {
    this.bestWeights = weights;
  }
}
