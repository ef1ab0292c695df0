/**
 * Kind `loss`: evaluates one loss on the case's `input` and `target` with its `attrs` and returns
 * `value` (a scalar, or the per-element losses for reduction "none") and `grads.input`, the
 * gradient of the sum of the value with respect to the input. Attribute names follow the loss
 * functions' options (reduction, labelSmoothing, weight, ignoreIndex, alpha, gamma, beta, delta,
 * posWeight); tensor-valued attributes are tensors `{ shape, data }` or plain lists of numbers.
 */
import { ConfigError } from "../../errors/errors.js";
import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import { tensor } from "../../tensor/creation.js";
import { gradients } from "../../autograd/backward.js";
import { sum } from "../../ops/reduce.js";
import * as L from "../../losses/losses.js";
import { fromTensor, isTensorValue, toTensor } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

type Attrs = Record<string, unknown>;
type LossFn = (input: Tensor, target: Tensor, attrs: Attrs, dtype: DType) => Tensor;

function num(a: Attrs, name: string): { [k: string]: number } {
  const v = a[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== "number") throw new ConfigError(`attribute "${name}" must be a number, got ${JSON.stringify(v)}`);
  return { [name]: v };
}

function reduction(a: Attrs): { reduction?: L.Reduction } {
  const r = a.reduction;
  return r === undefined || r === null ? {} : { reduction: L.checkReduction("attrs.reduction", r) };
}

function tensorAttr(a: Attrs, name: string, dtype: DType): { [k: string]: Tensor } {
  const v = a[name];
  if (v === undefined || v === null) return {};
  if (isTensorValue(v)) return { [name]: toTensor(v, dtype, `attrs.${name}`) };
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) return { [name]: tensor(v as number[], { dtype }) };
  throw new ConfigError(`attribute "${name}" must be a tensor or a list of numbers`);
}

const LOSSES: Record<string, LossFn> = {
  crossEntropy: (x, t, a, d) => L.crossEntropy(x, t, { ...reduction(a), ...num(a, "labelSmoothing"), ...num(a, "ignoreIndex"), ...tensorAttr(a, "weight", d) }),
  binaryCrossEntropy: (x, t, a, d) => L.binaryCrossEntropy(x, t, { ...reduction(a), ...tensorAttr(a, "weight", d) }),
  binaryCrossEntropyWithLogits: (x, t, a, d) =>
    L.binaryCrossEntropyWithLogits(x, t, { ...reduction(a), ...tensorAttr(a, "weight", d), ...tensorAttr(a, "posWeight", d) }),
  focal: (x, t, a, d) => {
    const alpha = isTensorValue(a.alpha) || Array.isArray(a.alpha) ? tensorAttr(a, "alpha", d) : num(a, "alpha");
    return L.focal(x, t, { ...reduction(a), ...alpha, ...num(a, "gamma") });
  },
  l1: (x, t, a) => L.l1(x, t, reduction(a)),
  mse: (x, t, a) => L.mse(x, t, reduction(a)),
  smoothL1: (x, t, a) => L.smoothL1(x, t, { ...reduction(a), ...num(a, "beta") }),
  huber: (x, t, a) => L.huber(x, t, { ...reduction(a), ...num(a, "delta") }),
  rmse: (x, t) => L.rmse(x, t),
};

export async function evaluateLossCase(c: ConformanceCase, dtype: DType): Promise<CaseResult> {
  const name = c.loss as string;
  const fn = LOSSES[name];
  if (!fn) throw new ConfigError(`unsupported loss ${JSON.stringify(name)} (supported: ${Object.keys(LOSSES).join(", ")})`);
  const input = toTensor(c.input, dtype, "input").requireGrad();
  const target = toTensor(c.target, dtype, "target");
  const value = fn(input, target, (c.attrs ?? {}) as Attrs, dtype);
  const [g] = gradients([sum(value)], [input], { allowUnused: true });
  return { value: await fromTensor(value), grads: { input: await fromTensor(g!) } };
}
