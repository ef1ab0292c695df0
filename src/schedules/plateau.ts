/**
 * reduceOnPlateau: the one stateful schedule. It is fed a metric (usually the dev loss) at the
 * end of each epoch and multiplies the learning rate by `factor` when the metric has not improved
 * for more than `patience` epochs (PyTorch's ReduceLROnPlateau, learning rate only):
 *
 *   better(a) = a < best·(1 − threshold)   mode min, rel      a < best − threshold   min, abs
 *               a > best·(1 + threshold)   mode max, rel      a > best + threshold   max, abs
 *   on step(a): if better(a) { best = a; bad = 0 } else bad += 1
 *               if cooldown > 0 { cooldown −= 1; bad = 0 }
 *               if bad > patience { lr' = max(lr·factor, minLr); if lr − lr' > eps: lr = lr';
 *                                   cooldown = cooldownEpochs; bad = 0 }
 *
 * best starts at +∞ (min) or −∞ (max). Its state (lr, best, bad epochs, cooldown) belongs in
 * checkpoints: stateDict / loadStateDict.
 */
import { ConfigError } from "../errors/errors.js";
import { checkLr, checkNonNegative, checkNumber, fmt } from "../optim/validate.js";
import { checkInterval, type Schedule, type ScheduleBaseOptions, type ScheduleInterval, type ScheduleStateDict } from "./schedules.js";

export interface ReduceOnPlateauOptions extends ScheduleBaseOptions {
  lr0: number;
  /** "min" (default): lower is better (a loss); "max": higher is better (an accuracy). */
  mode?: "min" | "max";
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: "rel" | "abs";
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

export class ReduceOnPlateau implements Schedule {
  readonly type = "reduceOnPlateau";
  readonly interval: ScheduleInterval;
  readonly mode: "min" | "max";
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: "rel" | "abs";
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  private readonly lr0: number;
  private _lr: number;
  private best: number;
  private badEpochs = 0;
  private cooldownCounter = 0;
  private lastEpoch = 0;

  /** Defaults as PyTorch: mode min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, minLr 0, eps 1e-8. */
  constructor(options: ReduceOnPlateauOptions) {
    this.interval = checkInterval(options.interval, "epoch");
    this.lr0 = checkLr(options.lr0, "lr0");
    this._lr = this.lr0;
    const mode = options.mode ?? "min";
    if (mode !== "min" && mode !== "max") throw new ConfigError(`Invalid mode: ${fmt(mode)} (expected "min" or "max")`);
    this.mode = mode;
    this.factor = checkNumber("factor", options.factor ?? 0.1, { min: 0, max: 1, maxOpen: true });
    this.patience = checkNumber("patience", options.patience ?? 10, { min: 0, integer: true });
    this.threshold = checkNonNegative("threshold", options.threshold ?? 1e-4);
    const tm = options.thresholdMode ?? "rel";
    if (tm !== "rel" && tm !== "abs") throw new ConfigError(`Invalid thresholdMode: ${fmt(tm)} (expected "rel" or "abs")`);
    this.thresholdMode = tm;
    this.cooldown = checkNumber("cooldown", options.cooldown ?? 0, { min: 0, integer: true });
    this.minLr = checkLr(options.minLr ?? 0, "minLr");
    this.eps = checkNonNegative("eps", options.eps ?? 1e-8);
    this.best = this.worst();
  }

  /** The current learning rate. */
  get lr(): number {
    return this._lr;
  }

  /** The current learning rate, whatever t: this schedule moves only through step(metric). */
  lrAt(_t: number): number {
    return this._lr;
  }

  /** Reports the metric at the end of an epoch; returns the learning rate for the next one. */
  step(metric: number): number {
    if (typeof metric !== "number") throw new ConfigError(`reduceOnPlateau.step: the metric must be a number, got ${fmt(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.badEpochs = 0;
    } else {
      this.badEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.badEpochs = 0;
    }
    if (this.badEpochs > this.patience) {
      const next = Math.max(this._lr * this.factor, this.minLr);
      if (this._lr - next > this.eps) this._lr = next;
      this.cooldownCounter = this.cooldown;
      this.badEpochs = 0;
    }
    return this._lr;
  }

  stateDict(): ScheduleStateDict {
    return {
      type: this.type,
      interval: this.interval,
      spec: {
        lr0: this.lr0, mode: this.mode, factor: this.factor, patience: this.patience, threshold: this.threshold,
        thresholdMode: this.thresholdMode, cooldown: this.cooldown, minLr: this.minLr, eps: this.eps,
      },
      // NOTE: best is ±Infinity before the first metric; JSON has no Infinity, so it is stored as null.
      state: { lr: this._lr, best: Number.isFinite(this.best) ? this.best : null, badEpochs: this.badEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch },
    };
  }

  loadStateDict(dict: ScheduleStateDict): void {
    if (dict.type !== this.type) throw new ConfigError(`loadStateDict: the state is of a ${dict.type} schedule, this is reduceOnPlateau`);
    const s = dict.state ?? {};
    this._lr = checkLr(s.lr, "lr");
    this.best = s.best === null || s.best === undefined ? this.worst() : checkNumber("best", s.best, {});
    this.badEpochs = checkNumber("badEpochs", s.badEpochs, { min: 0, integer: true });
    this.cooldownCounter = checkNumber("cooldownCounter", s.cooldownCounter, { min: 0, integer: true });
    this.lastEpoch = checkNumber("lastEpoch", s.lastEpoch ?? 0, { min: 0, integer: true });
  }

  private worst(): number {
    return this.mode === "min" ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === "min") return this.thresholdMode === "rel" ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === "rel" ? a > best * (threshold + 1) : a > best + threshold;
  }
}

/** A ReduceOnPlateau schedule (see the class). */
export function reduceOnPlateau(options: ReduceOnPlateauOptions): ReduceOnPlateau {
  return new ReduceOnPlateau(options);
}
