/**
 * Pruning: stopping bad trials early from the metric each trial reports after every epoch.
 *
 * - asha (asynchronous successive halving, Li et al. 2018): rungs at epochs minEpochs * eta^k.
 *   A trial that reaches a rung goes on only if its value is among the best 1/eta of the values
 *   every trial reported there so far (itself included; with fewer than eta values the best one
 *   goes on). Nobody waits for a rung to fill, so it suits workers that finish at any time.
 * - median: from warmupEpochs on, a trial stops when its value is worse than the median of the
 *   other trials' values at the same epoch (once minTrials others have reported there).
 *
 * The values live in an IntermediateStore shared by the study's trials: in memory in one process;
 * in the coordinator for local worker processes (asked over IPC); in Redis for queue workers. A
 * decision is synchronous (it runs inside the fit loop's epoch callback), so a remote store keeps a
 * local copy, refreshed in the background ahead of the next epoch where a decision falls.
 */
import type { Direction, PrunerSpec } from "./spec.js";

/** Values reported by the trials of a study, by epoch (1-based) and trial id. */
export interface IntermediateStore {
  report(trial: number, epoch: number, value: number): void;
  /** the values at an epoch as known now (a remote store: as of the last refresh) */
  valuesAt(epoch: number): ReadonlyMap<number, number>;
  /** starts fetching the values at an epoch (a no-op where the store is local) */
  refresh(epoch: number): void;
}

export class MemoryStore implements IntermediateStore {
  private readonly byEpoch = new Map<number, Map<number, number>>();

  report(trial: number, epoch: number, value: number): void {
    let m = this.byEpoch.get(epoch);
    if (!m) this.byEpoch.set(epoch, (m = new Map()));
    m.set(trial, value);
  }

  valuesAt(epoch: number): ReadonlyMap<number, number> {
    return this.byEpoch.get(epoch) ?? new Map();
  }

  refresh(): void {}

  /** Replaces the values at an epoch with a fetched copy. */
  replace(epoch: number, values: ReadonlyMap<number, number>): void {
    const m = new Map(values);
    for (const [t, v] of this.byEpoch.get(epoch) ?? []) if (!m.has(t)) m.set(t, v);
    this.byEpoch.set(epoch, m);
  }
}

/** Whether `a` is a better value than `b`. */
const better = (direction: Direction, a: number, b: number) => (direction === "maximize" ? a > b : a < b);

/** The epochs (1-based, before the last) at which the pruner decides. */
export function decisionEpochs(spec: PrunerSpec, epochs: number): number[] {
  switch (spec.type) {
    case "none":
      return [];
    case "asha": {
      const rungs: number[] = [];
      for (let e = spec.minEpochs; e < epochs; e *= spec.reductionFactor) rungs.push(e);
      return rungs;
    }
    case "median":
      return Array.from({ length: epochs - 1 }, (_, i) => i + 1).filter((e) => e >= Math.max(1, spec.warmupEpochs));
    default:
      return spec satisfies never;
  }
}

/** The pruner's verdict for a trial whose value at a decision epoch is `value`, given the others' values there. */
export function shouldPrune(spec: PrunerSpec, direction: Direction, value: number, others: readonly number[]): boolean {
  if (!Number.isFinite(value)) return true;
  switch (spec.type) {
    case "none":
      return false;
    case "asha": {
      const all = [...others, value].sort((a, b) => (better(direction, a, b) ? -1 : better(direction, b, a) ? 1 : 0));
      const promotable = Math.max(0, Math.floor(all.length / spec.reductionFactor) - 1);
      return better(direction, all[promotable]!, value);
    }
    case "median": {
      if (others.length < spec.minTrials) return false;
      const s = [...others].sort((a, b) => a - b);
      const mid = s.length / 2;
      const median = s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
      return better(direction, median, value);
    }
    default:
      return spec satisfies never;
  }
}

/**
 * One trial's side of pruning: it records each epoch's value in the store and answers whether
 * the trial should stop there.
 */
export class TrialReporter {
  private readonly decisions: number[];
  readonly values: number[] = [];
  prunedAt: number | null = null;

  constructor(
    readonly trial: number,
    private readonly spec: PrunerSpec,
    private readonly direction: Direction,
    private readonly store: IntermediateStore,
    epochs: number,
  ) {
    this.decisions = decisionEpochs(spec, epochs);
    if (this.decisions[0] !== undefined) store.refresh(this.decisions[0]);
  }

  /** Records the value after `epoch` (1-based) without a decision. */
  record(value: number, epoch: number): void {
    this.values[epoch - 1] = value;
    this.store.report(this.trial, epoch, value);
  }

  /** Records the value after `epoch` (1-based; default: the next); true when the trial should stop. */
  report(value: number, epoch = this.values.length + 1): boolean {
    this.record(value, epoch);
    if (this.prunedAt !== null) return true;
    const next = this.decisions.find((e) => e > epoch);
    if (next !== undefined) this.store.refresh(next);
    if (!this.decisions.includes(epoch)) return false;
    const others = [...this.store.valuesAt(epoch)].filter(([t]) => t !== this.trial).map(([, v]) => v);
    if (shouldPrune(this.spec, this.direction, value, others)) this.prunedAt = epoch;
    return this.prunedAt !== null;
  }
}
