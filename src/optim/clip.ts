/**
 * Gradient clipping, as transforms for a chain (clipByValue, clipByGlobalNorm) and as standalone
 * functions on parameters' `.grad` (clipGradValue, clipGradNorm) for a training loop that clips
 * between backward and step and logs the norm. Both follow PyTorch (clip_grad_norm_,
 * clip_grad_value_); the transforms compute the norm with tensor ops, so they never read values
 * back from the device.
 */
import { noGrad } from "../autograd/mode.js";
import { ConfigError, NonFiniteError } from "../errors/errors.js";
import { abs, add, clamp, div, maximum, minimum, mul, pow, sqrt, square } from "../ops/elementwise.js";
import { max, sum } from "../ops/reduce.js";
import { cast } from "../ops/movement.js";
import { Tensor } from "../tensor/tensor.js";
import { listParameters, makeState, defineTransformation, type GradientTransformation, type NamedParameters, type TensorTree } from "./base.js";
import { statelessPlan } from "./fused.js";
import { checkNumber } from "./validate.js";

/** PyTorch adds this to the norm before dividing, so a zero gradient stays zero. */
const NORM_EPS = 1e-6;

/** u = clamp(g, −c, c) elementwise. */
export function clipByValue(clipValue: number): GradientTransformation {
  const c = checkNumber("clipValue", clipValue, { min: 0 });
  return defineTransformation(
    "clipByValue",
    () => makeState(),
    (updates, state) => [Object.fromEntries(Object.entries(updates).map(([n, g]) => [n, clamp(g, -c, c)])), state],
    (names, state, params) => statelessPlan("clipByValue", names, state, params, { op: "clamp", min: -c, max: c }),
  );
}

/**
 * The p-norm of all tensors of a tree taken together, as a scalar tensor in the first tensor's
 * dtype: (Σ_i Σ_j |g_ij|^p)^(1/p); p = Infinity gives max |g|. An empty tree has norm 0.
 */
export function globalNorm(tree: TensorTree | readonly Tensor[], normType = 2): Tensor | null {
  const ts = Array.isArray(tree) ? (tree as readonly Tensor[]) : Object.values(tree as TensorTree);
  const first = ts[0];
  if (!first) return null;
  return noGrad(() => {
    const like = (t: Tensor): Tensor => (t.dtype === first.dtype ? t : cast(t, first.dtype));
    if (normType === Infinity) return ts.map((t) => like(max(abs(t)))).reduce((a, b) => maximum(a, b));
    const parts = ts.map((t) => like(normType === 2 ? sum(square(t)) : normType === 1 ? sum(abs(t)) : sum(pow(abs(t), normType))));
    const total = parts.reduce((a, b) => add(a, b));
    return normType === 2 ? sqrt(total) : normType === 1 ? total : pow(total, 1 / normType);
  });
}

/**
 * Rescales all updates together when their global 2-norm exceeds maxNorm (PyTorch's
 * clip_grad_norm_): n = ‖g‖₂ over every tensor, u = g · min(1, maxNorm / (n + 1e-6)).
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  const m = checkNumber("maxNorm", maxNorm, { min: 0 });
  return defineTransformation(
    "clipByGlobalNorm",
    () => makeState(),
    (updates, state) => {
      const norm = globalNorm(updates);
      if (!norm) return [updates, state];
      const coef = minimum(div(m, add(norm, NORM_EPS)), 1);
      return [Object.fromEntries(Object.entries(updates).map(([n, g]) => [n, mul(g, coef.dtype === g.dtype ? coef : cast(coef, g.dtype))])), state];
    },
  );
}

/** Parameters for the standalone clippers: NamedParameters, or plain tensors (model.parameters()). */
export type ClipTarget = NamedParameters | Iterable<Tensor>;

function gradHolders(target: ClipTarget, where: string): Tensor[] {
  if (typeof (target as { namedParameters?: unknown }).namedParameters !== "function" && Symbol.iterator in (target as object)) {
    const items = [...(target as Iterable<unknown>)];
    if (items.every((x) => x instanceof Tensor)) return items as Tensor[];
    return listParameters(items as Iterable<readonly [string, never]>, where).map(([, p]) => p);
  }
  return listParameters(target as NamedParameters, where).map(([, p]) => p);
}

export interface ClipGradNormOptions {
  /** The p of the p-norm: 2 (default), 1, any p > 0, or Infinity. */
  normType?: number;
  /** Throw NonFiniteError when the total norm is NaN or infinite (default false). */
  errorIfNonfinite?: boolean;
}

interface NormClip {
  holders: Tensor[];
  norm: Tensor | null;
  maxNorm: number;
  normType: number;
}

function normClip(params: ClipTarget, maxNorm: number, options: ClipGradNormOptions, where: string): NormClip {
  const m = checkNumber("maxNorm", maxNorm, { min: 0 });
  const p = options.normType === Infinity ? Infinity : checkNumber("normType", options.normType ?? 2, { min: 0, minOpen: true });
  const holders = gradHolders(params, where).filter((t) => t.grad !== null);
  return { holders, norm: globalNorm(holders.map((t) => t.grad!), p), maxNorm: m, normType: p };
}

/** Scales the grads by maxNorm / (total + 1e-6) when that is below 1; returns total. */
function applyNormClip(c: NormClip, total: number, options: ClipGradNormOptions, where: string): number {
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new NonFiniteError(`${where}: the total ${c.normType}-norm of the gradients is ${total} (a loss or gradient overflowed; lower the learning rate)`);
  }
  const coef = c.maxNorm / (total + NORM_EPS);
  if (coef < 1) noGrad(() => c.holders.forEach((t) => (t.grad = mul(t.grad!, coef))));
  return total;
}

/**
 * Clips the `.grad` of every parameter in place (PyTorch's clip_grad_norm_): with n the p-norm of
 * all gradients together, each grad becomes grad · min(1, maxNorm / (n + 1e-6)). Parameters
 * without a grad are skipped. Returns n, the total norm before clipping (0 when no grads). Reads
 * n synchronously; `clipGradNormAsync` is the same for any backend.
 */
export function clipGradNorm(params: ClipTarget, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const c = normClip(params, maxNorm, options, "clipGradNorm");
  return c.norm ? applyNormClip(c, c.norm.item(), options, "clipGradNorm") : 0;
}

/** clipGradNorm that reads the norm with `await`, so it runs on backends without synchronous reads. */
export async function clipGradNormAsync(params: ClipTarget, maxNorm: number, options: ClipGradNormOptions = {}): Promise<number> {
  const c = normClip(params, maxNorm, options, "clipGradNormAsync");
  return c.norm ? applyNormClip(c, (await c.norm.data())[0]!, options, "clipGradNormAsync") : 0;
}

/** Clamps the `.grad` of every parameter to [−clipValue, clipValue] in place. */
export function clipGradValue(params: ClipTarget, clipValue: number): void {
  const c = checkNumber("clipValue", clipValue, { min: 0 });
  if (!Number.isFinite(c)) throw new ConfigError(`Invalid clipValue: ${c} (expected a finite number)`);
  noGrad(() => gradHolders(params, "clipGradValue").forEach((t) => t.grad && (t.grad = clamp(t.grad, -c, c))));
}
