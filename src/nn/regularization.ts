/**
 * Weight penalties to add to the loss (the "coupled" regularization of the study notes; decoupled
 * weight decay is an optimizer transform instead):
 *
 *   l2Penalty:  λ · Σ_W ‖W‖²_F           or, with batchSize m,  λ/(2m) · Σ_W ‖W‖²_F
 *   l1Penalty:  λ · Σ_W Σ|w|             or, with batchSize m,  λ/(2m) · Σ_W Σ|w|
 *
 * The λ/(2m) form is the notes' J = (1/m) Σ L + λ/(2m) Σ‖W‖²_F, whose gradient adds (λ/m)·W to
 * each weight's gradient ("weight decay": W ← (1 − αλ/m)·W − α·dW).
 *
 * By default the sums run over the weights of Linear and Conv2d layers only: not biases, not the
 * γ/β of normalization layers, not PReLU slopes (Module.defaultRegularizedNames). `include`
 * replaces that selection and `exclude` removes from it; each is a predicate on (name, parameter)
 * or a list of patterns: strings where `*` matches any run of characters (dots included), e.g.
 * "*.weight", "features.*", or regular expressions, tested against the dotted name.
 */
import { ConfigError } from "../errors/errors.js";
import { abs, add, mul, square } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { scalar } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Module } from "./module.js";
import type { Parameter } from "./parameter.js";

export type ParameterPredicate = (name: string, parameter: Parameter) => boolean;
export type ParameterPattern = string | RegExp;
export type ParameterSelector = ParameterPredicate | readonly ParameterPattern[];

export interface ParameterSelection {
  /** which parameters to use, instead of the default (Linear and Conv2d weights) */
  include?: ParameterSelector;
  /** parameters to leave out */
  exclude?: ParameterSelector;
}

export interface PenaltyOptions extends ParameterSelection {
  /**
   * "plain" (default without batchSize): λ·Σ; "perBatch" (default with batchSize): λ/(2m)·Σ,
   * the study notes' form, which needs batchSize.
   */
  form?: "plain" | "perBatch";
  /** the batch size m of the perBatch form */
  batchSize?: number;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

function toPredicate(sel: ParameterSelector): ParameterPredicate {
  if (typeof sel === "function") return sel;
  if (!Array.isArray(sel)) throw new ConfigError(`parameter selection: expected a predicate or a list of patterns, got ${typeof sel}`);
  const res = sel.map((p) => (p instanceof RegExp ? p : globToRegExp(p)));
  return (name) => res.some((re) => re.test(name));
}

/** The [name, parameter] pairs a penalty (or weight decay) applies to, in model order. */
export function selectParameters(model: Module, selection: ParameterSelection = {}): [string, Parameter][] {
  const all = model.namedParameters();
  let chosen: [string, Parameter][];
  if (selection.include !== undefined) {
    const inc = toPredicate(selection.include);
    chosen = all.filter(([n, p]) => inc(n, p));
  } else {
    const names = new Set(model.defaultRegularizedNames());
    chosen = all.filter(([n]) => names.has(n));
  }
  if (selection.exclude !== undefined) {
    const exc = toPredicate(selection.exclude);
    chosen = chosen.filter(([n, p]) => !exc(n, p));
  }
  return chosen;
}

function penalty(where: string, model: Module, lambda: number, options: PenaltyOptions, term: (w: Tensor) => Tensor): Tensor {
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new ConfigError(`${where}: invalid lambda ${lambda} (expected lambda >= 0)`);
  let scale = lambda;
  const form = options.form ?? (options.batchSize !== undefined ? "perBatch" : "plain");
  if (form === "perBatch") {
    const m = options.batchSize;
    if (m === undefined) throw new ConfigError(`${where}: form "perBatch" (λ/(2m)) needs batchSize m`);
    if (!(Number.isInteger(m) && m >= 1)) throw new ConfigError(`${where}: invalid batchSize ${m} (expected an integer >= 1)`);
    scale = lambda / (2 * m);
  } else if (form !== "plain") {
    throw new ConfigError(`${where}: invalid form ${JSON.stringify(form)} (expected "plain" or "perBatch")`);
  }
  const params = selectParameters(model, options);
  const dtype = model.parameters()[0]?.dtype ?? "float32";
  if (params.length === 0) return scalar(0, { dtype: dtype === "int32" ? "float32" : dtype });
  let total: Tensor | null = null;
  for (const [, p] of params) {
    const t = sum(term(p));
    total = total ? add(total, t) : t;
  }
  return mul(total!, scale);
}

/** λ·Σ‖W‖²_F over the selected weights, or λ/(2m)·Σ‖W‖²_F with batchSize m; a scalar tensor. */
export function l2Penalty(model: Module, lambda: number, options: PenaltyOptions = {}): Tensor {
  return penalty("l2Penalty", model, lambda, options, square);
}

/** λ·Σ|w| over the selected weights, or λ/(2m)·Σ|w| with batchSize m; a scalar tensor. */
export function l1Penalty(model: Module, lambda: number, options: PenaltyOptions = {}): Tensor {
  return penalty("l1Penalty", model, lambda, options, abs);
}
