/**
 * Exponentially weighted moving averages, for any series of numbers (a smoothed loss curve) and
 * for a model's weights (evaluate with averaged weights, which are often better than the last).
 *
 *   v_t = β·v_{t−1} + (1 − β)·x_t,  v_0 = 0
 *   average = v_t / (1 − β^t)   (biasCorrection, the default)      v_t   (otherwise)
 *
 * Without bias correction the early averages lean toward v_0 = 0; the correction divides that
 * bias out (so the first average is x_1 itself). β ≈ averaging over the last 1 / (1 − β) values.
 *
 * The weight average is the traceEma transform run on the parameters themselves, in their
 * dtype; `withAveraged(fn)` (or `swap()` twice) puts the averaged values into the parameters
 * for evaluation and puts the trained ones back.
 */
import { noGrad } from "../autograd/mode.js";
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { detach } from "../ops/movement.js";
import type { Parameter } from "../nn/parameter.js";
import { sameShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { listParameters, makeState, type GradientTransformation, type NamedParameters, type OptState, type TensorTree } from "./base.js";
import { traceEma } from "./transforms.js";
import { checkBoolean, checkDecay, checkNumber } from "./validate.js";
import { preview } from "../errors/values.js";

export interface EmaOptions {
  /** The decay β, 0 <= β < 1 (e.g. 0.9 for a loss curve, 0.999 for weights). */
  beta: number;
  /** Divide by 1 − β^t (default true). */
  biasCorrection?: boolean;
}

export interface EmaState {
  beta: number;
  biasCorrection: boolean;
  /** The raw average v_t (before bias correction). */
  v: number;
  count: number;
}

/** The moving average of a series of numbers. */
export class ExponentialMovingAverage {
  readonly beta: number;
  readonly biasCorrection: boolean;
  private v = 0;
  private t = 0;

  constructor(options: EmaOptions) {
    this.beta = checkDecay("beta", options.beta);
    this.biasCorrection = checkBoolean("biasCorrection", options.biasCorrection ?? true);
  }

  /** Adds x_t and returns the new average. */
  update(x: number): number {
    this.v = this.beta * this.v + (1 - this.beta) * x;
    this.t++;
    return this.value;
  }

  /** The current average (NaN before the first value when bias-corrected, 0 otherwise). */
  get value(): number {
    if (!this.biasCorrection) return this.v;
    return this.t === 0 ? NaN : this.v / (1 - this.beta ** this.t);
  }

  /** How many values have been added. */
  get count(): number {
    return this.t;
  }

  stateDict(): EmaState {
    return { beta: this.beta, biasCorrection: this.biasCorrection, v: this.v, count: this.t };
  }

  loadStateDict(state: EmaState): void {
    if (state.beta !== this.beta || state.biasCorrection !== this.biasCorrection) {
      throw new ConfigError(`ExponentialMovingAverage.loadStateDict: saved with beta ${state.beta}, biasCorrection ${state.biasCorrection}; this one has beta ${this.beta}, biasCorrection ${this.biasCorrection}`);
    }
    this.v = checkNumber("v", state.v, {});
    this.t = checkNumber("count", state.count, { min: 0, integer: true });
  }
}

export interface WeightEmaStateDict {
  tensors: Record<string, Tensor>;
  meta: { format: "descent-weight-ema/1"; beta: number; biasCorrection: boolean; counts: Record<string, number> };
}

/**
 * The moving average of a model's weights. Call `update()` after each optimizer step. With bias
 * correction (the default) the average starts from v_0 = 0 and is corrected; without it, it starts
 * from a copy of the weights at construction (there is then no bias to correct).
 */
export class WeightEma {
  readonly beta: number;
  readonly biasCorrection: boolean;
  private readonly params: readonly [string, Parameter][];
  private readonly tx: GradientTransformation;
  private state: OptState;
  private averages: TensorTree;
  private saved: Map<Parameter, Tensor> | null = null;

  constructor(params: NamedParameters, options: EmaOptions) {
    this.beta = checkDecay("beta", options.beta);
    this.biasCorrection = checkBoolean("biasCorrection", options.biasCorrection ?? true);
    this.params = listParameters(params, "WeightEma");
    this.tx = traceEma({ beta: this.beta, biasCorrection: this.biasCorrection });
    const values = this.values();
    this.state = this.biasCorrection ? this.tx.init(values) : this.copyState(values);
    this.averages = this.biasCorrection ? {} : (this.state.slots.v ?? {});
  }

  /** Folds the parameters' current values into the average. */
  update(): void {
    if (this.saved) throw new ConfigError("WeightEma.update: the averaged weights are swapped in; swap() back first");
    const values = this.values();
    [this.averages, this.state] = this.tx.update(values, this.state, values);
  }

  /** The averaged weights by name (bias-corrected when asked); the parameters themselves before any update. */
  averaged(): Record<string, Tensor> {
    return Object.fromEntries(this.params.map(([n, p]) => [n, this.averages[n] ?? detach(p)]));
  }

  /** Whether the averaged weights are in the parameters now. */
  get isSwapped(): boolean {
    return this.saved !== null;
  }

  /** Puts the averaged weights into the parameters; called again, puts the trained ones back. */
  swap(): void {
    noGrad(() => {
      if (this.saved) {
        for (const [p, v] of this.saved) p.assign(v);
        this.saved = null;
        return;
      }
      const avg = this.averaged();
      const saved = new Map<Parameter, Tensor>();
      for (const [n, p] of this.params) {
        saved.set(p, detach(p));
        p.assign(avg[n]!);
      }
      this.saved = saved;
    });
  }

  /** Runs fn with the averaged weights in the parameters and restores the trained ones after (also after a throw or a rejected promise). */
  withAveraged<T>(fn: () => T): T {
    if (this.saved) throw new ConfigError("WeightEma.withAveraged: the averaged weights are already swapped in");
    this.swap();
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.swap();
      throw e;
    }
    if (result instanceof Promise) return result.finally(() => this.swap()) as T;
    this.swap();
    return result;
  }

  stateDict(): WeightEmaStateDict {
    return {
      tensors: { ...(this.state.slots.v ?? {}) },
      meta: { format: "descent-weight-ema/1", beta: this.beta, biasCorrection: this.biasCorrection, counts: { ...this.state.counts } },
    };
  }

  loadStateDict(dict: WeightEmaStateDict): void {
    const { meta, tensors } = dict;
    if (meta?.format !== "descent-weight-ema/1") throw new ConfigError(`WeightEma.loadStateDict: not a weight-average state (format ${preview(meta?.format)})`);
    if (meta.beta !== this.beta || meta.biasCorrection !== this.biasCorrection) {
      throw new ConfigError(`WeightEma.loadStateDict: saved with beta ${meta.beta}, biasCorrection ${meta.biasCorrection}; this one has beta ${this.beta}, biasCorrection ${this.biasCorrection}`);
    }
    const names = this.params.map(([n]) => n);
    const missing = names.filter((n) => !(n in tensors));
    const extra = Object.keys(tensors).filter((n) => !names.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new ConfigError(`WeightEma.loadStateDict: the state is for other parameters: missing ${preview(missing)}; extra ${preview(extra)}`);
    }
    const v: Record<string, Tensor> = {};
    for (const [n, p] of this.params) {
      const t = tensors[n]!;
      if (!sameShape(t.shape, p.shape)) throw new ShapeError(`WeightEma.loadStateDict: "${n}" has shape ${fmtShape(t.shape)}, the parameter has ${fmtShape(p.shape)}`);
      v[n] = t;
    }
    const counts = Object.fromEntries(names.map((n) => [n, checkNumber(`count of ${n}`, meta.counts[n], { min: 0, integer: true })]));
    this.state = makeState({ slots: { v }, counts });
    this.averages = this.biasCorrection
      ? noGrad(() => Object.fromEntries(names.filter((n) => counts[n]! > 0).map((n) => [n, v[n]!.div(1 - this.beta ** counts[n]!)])))
      : v;
  }

  private values(): TensorTree {
    return Object.fromEntries(this.params);
  }

  private copyState(values: TensorTree): OptState {
    const v = Object.fromEntries(Object.entries(values).map(([n, p]) => [n, detach(p)]));
    return makeState({ slots: { v }, counts: Object.fromEntries(Object.keys(values).map((n) => [n, 0])) });
  }
}
