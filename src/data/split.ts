/**
 * Train / dev / test splits: seeded, by fractions or counts, optionally stratified by label, with
 * default ratios that follow the size of the data set.
 *
 * Default ratios (the study notes' rule: the dev and test sets only need to be big enough to tell
 * models apart, so their share shrinks as the data grows). With n samples, the held-out share
 * h = dev + test is
 *
 *   h(n) = 0.4                                  for n <= 10,000           (60 / 20 / 20)
 *   h(n) = 0.4 * 0.05^((log10(n) - 4) / 2)      for 10,000 < n < 10^6     (geometric interpolation)
 *   h(n) = 0.02                                 for n >= 1,000,000        (98 / 1 / 1)
 *
 * split evenly between dev and test. Interpolating h geometrically in log n makes the held-out
 * count n*h grow steadily (as n^0.35) instead of overshooting: 100,000 samples give about
 * 91 / 4.5 / 4.5 (4,472 dev samples, between 2,000 at 10k and 10,000 at 1M).
 *
 * Stratification: the samples of each class c (n_c of them, in seeded random order) get keys
 * (i + u_c) / n_c for i = 0..n_c-1 with u_c uniform in [0, 1); all samples sorted by key form one
 * sequence in which every prefix holds each class in proportion (within one sample), and the
 * sequence is cut into train, dev and test. Every part then holds about n_c * fraction samples of
 * class c, and the totals are exactly the requested counts.
 */
import { ConfigError, DTypeError } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import { hostValues, subset, type Dataset } from "./dataset.js";

export interface SplitRatios {
  readonly train: number;
  readonly dev: number;
  readonly test: number;
}

export interface SplitOptions {
  /**
   * The sizes of the parts: numbers in [0, 1] that sum to at most 1 are fractions of the data;
   * otherwise they are integer counts. Parts left out share what remains equally; with none
   * given, the default ratios for the data's size apply (see defaultSplitRatios).
   */
  train?: number | undefined;
  dev?: number | undefined;
  test?: number | undefined;
  /** Seed of the shuffle (default 0): the same seed gives the same split. */
  seed?: number | undefined;
  /** Keep each class's proportion in every part (needs int32 class labels; default false). */
  stratify?: boolean | undefined;
}

export interface SplitResult {
  readonly train: Dataset;
  readonly dev: Dataset;
  readonly test: Dataset;
  /** The fractions asked for (or the defaults). */
  readonly ratios: SplitRatios;
  /** The number of samples in each part. */
  readonly counts: SplitRatios;
  /** Whether the ratios are the size-based defaults. */
  readonly defaulted: boolean;
  readonly seed: number;
  readonly stratified: boolean;
  /** A line for people: `split 10000 samples (seed 0): train 6000 (60.0%), dev 2000 (20.0%), ...`. */
  readonly describe: string;
}

/** The default train/dev/test fractions for n samples (see the formula at the top of this file). */
export function defaultSplitRatios(n: number): SplitRatios {
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`defaultSplitRatios: invalid sample count ${n}`);
  const held = n <= 1e4 ? 0.4 : n >= 1e6 ? 0.02 : 0.4 * 0.05 ** ((Math.log10(n) - 4) / 2);
  return { train: 1 - held, dev: held / 2, test: held / 2 };
}

type Part = keyof SplitRatios;
const PARTS: readonly Part[] = ["train", "dev", "test"];

