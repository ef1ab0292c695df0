/**
 * The tree-structured Parzen estimator (Bergstra et al. 2011), independent per parameter, as
 * Optuna's default sampler does it. The trials so far, best first, are split into a good group
 * (the best gamma fraction, at least one) and the rest. For each parameter, in the unit cube:
 *
 *   l(x) = density of the good trials' values, g(x) = density of the others',
 *
 * each a Parzen mixture of Gaussians truncated to [0, 1], one per trial (bandwidth: the larger
 * distance to its neighbours, clipped to [1 / min(100, n + 1), 1]) plus a wide prior component
 * N(0.5, 1) of weight 1 / (n + 1); a choice gets smoothed counts instead, (count + 1) / (n + K).
 * `candidates` points are drawn from l, and the one with the largest sum of log l(x) - log g(x)
 * over the parameters (the expected improvement, up to a monotone map) is the next trial.
 */
import type { Generator } from "../tensor/random.js";
import { fromUnit, paramNames, toUnit, type Distribution, type Params, type Space } from "./space.js";
import type { FinishedTrial } from "./samplers.js";

export interface TpeOptions {
  gamma: number;
  candidates: number;
}

/** erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), enough for mixture weights. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

const normalCdf = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));

interface Parzen {
  mus: number[];
  sigmas: number[];
  weights: number[];
  /** the mass of each component inside [0, 1] */
  masses: number[];
}

function parzen(values: readonly number[]): Parzen {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  const minSigma = 1 / Math.min(100, n + 1);
  const sigmas = values.map((v) => {
    const i = sorted.indexOf(v);
    const left = i > 0 ? sorted[i - 1]! : 0;
    const right = i < n - 1 ? sorted[i + 1]! : 1;
    return Math.min(1, Math.max(minSigma, v - left, right - v));
  });
  const mus = [...values, 0.5];
  const allSigmas = [...sigmas, 1];
  const weights = mus.map(() => 1 / (n + 1));
  const masses = mus.map((m, i) => normalCdf((1 - m) / allSigmas[i]!) - normalCdf(-m / allSigmas[i]!));
  return { mus, sigmas: allSigmas, weights, masses };
}

function density(p: Parzen, x: number): number {
  let d = 0;
  for (let i = 0; i < p.mus.length; i++) {
    const z = (x - p.mus[i]!) / p.sigmas[i]!;
    d += (p.weights[i]! * Math.exp(-0.5 * z * z)) / (p.sigmas[i]! * Math.sqrt(2 * Math.PI) * p.masses[i]!);
  }
  return d;
}

function sampleParzen(p: Parzen, rng: Generator): number {
  const k = rng.int(p.mus.length);
  for (let tries = 0; tries < 100; tries++) {
    const x = p.mus[k]! + p.sigmas[k]! * rng.normal();
    if (x >= 0 && x <= 1) return x;
  }
  return Math.min(1, Math.max(0, p.mus[k]!));
}

/** One parameter's two densities and a way to draw from the good one. */
interface Axis {
  draw(rng: Generator): number;
  score(u: number): number;
}

function numericAxis(good: number[], bad: number[]): Axis {
  const l = parzen(good);
  const g = parzen(bad);
  return { draw: (rng) => sampleParzen(l, rng), score: (u) => Math.log(density(l, u)) - Math.log(density(g, u)) };
}

function choiceAxis(d: Extract<Distribution, { type: "choice" }>, good: number[], bad: number[]): Axis {
  const k = d.values.length;
  const index = (u: number) => Math.min(k - 1, Math.floor(u * k));
  const probs = (us: number[]) => {
    const counts = new Array<number>(k).fill(1);
    for (const u of us) counts[index(u)]!++;
    return counts.map((c) => c / (us.length + k));
  };
  const pl = probs(good);
  const pg = probs(bad);
  return {
    draw: (rng) => {
      let r = rng.uniform();
      for (let i = 0; i < k; i++) {
        r -= pl[i]!;
        if (r <= 0) return (i + 0.5) / k;
      }
      return (k - 0.5) / k;
    },
    score: (u) => Math.log(pl[index(u)]!) - Math.log(pg[index(u)]!),
  };
}

/** The next trial's values, from the finished trials ranked best first (rankTrials). */
export function suggestTpe(space: Space, ranked: readonly FinishedTrial[], options: TpeOptions, rng: Generator): Params {
  const nGood = Math.max(1, Math.ceil(options.gamma * ranked.length));
  const names = paramNames(space);
  const axes = names.map((name) => {
    const d = space[name]!;
    const units = ranked.map((t) => toUnit(d, t.params[name]!)).filter((u) => Number.isFinite(u));
    const good = units.slice(0, nGood);
    const bad = units.slice(nGood);
    return d.type === "choice" ? choiceAxis(d, good, bad) : numericAxis(good, bad);
  });
  let best: number[] = [];
  let bestScore = -Infinity;
  for (let c = 0; c < options.candidates; c++) {
    const point = axes.map((a) => a.draw(rng));
    const score = point.reduce((s, u, i) => s + axes[i]!.score(u), 0);
    if (score > bestScore) {
      bestScore = score;
      best = point;
    }
  }
  return Object.fromEntries(names.map((name, i) => [name, fromUnit(space[name]!, best[i]!)]));
}
