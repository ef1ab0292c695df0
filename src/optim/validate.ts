/**
 * Hyperparameter checks shared by optimizers, transforms and schedules. Every check refuses the
 * value at construction with its name, its value and the allowed range, in one format:
 * `Invalid beta1: 1.2 (expected 0 <= beta1 < 1)`. NaN fails every check.
 */
import { ConfigError } from "../errors/errors.js";
import { preview } from "../errors/values.js";

type Bound = { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean; integer?: boolean };

function describe(name: string, b: Bound): string {
  const lo = b.min === undefined ? "" : `${b.min} ${b.minOpen ? "<" : "<="} `;
  const hi = b.max === undefined ? "" : ` ${b.maxOpen ? "<" : "<="} ${b.max}`;
  const kind = b.integer ? " (an integer)" : "";
  return `${lo}${name}${hi}${kind}`;
}

/** Refuses a number outside [min, max] (ends open where asked); returns it. */
export function checkNumber(name: string, value: unknown, b: Bound): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!b.integer || Number.isInteger(value)) &&
    (b.min === undefined || (b.minOpen ? value > b.min : value >= b.min)) &&
    (b.max === undefined || (b.maxOpen ? value < b.max : value <= b.max));
  if (!ok) {
    const range = b.min === undefined && b.max === undefined ? `a finite ${name}` : describe(name, b);
    throw new ConfigError(`Invalid ${name}: ${fmt(value)} (expected ${range})`);
  }
  return value as number;
}

/** Learning rates: finite and >= 0. */
export const checkLr = (value: unknown, name = "lr"): number => checkNumber(name, value, { min: 0 });
/** Decay rates of moving averages (betas, alpha, momentum): 0 <= value < 1. */
export const checkDecay = (name: string, value: unknown): number => checkNumber(name, value, { min: 0, max: 1, maxOpen: true });
/** Epsilons added for stability: > 0. */
export const checkEps = (value: unknown, name = "eps"): number => checkNumber(name, value, { min: 0, minOpen: true });
/** Non-negative coefficients (weight decay, dampening, thresholds). */
export const checkNonNegative = (name: string, value: unknown): number => checkNumber(name, value, { min: 0 });

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new ConfigError(`Invalid ${name}: ${fmt(value)} (expected true or false)`);
  return value;
}

/** Refuses option keys that are not known, naming them and the allowed ones (config typos). */
export function checkKeys(where: string, options: object, allowed: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k) && (options as Record<string, unknown>)[k] !== undefined);
  if (unknown.length > 0) {
    throw new ConfigError(`${where}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (expected one of ${allowed.join(", ")})`);
  }
}

/** A value as messages print it: short JSON, bounded whatever the value (see errors/values.ts). */
export function fmt(value: unknown): string {
  return preview(value);
}