function resolveCounts(n: number, options: SplitOptions): { ratios: SplitRatios; counts: SplitRatios; defaulted: boolean } {
  const given: Partial<Record<Part, number>> = {};
  for (const p of PARTS) {
    const v = options[p];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ConfigError(`split: invalid ${p} size ${String(v)} (expected a fraction in [0, 1] or a count >= 0)`);
    given[p] = v;
  }
  const values = Object.values(given);
  const sum = values.reduce((a, b) => a + b, 0);
  const missing = PARTS.filter((p) => given[p] === undefined);
  if (values.length === 0) {
    const ratios = defaultSplitRatios(n);
    return { ratios, counts: countsOf(n, ratios, true), defaulted: true };
  }
  if (values.every((v) => v <= 1) && sum <= 1 + 1e-9) {
    const rest = Math.max(0, 1 - sum) / Math.max(1, missing.length);
    const ratios = { train: given.train ?? rest, dev: given.dev ?? rest, test: given.test ?? rest };
    const whole = missing.length > 0 || Math.abs(sum - 1) <= 1e-9;
    return { ratios, counts: countsOf(n, ratios, whole), defaulted: false };
  }
  for (const p of PARTS) {
    const v = given[p];
    if (v !== undefined && !Number.isInteger(v)) {
      throw new ConfigError(`split: ${p} size ${v} is neither a fraction (sizes in [0, 1] summing to at most 1) nor a whole count`);
    }
  }
  if (sum > n) throw new ConfigError(`split: the counts ask for ${sum} samples, the dataset has ${n}`);
  const rest = n - sum;
  const share = Math.floor(rest / Math.max(1, missing.length));
  const counts: Record<Part, number> = { train: 0, dev: 0, test: 0 };
  for (const p of PARTS) counts[p] = given[p] ?? share;
  // what an equal share leaves over goes to the first part left out
  if (missing.length > 0) counts[missing[0]!] += rest - share * missing.length;
  const ratios = { train: counts.train / n, dev: counts.dev / n, test: counts.test / n };
  return { ratios, counts, defaulted: false };
}

/** Fractions to counts: dev and test rounded, train takes the rest when the parts cover the data. */
function countsOf(n: number, r: SplitRatios, whole: boolean): SplitRatios {
  let dev = Math.round(n * r.dev);
  let test = Math.round(n * r.test);
  if (dev + test > n) test = n - dev;
  if (dev > n) [dev, test] = [n, 0];
  const train = whole ? n - dev - test : Math.min(Math.round(n * r.train), n - dev - test);
  return { train, dev, test };
}

/**
 * Splits a dataset into train, dev and test parts (role set on each), shuffled with `seed`.
 *
 *     const { train, dev, test, describe } = split(mnist, { seed: 1, stratify: true });
 *     console.log(describe);   // split 10000 samples (seed 1, stratified): train 6000 (60.0%), ...
 */
export function split(ds: Dataset, options: SplitOptions = {}): SplitResult {
  const n = ds.length;
  const seed = options.seed ?? 0;
  const stratified = options.stratify ?? false;
  const { ratios, counts, defaulted } = resolveCounts(n, options);
  const rng = new Generator(seed);
  const order = stratified ? stratifiedOrder(ds, rng) : rng.permutation(n);
  const a = counts.train;
  const b = a + counts.dev;
  const c = b + counts.test;
  const train = subset(ds, order.subarray(0, a), "train");
  const dev = subset(ds, order.subarray(a, b), "dev");
  const test = subset(ds, order.subarray(b, c), "test");
  const pct = (k: number): string => `${k} (${n === 0 ? "0.0" : ((100 * k) / n).toFixed(1)}%)`;
  const unused = n - c;
  const describe =
    `split ${n} samples (seed ${seed}${stratified ? ", stratified by label" : ""}): ` +
    `train ${pct(counts.train)}, dev ${pct(counts.dev)}, test ${pct(counts.test)}` +
    (unused > 0 ? `, ${unused} unused` : "") +
    (defaulted ? `; default ratios for ${n} samples (60/20/20 up to 10,000, 98/1/1 from 1,000,000)` : "");
  return { train, dev, test, ratios, counts, defaulted, seed, stratified, describe };
}

/** The stratified sample order described at the top of this file. */
function stratifiedOrder(ds: Dataset, rng: Generator): Int32Array {
  if (ds.labels.dtype !== "int32" || ds.numClasses === undefined) {
    throw new DTypeError(`split: stratify needs int32 class labels, the dataset has ${ds.labels.dtype} labels`);
  }
  const y = hostValues(ds.labels);
  const n = ds.length;
  const perm = rng.permutation(n);
  const k = ds.numClasses;
  const classSize = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) classSize[y[i]!]! += 1;
  const offset = Array.from({ length: k }, () => rng.uniform());
  const seen = new Array<number>(k).fill(0);
  const keys = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = perm[j]!;
    const c = y[i]!;
    keys[i] = (seen[c]! + offset[c]!) / classSize[c]!;
    seen[c]! += 1;
  }
  const rank = new Int32Array(n);
  for (let j = 0; j < n; j++) rank[perm[j]!] = j;
  // ties (equal keys in two classes) are broken by the random permutation, so the order is seeded
  const order = Array.from(perm).sort((p, q) => keys[p]! - keys[q]! || rank[p]! - rank[q]!);
  return Int32Array.from(order);
}
