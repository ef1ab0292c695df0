/**
 * createSchedule: any schedule from a JSON spec, for the CLI and config files:
 *
 *   { "type": "exponential", "gamma": 0.95 }
 *   { "type": "warmup", "warmupEpochs": 5, "then": { "type": "cosine", "tMax": 95 } }
 *   { "type": "reduceOnPlateau", "factor": 0.5, "patience": 2 }
 *   { "type": "oneCycle", "totalSteps": 10000, "interval": "step" }
 *
 * `lr0` may be left out: it is then the optimizer's lr, passed as the second argument. Attribute
 * names are those of the schedule constructors (and of the conformance cases); unknown ones are
 * refused, naming the allowed ones.
 */
import { ConfigError } from "../errors/errors.js";
import { checkKeys, fmt } from "../optim/validate.js";
import { ReduceOnPlateau, type ReduceOnPlateauOptions } from "./plateau.js";
import {
  constantSchedule, cosineAnnealing, exponentialDecay, inverseTimeDecay, linearWarmup, multiStepDecay, oneCycle, stepDecay, warmupCosine,
  type ConstantOptions, type CosineOptions, type ExponentialOptions, type InverseTimeOptions, type MultiStepOptions, type OneCycleOptions,
  type Schedule, type StepDecayOptions, type WarmupCosineOptions,
} from "./schedules.js";

type WithoutLr<T> = Omit<T, "lr0"> & { lr0?: number };
/** A length that a config may leave out: it is then the run's length (see withRunLength). */
type WithoutLength<T, K extends keyof T> = Omit<T, K> & { [P in K]?: T[P] };

export type ScheduleSpec =
  | ({ type: "constant" } & WithoutLr<ConstantOptions>)
  | ({ type: "inverseTime" } & WithoutLr<InverseTimeOptions>)
  | ({ type: "exponential" } & WithoutLr<ExponentialOptions>)
  | ({ type: "step" } & WithoutLr<StepDecayOptions>)
  | ({ type: "multiStep" } & WithoutLr<MultiStepOptions>)
  | ({ type: "cosine" } & WithoutLength<WithoutLr<CosineOptions>, "tMax">)
  | ({ type: "warmupCosine" } & WithoutLength<WithoutLr<WarmupCosineOptions>, "totalEpochs">)
  | ({ type: "oneCycle" } & WithoutLength<WithoutLr<OneCycleOptions>, "totalSteps">)
  | ({ type: "reduceOnPlateau" } & WithoutLr<ReduceOnPlateauOptions>)
  | { type: "warmup"; warmupEpochs: number; then: ScheduleSpec; lr0?: number };

export type ScheduleType = ScheduleSpec["type"];

export const SCHEDULE_TYPES: readonly ScheduleType[] = [
  "constant", "inverseTime", "exponential", "step", "multiStep", "cosine", "warmupCosine", "warmup", "oneCycle", "reduceOnPlateau",
];

const KEYS: Record<ScheduleType, readonly string[]> = {
  constant: ["lr0"],
  inverseTime: ["lr0", "decayRate"],
  exponential: ["lr0", "gamma"],
  step: ["lr0", "stepSize", "gamma"],
  multiStep: ["lr0", "milestones", "gamma"],
  cosine: ["lr0", "tMax", "etaMin"],
  warmupCosine: ["lr0", "warmupEpochs", "totalEpochs", "etaMin"],
  warmup: ["lr0", "warmupEpochs", "then"],
  oneCycle: ["lr0", "totalSteps", "pctStart", "divFactor", "finalDivFactor", "annealStrategy", "threePhase"],
  reduceOnPlateau: ["lr0", "mode", "factor", "patience", "threshold", "thresholdMode", "cooldown", "minLr", "eps"],
};

/**
 * The schedules whose length can follow the run: the field, and the unit it counts in by default
 * (an "interval" in the spec changes the unit).
 */
const LENGTHS = {
  cosine: { key: "tMax", interval: "epoch" },
  warmupCosine: { key: "totalEpochs", interval: "epoch" },
  oneCycle: { key: "totalSteps", interval: "step" },
} as const;

/** A run's length: its epochs and the optimizer steps of one epoch. */
export interface RunLength {
  epochs: number;
  stepsPerEpoch: number;
}

/**
 * The spec with the length it leaves out filled from the run: cosine's tMax, warmupCosine's
 * totalEpochs and oneCycle's totalSteps become the run's length in epochs or steps (per the
 * interval), and a warm-up's "then" gets the run's length less the warm-up. So a schedule written
 * without its length follows the run's epochs, also when a resumed run is given more of them.
 */
