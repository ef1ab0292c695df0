/**
 * Learning-rate schedules. A schedule maps a counter t = 0, 1, 2, ... to a learning rate; t
 * counts epochs or optimizer steps, as its `interval` says ("epoch" by default, "step" for
 * oneCycle). As in Optax, a schedule is fed into the optimizer's chain as a function of the step
 * (`learningRateOf(schedule, stepsPerEpoch)` given as the optimizer's lr), so the rate has one
 * source: the schedule. Schedules never touch an optimizer.
 *
 * All but reduceOnPlateau are pure: `lrAt(t)` depends on t alone (closed forms, as PyTorch's
 * `_get_closed_form_lr`), so their checkpoint state is the counter the loop already keeps plus
 * the spec in `stateDict()`. reduceOnPlateau (plateau.ts) is fed a metric and keeps state.
 * `createSchedule(spec)` (create.ts) builds any of them from a JSON spec.
 */
import { ConfigError } from "../errors/errors.js";
import { checkLr, checkNumber, fmt } from "../optim/validate.js";

export type ScheduleInterval = "epoch" | "step";

/** What a schedule saves in a checkpoint: its type, interval and spec (and, if stateful, its state). */
export interface ScheduleStateDict {
  type: string;
  interval: ScheduleInterval;
  spec: Record<string, unknown>;
  state?: Record<string, number | string | boolean | null>;
}

export interface Schedule {
  readonly type: string;
  readonly interval: ScheduleInterval;
  /** The learning rate for epoch or step t (t >= 0, counted from 0 as `interval` says). */
  lrAt(t: number): number;
  stateDict(): ScheduleStateDict;
  loadStateDict(state: ScheduleStateDict): void;
}

export interface ScheduleBaseOptions {
  /** Whether t counts epochs (default) or optimizer steps. */
  interval?: ScheduleInterval;
}

/** A schedule as the function of the optimizer's step count that scaleByLearningRate takes. */
export interface ScheduledLearningRate {
  (count: number): number;
  readonly schedule: Schedule;
  /** The optimizer steps in one epoch, which turn a step count into an epoch. */
  readonly stepsPerEpoch: number;
  /** A rate set by hand (steering a live run) that replaces the schedule's while it is a number. */
  handSet: number | null;
}

/**
 * The learning rate of optimizer step `count` (0 on the first update): lrAt(count) for a per-step
 * schedule, lrAt(⌊count / stepsPerEpoch⌋) for a per-epoch one (reduceOnPlateau gives its current
 * rate whatever the count). Give it as the optimizer's `lr`:
 *
 *   createOptimizer("adam", model, { lr: learningRateOf(cosineAnnealing({ lr0: 1e-3, tMax: 10 }), loader.numBatches) })
 */
export function learningRateOf(schedule: Schedule, stepsPerEpoch: number): ScheduledLearningRate {
  const perEpoch = checkNumber("stepsPerEpoch", stepsPerEpoch, { min: 1, integer: true });
  const fn: ScheduledLearningRate = Object.assign(
    (count: number): number => fn.handSet ?? schedule.lrAt(schedule.interval === "step" ? count : Math.floor(count / perEpoch)),
    { schedule, stepsPerEpoch: perEpoch, handSet: null },
  );
  return fn;
}

export function checkInterval(value: unknown, fallback: ScheduleInterval): ScheduleInterval {
  const v = value ?? fallback;
  if (v !== "epoch" && v !== "step") throw new ConfigError(`Invalid interval: ${fmt(v)} (expected "epoch" or "step")`);
  return v;
}

function checkT(type: string, t: number): void {
  if (!(Number.isFinite(t) && t >= 0)) throw new ConfigError(`${type}.lrAt: invalid t ${fmt(t)} (expected a finite number >= 0)`);
}

/** A pure schedule: lrAt is a closed form of t. */
class ClosedFormSchedule implements Schedule {
  constructor(
    readonly type: string,
    readonly interval: ScheduleInterval,
    private readonly spec: Record<string, unknown>,
    private readonly fn: (t: number) => number,
  ) {}

  lrAt(t: number): number {
    checkT(this.type, t);
    return this.fn(t);
  }

  stateDict(): ScheduleStateDict {
    return { type: this.type, interval: this.interval, spec: structuredClone(this.spec) };
  }

  loadStateDict(state: ScheduleStateDict): void {
    if (state.type !== this.type || state.interval !== this.interval) {
      throw new ConfigError(`loadStateDict: the state is of a ${state.type} schedule per ${state.interval}, this is ${this.type} per ${this.interval}`);
    }
  }
}

