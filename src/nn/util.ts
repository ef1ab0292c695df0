/**
 * Validation helpers shared by the layers: every bad hyperparameter is a ConfigError naming the
 * layer, the option, the value and what is allowed (`Conv2d: invalid outChannels -3 (expected an
 * integer >= 1)`).
 */
import { ConfigError } from "../errors/errors.js";
import type { Pair } from "../ops/window.js";
import type { FloatDType } from "../tensor/dtype.js";
import { preview } from "../errors/values.js";

export function checkInt(layer: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${layer}: invalid ${name} ${preview(v)} (expected an integer >= ${min})`);
  return v;
}

export function checkPair(layer: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ConfigError(`${layer}: invalid ${name} ${preview(v)} (expected an integer >= ${min} or a pair of them)`);
  }
  return p;
}

export function checkEps(layer: string, eps: number): number {
  if (!(eps > 0 && Number.isFinite(eps))) throw new ConfigError(`${layer}: invalid eps ${eps} (expected eps > 0)`);
  return eps;
}

export function checkDType(layer: string, dtype: string | undefined): FloatDType {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float64") throw new ConfigError(`${layer}: invalid dtype ${preview(dtype)} (expected "float32" or "float64")`);
  return d;
}

/** A pair written back to a spec: a number when square. */
export function pairSpec(p: readonly [number, number]): Pair {
  return p[0] === p[1] ? p[0] : [p[0], p[1]];
}
