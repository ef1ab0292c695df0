/**
 * Gradient checking in float64: the analytic gradient (backprop) against two-sided differences
 * (f(x + eps) − f(x − eps)) / 2eps, element by element, for every floating input.
 *
 * A non-scalar f is projected onto a fixed random direction u (L = sum(f(x)·u)), so one backward
 * pass checks Jᵀu; a random u makes a wrong Jacobian entry show up with probability 1.
 * An element passes when |a − n| <= atol + rtol·|n| (PyTorch's rule); the report also gives the
 * relative error |a − n| / max(|a|, |n|) that the study notes use (~1e-7 fine, 1e-5 look, 1e-3 wrong).
 *
 * gradgradcheck applies the same check to the gradient itself (second order), which is what
 * Hessian-vector products rely on.
 *
 * Every value is read with `await` (both return a Promise), so the checks run on any backend.
 */
import { DTypeError, GradError } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromValues, randn } from "../tensor/creation.js";
import { add, mul } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { gradients } from "./backward.js";
import { enableGrad, noGrad } from "./mode.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** indices of the inputs to check (default: every floating input) */
  wrt?: readonly number[];
  /** names for the inputs in the report (default "input 0", ...) */
  names?: readonly string[];
  /** seed of the random projection direction */
  seed?: number;
}

export interface GradcheckMismatch {
  input: string;
  /** flat index and its coordinates */
  index: number;
  position: number[];
  analytic: number;
  numeric: number;
  absError: number;
  relError: number;
}

export interface GradcheckReport {
  ok: boolean;
  /** largest relative error over all checked elements */
  maxRelError: number;
  maxAbsError: number;
  checked: number;
  /** the elements that failed the tolerance, worst first (at most 10) */
  mismatches: GradcheckMismatch[];
  /** a readable summary naming the input and element that disagree */
  message: string;
}

/** The multi-index of flat (row-major) element `index` of a tensor of `shape`. */
export function unravelIndex(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

type Fn = (...inputs: Tensor[]) => Tensor;

export async function gradcheck(f: Fn, inputs: readonly Tensor[], options: GradcheckOptions = {}): Promise<GradcheckReport> {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 0 } = options;
  const wrt = options.wrt ?? inputs.map((t, i) => (t.dtype === "int32" ? -1 : i)).filter((i) => i >= 0);
  const name = (i: number) => options.names?.[i] ?? `input ${i}`;
  for (const i of wrt) {
    const t = inputs[i];
    if (!t) throw new GradError(`gradcheck: no input ${i}`);
    if (t.dtype !== "float64") throw new DTypeError(`gradcheck: ${name(i)} is ${t.dtype}; checks run in float64 (cast it)`);
  }
  const rng = new Generator(seed);
  const leaves = inputs.map((t, i) => (wrt.includes(i) ? t.detach().requireGrad() : t));
  const y0 = f(...leaves);
  const u = randn(y0.shape, { rng, dtype: y0.dtype, backend: y0.backend });
  const project = (y: Tensor) => sum(mul(y, u));
  const grads = gradients([project(y0)], wrt.map((i) => leaves[i]!), { allowUnused: true });
  const analytic = await Promise.all(grads.map((g) => g.data()));

  const all: GradcheckMismatch[] = [];
  let maxRel = 0, maxAbs = 0, checked = 0;
  for (const [k, i] of wrt.entries()) {
    const base = await inputs[i]!.data();
    const at = async (delta: number, j: number): Promise<number> => {
      const v = base.slice();
      v[j] = v[j]! + delta;
      const args = inputs.map((t, m) => (m === i ? fromValues(v, t.shape, { backend: t.backend }) : t));
      return (await noGrad(() => project(f(...args))).data())[0]!;
    };
    for (let j = 0; j < base.length; j++) {
      const numeric = ((await at(eps, j)) - (await at(-eps, j))) / (2 * eps);
      const a = analytic[k]![j]!;
      const absError = Math.abs(a - numeric);
      const denom = Math.max(Math.abs(a), Math.abs(numeric));
      const relError = denom === 0 ? 0 : absError / denom;
      maxRel = Math.max(maxRel, relError);
      maxAbs = Math.max(maxAbs, absError);
      checked++;
      if (!(absError <= atol + rtol * Math.abs(numeric))) {
        all.push({ input: name(i), index: j, position: unravelIndex(j, inputs[i]!.shape), analytic: a, numeric, absError, relError });
      }
    }
  }
  all.sort((p, q) => q.absError - p.absError);
  const ok = all.length === 0;
  const worst = all[0];
  const message = ok
    ? `gradcheck passed: ${checked} elements, max relative error ${maxRel.toExponential(2)}`
    : `gradcheck failed: ${all.length} of ${checked} elements disagree; worst: ${worst!.input} at [${worst!.position.join(",")}]: ` +
      `analytic ${worst!.analytic}, numeric ${worst!.numeric} (relative error ${worst!.relError.toExponential(2)})`;
  return { ok, maxRelError: maxRel, maxAbsError: maxAbs, checked, mismatches: all.slice(0, 10), message };
}

/**
 * Second-order check: the derivative of the (createGraph) gradient of sum(f·u), projected on a
 * random w, against finite differences of that gradient.
 */
export async function gradgradcheck(f: Fn, inputs: readonly Tensor[], options: GradcheckOptions = {}): Promise<GradcheckReport> {
  const rng = new Generator((options.seed ?? 0) + 1);
  const wrt = options.wrt ?? inputs.map((t, i) => (t.dtype === "int32" ? -1 : i)).filter((i) => i >= 0);
  let u: Tensor | null = null;
  const ws = wrt.map((i) => randn(inputs[i]!.shape, { rng, dtype: "float64", backend: inputs[i]!.backend }));
  const firstOrder: Fn = (...xs) => {
    const leaves = xs.map((x, i) => (wrt.includes(i) && !x.requiresGrad ? x.requireGrad() : x));
    const y = f(...leaves);
    u ??= randn(y.shape, { rng, dtype: y.dtype, backend: y.backend });
    const gs = gradients([sum(mul(y, u))], wrt.map((i) => leaves[i]!), { createGraph: true, allowUnused: true });
    return gs.reduce<Tensor>((acc, g, k) => add(acc, sum(mul(g, ws[k]!))), sum(mul(gs[0]!, 0)));
  };
  // the numeric evaluations run inside noGrad, but computing a gradient needs recording on
  return gradcheck((...xs) => enableGrad(() => firstOrder(...xs)), inputs, options);
}