const lr0Of = (o: { lr0: number }): number => checkLr(o.lr0, "lr0");
const positiveInt = (name: string, v: unknown): number => checkNumber(name, v, { min: 1, integer: true });

export interface ConstantOptions extends ScheduleBaseOptions {
  lr0: number;
}

/** α_t = α0. */
export function constantSchedule(options: ConstantOptions): Schedule {
  const lr0 = lr0Of(options);
  return new ClosedFormSchedule("constant", checkInterval(options.interval, "epoch"), { lr0 }, () => lr0);
}

export interface InverseTimeOptions extends ScheduleBaseOptions {
  lr0: number;
  decayRate: number;
}

/** α_t = α0 / (1 + d·t), d = decayRate. */
export function inverseTimeDecay(options: InverseTimeOptions): Schedule {
  const lr0 = lr0Of(options);
  const d = checkNumber("decayRate", options.decayRate, { min: 0 });
  return new ClosedFormSchedule("inverseTime", checkInterval(options.interval, "epoch"), { lr0, decayRate: d }, (t) => lr0 / (1 + d * t));
}

export interface ExponentialOptions extends ScheduleBaseOptions {
  lr0: number;
  gamma: number;
}

/** α_t = γ^t · α0 (e.g. 0.95^epoch · α0; PyTorch's ExponentialLR). */
export function exponentialDecay(options: ExponentialOptions): Schedule {
  const lr0 = lr0Of(options);
  const gamma = checkNumber("gamma", options.gamma, { min: 0, minOpen: true });
  return new ClosedFormSchedule("exponential", checkInterval(options.interval, "epoch"), { lr0, gamma }, (t) => lr0 * gamma ** t);
}

export interface StepDecayOptions extends ScheduleBaseOptions {
  lr0: number;
  stepSize: number;
  gamma?: number;
}

/** α_t = α0 · γ^⌊t / stepSize⌋ (PyTorch's StepLR, default γ 0.1). */
export function stepDecay(options: StepDecayOptions): Schedule {
  const lr0 = lr0Of(options);
  const stepSize = positiveInt("stepSize", options.stepSize);
  const gamma = checkNumber("gamma", options.gamma ?? 0.1, { min: 0, minOpen: true });
  return new ClosedFormSchedule("step", checkInterval(options.interval, "epoch"), { lr0, stepSize, gamma }, (t) => lr0 * gamma ** Math.floor(t / stepSize));
}

export interface MultiStepOptions extends ScheduleBaseOptions {
  lr0: number;
  milestones: readonly number[];
  gamma?: number;
}

/**
 * α_t = α0 · γ^k, k the number of milestones <= t (PyTorch's MultiStepLR: a milestone listed
 * twice counts twice; order does not matter). Default γ 0.1.
 */
export function multiStepDecay(options: MultiStepOptions): Schedule {
  const lr0 = lr0Of(options);
  if (!Array.isArray(options.milestones)) throw new ConfigError(`Invalid milestones: ${fmt(options.milestones)} (expected a list of epochs)`);
  const milestones = options.milestones.map((m, i) => checkNumber(`milestones[${i}]`, m, { min: 0, integer: true })).sort((a, b) => a - b);
  const gamma = checkNumber("gamma", options.gamma ?? 0.1, { min: 0, minOpen: true });
  return new ClosedFormSchedule("multiStep", checkInterval(options.interval, "epoch"), { lr0, milestones, gamma }, (t) => lr0 * gamma ** milestones.filter((m) => m <= t).length);
}

export interface CosineOptions extends ScheduleBaseOptions {
  lr0: number;
  tMax: number;
  etaMin?: number;
}

/**
 * α_t = η_min + (α0 − η_min)·(1 + cos(π·t / T_max)) / 2 (PyTorch's CosineAnnealingLR, closed
 * form). Past T_max the cosine keeps going, back up toward α0, as the closed form does.
 */