export function withRunLength(spec: ScheduleSpec, run: RunLength): ScheduleSpec {
  const units = (interval: unknown, fallback: "epoch" | "step") => ((interval ?? fallback) === "step" ? run.epochs * run.stepsPerEpoch : run.epochs);
  if (spec.type === "warmup") {
    if (typeof spec.then !== "object" || spec.then === null) return spec;
    const warmup = spec.warmupEpochs;
    return { ...spec, then: fillLength(spec.then, (interval, fallback) => Math.max(units(interval, fallback) - warmup, 0)) };
  }
  return fillLength(spec, units);
}

function fillLength(spec: ScheduleSpec, units: (interval: unknown, fallback: "epoch" | "step") => number): ScheduleSpec {
  if (spec.type !== "cosine" && spec.type !== "warmupCosine" && spec.type !== "oneCycle") return spec;
  const { key, interval } = LENGTHS[spec.type];
  const given = (spec as Record<string, unknown>)[key];
  return given === undefined ? { ...spec, [key]: units(spec.interval, interval) } : spec;
}

/**
 * The length a spec gives itself (explicitly) in epochs or steps, with its unit, or null when it
 * has none or leaves it to the run; for a warm-up, the warm-up plus its "then".
 */
export function explicitLength(spec: ScheduleSpec): { key: string; value: number; unit: "epoch" | "step" } | null {
  if (spec.type === "warmup") {
    const inner = typeof spec.then === "object" && spec.then !== null ? explicitLength(spec.then) : null;
    return inner && { key: `then.${inner.key}`, value: inner.value + spec.warmupEpochs, unit: inner.unit };
  }
  if (spec.type !== "cosine" && spec.type !== "warmupCosine" && spec.type !== "oneCycle") return null;
  const { key, interval } = LENGTHS[spec.type];
  const value = (spec as Record<string, unknown>)[key];
  return typeof value === "number" ? { key, value, unit: (spec.interval ?? interval) === "step" ? "step" : "epoch" } : null;
}

/** Builds a schedule from its spec; `defaultLr` (the optimizer's lr) stands in for a missing lr0. */
export function createSchedule(spec: ScheduleSpec, defaultLr?: number): Schedule {
  if (typeof spec !== "object" || spec === null) throw new ConfigError(`createSchedule: expected a spec object like { "type": "exponential", "gamma": 0.95 }, got ${fmt(spec)}`);
  const type = spec.type;
  if (!SCHEDULE_TYPES.includes(type)) throw new ConfigError(`Unknown schedule type ${fmt(type)} (expected one of ${SCHEDULE_TYPES.join(", ")})`);
  const { type: _type, ...rest } = spec;
  checkKeys(`createSchedule("${type}")`, rest, [...KEYS[type], "interval"]);
  const lr0 = spec.lr0 ?? defaultLr;
  if (lr0 === undefined) throw new ConfigError(`createSchedule("${type}"): no lr0 (give it in the spec, or the optimizer's lr as the default)`);
  const length = (key: string): number => {
    const v = (spec as Record<string, unknown>)[key];
    if (v === undefined) throw new ConfigError(`createSchedule("${type}"): no ${key} (in a config it may be left out: it is then the run's length)`);
    return v as number;
  };
  switch (spec.type) {
    case "constant":
      return constantSchedule({ ...spec, lr0 });
    case "inverseTime":
      return inverseTimeDecay({ ...spec, lr0 });
    case "exponential":
      return exponentialDecay({ ...spec, lr0 });
    case "step":
      return stepDecay({ ...spec, lr0 });
    case "multiStep":
      return multiStepDecay({ ...spec, lr0 });
    case "cosine":
      return cosineAnnealing({ ...spec, lr0, tMax: length("tMax") });
    case "warmupCosine":
      return warmupCosine({ ...spec, lr0, totalEpochs: length("totalEpochs") });
    case "oneCycle":
      return oneCycle({ ...spec, lr0, totalSteps: length("totalSteps") });
    case "reduceOnPlateau":
      return new ReduceOnPlateau({ ...spec, lr0 });
    case "warmup": {
      if (typeof spec.then !== "object" || spec.then === null) throw new ConfigError(`createSchedule("warmup"): "then" must be the spec of the schedule after the warm-up`);
      if ("interval" in spec) throw new ConfigError(`createSchedule("warmup"): give the interval in "then"`);
      return linearWarmup(createSchedule(spec.then, lr0), { warmupEpochs: spec.warmupEpochs });
    }
    default:
      return spec satisfies never;
  }
}
