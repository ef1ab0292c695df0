/**
 * The search space: each hyperparameter has a distribution, and every distribution maps the unit
 * interval [0, 1] onto its values. Samplers work in that unit cube (uniform draws, grids, the
 * shrinking boxes of coarse-to-fine, TPE's densities) and `fromUnit` turns a point into values:
 *
 * - uniform:     low + u (high - low)
 * - log:         10^(log10 low + u (log10 high - log10 low)); the notes' r in [-4, 0], alpha = 10^r
 * - oneMinusLog: beta = 1 - 10^(log10(1 - low) + u (log10(1 - high) - log10(1 - low))), so that
 *                beta in [0.9, 0.999] gets as many draws in [0.9, 0.99] as in [0.99, 0.999]
 * - int:         the integers low..high, each an equal slice of [0, 1]
 * - choice:      the values, each an equal slice of [0, 1]
 *
 * `toUnit` is the inverse (the middle of its slice for int and choice).
 */
export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export type Distribution =
  | { type: "uniform"; low: number; high: number; points?: number | undefined }
  | { type: "log"; low: number; high: number; points?: number | undefined }
  | { type: "oneMinusLog"; low: number; high: number; points?: number | undefined }
  | { type: "int"; low: number; high: number; points?: number | undefined }
  | { type: "choice"; values: ParamValue[] };

export type Space = Record<string, Distribution>;

/** Parameter names in a fixed order (the spec's), so a seed gives the same draws. */
export function paramNames(space: Space): string[] {
  return Object.keys(space);
}

const clamp01 = (u: number) => Math.min(1, Math.max(0, u));

export function fromUnit(d: Distribution, unit: number): ParamValue {
  const u = clamp01(unit);
  // the ends are the bounds exactly, not 10^log10(low) with its rounding
  if ((d.type === "log" || d.type === "oneMinusLog") && (u === 0 || u === 1)) return u === 0 ? d.low : d.high;
  switch (d.type) {
    case "uniform":
      return d.low + u * (d.high - d.low);
    case "log":
      return 10 ** (Math.log10(d.low) + u * (Math.log10(d.high) - Math.log10(d.low)));
    case "oneMinusLog":
      return 1 - 10 ** (Math.log10(1 - d.low) + u * (Math.log10(1 - d.high) - Math.log10(1 - d.low)));
    case "int":
      return Math.min(d.high, d.low + Math.floor(u * (d.high - d.low + 1)));
    case "choice":
      return d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))]!;
    default:
      return d satisfies never;
  }
}

/** The unit coordinate of a value (NaN for a value the distribution cannot give). */
export function toUnit(d: Distribution, value: ParamValue): number {
  if (d.type === "choice") {
    const i = d.values.findIndex((v) => v === value);
    return i < 0 ? NaN : (i + 0.5) / d.values.length;
  }
  if (typeof value !== "number") return NaN;
  switch (d.type) {
    case "uniform":
      return d.high === d.low ? 0.5 : (value - d.low) / (d.high - d.low);
    case "log":
      return d.high === d.low ? 0.5 : (Math.log10(value) - Math.log10(d.low)) / (Math.log10(d.high) - Math.log10(d.low));
    case "oneMinusLog":
      return d.high === d.low ? 0.5 : (Math.log10(1 - value) - Math.log10(1 - d.low)) / (Math.log10(1 - d.high) - Math.log10(1 - d.low));
    case "int":
      return (value - d.low + 0.5) / (d.high - d.low + 1);
    default:
      return d satisfies never;
  }
}

/** Whether a parameter is read on a log axis (log, and 1 - beta for oneMinusLog). */
export function isLogScale(d: Distribution): boolean {
  return d.type === "log" || d.type === "oneMinusLog";
}

/** The number of distinct values a distribution can take (Infinity for continuous ones). */
function cardinality(d: Distribution): number {
  if (d.type === "choice") return d.values.length;
  if (d.type === "int") return d.high - d.low + 1;
  return Infinity;
}

/**
 * A parameter's grid: every choice; for numbers, `points` evenly spaced unit coordinates from 0 to
 * 1 mapped through the distribution (so a log parameter gets a log grid: 1e-4, 1e-3, 1e-2, 1e-1);
 * integers without repeats.
 */
export function gridValues(d: Distribution, defaultPoints: number): ParamValue[] {
  if (d.type === "choice") return [...d.values];
  const n = Math.min(d.points ?? defaultPoints, cardinality(d));
  if (d.type === "int" && n === cardinality(d)) return Array.from({ length: n }, (_, i) => d.low + i);
  const values = Array.from({ length: n }, (_, i) => {
    if (n === 1) return fromUnit(d, 0.5);
    const u = i / (n - 1);
    if (d.type === "int") return Math.round(d.low + u * (d.high - d.low));
    if (u === 0) return d.low;
    if (u === 1) return d.high;
    return fromUnit(d, u);
  });
  return [...new Set(values)];
}