export function cosineAnnealing(options: CosineOptions): Schedule {
  const lr0 = lr0Of(options);
  const tMax = checkNumber("tMax", options.tMax, { min: 0, minOpen: true });
  const etaMin = checkLr(options.etaMin ?? 0, "etaMin");
  return new ClosedFormSchedule("cosine", checkInterval(options.interval, "epoch"), { lr0, tMax, etaMin }, (t) => etaMin + ((lr0 - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2);
}

export interface LinearWarmupOptions {
  /** W: how many epochs (or steps, per the inner schedule's interval) the warm-up lasts. */
  warmupEpochs: number;
}

/**
 * Linear warm-up joined to any schedule s: α_t = s(0)·(t + 1) / W for t < W, then s(t − W).
 * The first epoch already trains (at s(0)/W), and epoch W − 1 reaches s(0).
 */
export function linearWarmup(after: Schedule, options: LinearWarmupOptions): Schedule {
  const w = checkNumber("warmupEpochs", options.warmupEpochs, { min: 0, integer: true });
  const spec = { warmupEpochs: w, then: after.stateDict().spec };
  return new ClosedFormSchedule("warmup", after.interval, spec, (t) => (t < w ? (after.lrAt(0) * (t + 1)) / w : after.lrAt(t - w)));
}

export interface WarmupCosineOptions extends ScheduleBaseOptions {
  lr0: number;
  warmupEpochs: number;
  totalEpochs: number;
  etaMin?: number;
}

/**
 * Linear warm-up for W epochs, then cosine annealing from α0 to η_min over the remaining
 * T − W epochs: α_t = α0·(t + 1)/W for t < W, else η_min + (α0 − η_min)(1 + cos(π(t − W)/(T − W)))/2.
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const lr0 = lr0Of(options);
  const w = checkNumber("warmupEpochs", options.warmupEpochs, { min: 0, integer: true });
  const total = checkNumber("totalEpochs", options.totalEpochs, { min: w, minOpen: true, integer: true });
  const etaMin = checkLr(options.etaMin ?? 0, "etaMin");
  const interval = checkInterval(options.interval, "epoch");
  const inner = linearWarmup(cosineAnnealing({ lr0, tMax: total - w, etaMin, interval }), { warmupEpochs: w });
  return new ClosedFormSchedule("warmupCosine", interval, { lr0, warmupEpochs: w, totalEpochs: total, etaMin }, (t) => inner.lrAt(t));
}

export interface OneCycleOptions extends ScheduleBaseOptions {
  /** The peak learning rate (maxLr). */
  lr0: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  annealStrategy?: "cos" | "linear";
  threePhase?: boolean;
}

/**
 * The 1cycle policy (PyTorch's OneCycleLR, learning rate only), per step by default: from
 * α0/divFactor up to α0 over the first pctStart of totalSteps, then down to
 * α0/(divFactor·finalDivFactor) (threePhase: back to α0/divFactor first, then down). Each phase
 * anneals by cosine, a + (b − a)(1 − cos(π·p))/2, or linearly, a + (b − a)·p, over its fraction p.
 * Defaults: pctStart 0.3, divFactor 25, finalDivFactor 1e4, "cos". t > totalSteps is refused.
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  const maxLr = lr0Of(options);
  const total = positiveInt("totalSteps", options.totalSteps);
  const pct = checkNumber("pctStart", options.pctStart ?? 0.3, { min: 0, max: 1, minOpen: true, maxOpen: true });
  const div = checkNumber("divFactor", options.divFactor ?? 25, { min: 0, minOpen: true });
  const finalDiv = checkNumber("finalDivFactor", options.finalDivFactor ?? 1e4, { min: 0, minOpen: true });
  const strategy = options.annealStrategy ?? "cos";
  if (strategy !== "cos" && strategy !== "linear") throw new ConfigError(`Invalid annealStrategy: ${fmt(strategy)} (expected "cos" or "linear")`);
  const threePhase = options.threePhase ?? false;
  const initial = maxLr / div;
  const minLr = initial / finalDiv;
  const phases = threePhase
    ? [
        { end: pct * total - 1, from: initial, to: maxLr },
        { end: 2 * pct * total - 2, from: maxLr, to: initial },
        { end: total - 1, from: initial, to: minLr },
      ]
    : [
        { end: pct * total - 1, from: initial, to: maxLr },
        { end: total - 1, from: maxLr, to: minLr },
      ];
  const anneal = (a: number, b: number, p: number): number => (strategy === "cos" ? b + ((a - b) / 2) * (Math.cos(Math.PI * p) + 1) : (b - a) * p + a);
  const spec = { lr0: maxLr, totalSteps: total, pctStart: pct, divFactor: div, finalDivFactor: finalDiv, annealStrategy: strategy, threePhase };
  return new ClosedFormSchedule("oneCycle", checkInterval(options.interval, "step"), spec, (t) => {
    if (t > total) throw new ConfigError(`oneCycle.lrAt: step ${t} is past totalSteps ${total}`);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i]!;
      if (t <= ph.end || i === phases.length - 1) return anneal(ph.from, ph.to, (t - start) / (ph.end - start));
      start = ph.end;
    }
    return minLr;
  });
}
