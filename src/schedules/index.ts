/** Public exports of src/schedules: learning-rate schedules as functions of the epoch or step. */
export {
  constantSchedule, inverseTimeDecay, exponentialDecay, stepDecay, multiStepDecay, cosineAnnealing, linearWarmup, warmupCosine, oneCycle,
  learningRateOf,
} from "./schedules.js";
export type {
  Schedule, ScheduleInterval, ScheduleStateDict, ScheduleBaseOptions, ConstantOptions, InverseTimeOptions, ExponentialOptions, StepDecayOptions,
  MultiStepOptions, CosineOptions, LinearWarmupOptions, WarmupCosineOptions, OneCycleOptions, ScheduledLearningRate,
} from "./schedules.js";
export { ReduceOnPlateau, reduceOnPlateau } from "./plateau.js";
export type { ReduceOnPlateauOptions } from "./plateau.js";
export { createSchedule, SCHEDULE_TYPES, withRunLength, explicitLength } from "./create.js";
export type { ScheduleSpec, ScheduleType, RunLength } from "./create.js";
