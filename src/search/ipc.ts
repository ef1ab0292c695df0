/**
 * The messages between the coordinator and its local worker processes (./local.ts, ./child.ts),
 * over Node's IPC channel. Pruning values go up as they are reported, and a worker asks for the
 * values at an epoch ahead of the decision there (see IntermediateStore).
 */
import type { TrialJob } from "./job.js";
import type { TrialRecord } from "./trial.js";

export type ToWorker =
  | { type: "trial"; job: TrialJob; runsDir: string }
  | { type: "values"; epoch: number; values: [number, number][] };

export type FromWorker =
  | { type: "ready" }
  | { type: "report"; trial: number; epoch: number; value: number }
  | { type: "refresh"; epoch: number }
  | { type: "done"; record: TrialRecord };
