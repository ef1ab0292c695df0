/**
 * Strategies: where the next trial goes. Every sampler works in the unit cube of the space
 * (./space.ts) and is a function of the trial's id and the trials finished so far, so a resumed
 * study suggests exactly what the uninterrupted one would have:
 *
 * - grid:         trial i is the i-th point of the cartesian product of every parameter's grid;
 * - random:       each coordinate uniform, from a generator seeded by (seed, id);
 * - coarseToFine: the trials are split into rounds. Round 0 samples the whole box; each later
 *                 round waits for the earlier ones, takes the best `keep` fraction of all trials so
 *                 far, and samples the bounding box of their points, grown by `margin` of the
 *                 previous box's width on each side and kept inside the previous box;
 * - tpe:          the tree-structured Parzen estimator (./tpe.ts) after `startupTrials` random ones.
 */
import { Generator } from "../tensor/random.js";
import { fromUnit, gridValues, paramNames, toUnit, type ParamValue, type Params, type Space } from "./space.js";
import type { Direction, SearchSpec } from "./spec.js";
import { suggestTpe } from "./tpe.js";

export type TrialStatus = "complete" | "pruned" | "failed";

/** What a sampler needs of a finished trial. */
export interface FinishedTrial {
  id: number;
  status: TrialStatus;
  params: Params;
  value: number | null;
}

/** A box in the unit cube, per parameter [low, high]. */
export type UnitBox = Record<string, [number, number]>;

export type Suggestion =
  | { kind: "trial"; params: Params; round: number; box: UnitBox | null }
  /** the next trial depends on trials still running (the next coarse-to-fine round) */
  | { kind: "wait" }
  | { kind: "done" };

export interface Sampler {
  suggest(id: number, finished: readonly FinishedTrial[]): Suggestion;
}

/** The generator of one trial's draws: the same (seed, id) always draws the same numbers. */
export function trialGenerator(seed: number, id: number): Generator {
  return new Generator((Math.imul(seed, 0x9e3779b1) + Math.imul(id + 1, 0x85ebca6b)) >>> 0);
}

/**
 * Finished trials best first: complete trials by their value, then pruned ones (their value is an
 * early epoch's, not comparable with a finished trial's) by theirs; failed trials are left out.
 */
export function rankTrials<T extends FinishedTrial>(finished: readonly T[], direction: Direction): T[] {
  const sign = direction === "maximize" ? -1 : 1;
  const order = (t: T) => (t.status === "complete" ? 0 : 1);
  return finished
    .filter((t) => t.status !== "failed" && t.value !== null && Number.isFinite(t.value))
    .sort((a, b) => order(a) - order(b) || sign * (a.value! - b.value!) || a.id - b.id);
}

export function unitPoint(space: Space, params: Params): Record<string, number> {
  return Object.fromEntries(paramNames(space).map((n) => [n, toUnit(space[n]!, params[n]!)]));
}

function paramsInBox(space: Space, box: UnitBox | null, rng: Generator): Params {
  const params: Params = {};
  for (const name of paramNames(space)) {
    const [lo, hi] = box?.[name] ?? [0, 1];
    params[name] = fromUnit(space[name]!, lo + rng.uniform() * (hi - lo));
  }
  return params;
}

export class GridSampler implements Sampler {
  private readonly axes: [string, ParamValue[]][];
  readonly size: number;

  constructor(space: Space, defaultPoints: number) {
    this.axes = paramNames(space).map((n) => [n, gridValues(space[n]!, defaultPoints)]);
    this.size = this.axes.reduce((n, [, v]) => n * v.length, 1);
  }

  /** The id-th point: the last parameter varies fastest. */
  point(id: number): Params {
    const values: ParamValue[] = [];
    let rest = id;
    for (let i = this.axes.length - 1; i >= 0; i--) {
      const axis = this.axes[i]![1];
      values[i] = axis[rest % axis.length]!;
      rest = Math.floor(rest / axis.length);
    }
    return Object.fromEntries(this.axes.map(([name], i) => [name, values[i]!]));
  }

  suggest(id: number): Suggestion {
    return id < this.size ? { kind: "trial", params: this.point(id), round: 0, box: null } : { kind: "done" };
  }
}

export class RandomSampler implements Sampler {
  constructor(private readonly space: Space, private readonly seed: number, private readonly trials: number) {}

  suggest(id: number): Suggestion {
    if (id >= this.trials) return { kind: "done" };
    return { kind: "trial", params: paramsInBox(this.space, null, trialGenerator(this.seed, id)), round: 0, box: null };
  }
}

export class CoarseToFineSampler implements Sampler {
  private readonly perRound: number;

  constructor(private readonly spec: SearchSpec) {
    this.perRound = Math.ceil(spec.trials / spec.coarseToFine.rounds);
  }

  roundOf(id: number): number {
    return Math.floor(id / this.perRound);
  }

  /** The box of a round, from the trials of the rounds before it (all finished). */
  box(round: number, finished: readonly FinishedTrial[]): UnitBox {
    const names = paramNames(this.spec.space);
    let box: UnitBox = Object.fromEntries(names.map((n) => [n, [0, 1] as [number, number]]));
    for (let r = 1; r <= round; r++) {
      const earlier = finished.filter((t) => this.roundOf(t.id) < r);
      const ranked = rankTrials(earlier, this.spec.direction);
      if (ranked.length === 0) continue;
      const best = ranked.slice(0, Math.max(2, Math.ceil(this.spec.coarseToFine.keep * ranked.length)));
      const points = best.map((t) => unitPoint(this.spec.space, t.params));
      const next: UnitBox = {};
      for (const n of names) {
        const [plo, phi] = box[n]!;
        const pad = this.spec.coarseToFine.margin * (phi - plo);
        const lo = Math.min(...points.map((p) => p[n]!)) - pad;
        const hi = Math.max(...points.map((p) => p[n]!)) + pad;
        next[n] = [Math.max(plo, lo), Math.min(phi, hi)];
      }
      box = next;
    }
    return box;
  }

  suggest(id: number, finished: readonly FinishedTrial[]): Suggestion {
    if (id >= this.spec.trials) return { kind: "done" };
    const round = this.roundOf(id);
    const before = round * this.perRound;
    if (finished.filter((t) => t.id < before).length < before) return { kind: "wait" };
    const box = this.box(round, finished);
    return { kind: "trial", params: paramsInBox(this.spec.space, box, trialGenerator(this.spec.seed, id)), round, box };
  }
}

export class TpeSampler implements Sampler {
  constructor(private readonly spec: SearchSpec) {}

  suggest(id: number, finished: readonly FinishedTrial[]): Suggestion {
    if (id >= this.spec.trials) return { kind: "done" };
    const rng = trialGenerator(this.spec.seed, id);
    const ranked = rankTrials(finished, this.spec.direction);
    if (ranked.length < this.spec.tpe.startupTrials) return { kind: "trial", params: paramsInBox(this.spec.space, null, rng), round: 0, box: null };
    return { kind: "trial", params: suggestTpe(this.spec.space, ranked, this.spec.tpe, rng), round: 0, box: null };
  }
}

export function createSampler(spec: SearchSpec): Sampler {
  switch (spec.strategy) {
    case "grid":
      return new GridSampler(spec.space, spec.gridPoints);
    case "random":
      return new RandomSampler(spec.space, spec.seed, spec.trials);
    case "coarseToFine":
      return new CoarseToFineSampler(spec);
    case "tpe":
      return new TpeSampler(spec);
    default:
      return spec.strategy satisfies never;
  }
}
