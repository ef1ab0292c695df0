/**
 * The loss of a model on a fixed batch as a function of its parameters, in float64: its value,
 * gradient, Hessian-vector products (the operator Lanczos needs) and its value at other points
 * (for a line search, on a second copy).
 *
 * The model is copied into a float64 twin (same layers, the weights cast), in evaluation mode, so
 * dropout is off and batch normalization uses its running statistics: the function is
 * deterministic. The gradient is recorded once with createGraph; every H·v is then one backward
 * pass through that recorded gradient with v as its output gradient (the product's exactness
 * comes from differentiating the backward rules, not from finite differences). Every value comes
 * back with `await` (the products and line-search losses too), so it runs on any backend.
 */
import { ShapeError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator } from "../tensor/random.js";
import { fromValues } from "../tensor/creation.js";
import { gradients } from "../autograd/backward.js";
import { enableGrad, noGrad } from "../autograd/mode.js";
import { concat, reshape } from "../ops/movement.js";
import { add } from "../ops/elementwise.js";
import { buildSequential, type Sequential } from "../nn/sequential.js";
import { currentBackend, withBackend } from "../backend/registry.js";
import type { Parameter } from "../nn/parameter.js";
import type { LossFn, Penalty } from "../train/fit.js";
import type { MatVec } from "./lanczos.js";

export interface LossFunctionOf {
  /** the trainable parameters' dotted names, in the order of the flat vectors */
  names: string[];
  shapes: number[][];
  size: number;
  value: number;
  gradient: Float64Array;
  /** the current parameters, flat */
  point: Float64Array;
  /** H·v at the current point */
  hvp: MatVec;
  /** the loss at another point (the twin's parameters are put back afterwards) */
  lossAt(point: Float64Array): Promise<number>;
  /** the twin's parameters at a point, by name (float64) */
  tensorsAt(point: Float64Array): Record<string, Tensor>;
}

/** A float64 copy of a model, in evaluation mode, on the backend its parameters live on. */
export function float64Twin(model: Sequential, inputShape: readonly number[]): Sequential {
  const backend = model.namedParameters()[0]?.[1].backend ?? currentBackend();
  const twin = withBackend(backend, () => buildSequential(model.specs(), { inputShape, rng: new Generator(0), dtype: "float64" }));
  twin.loadStateDict(model.stateDict());
  twin.eval();
  return twin;
}

/** The batch loss (plus the penalty) of a model as a function of its trainable parameters. */
export async function lossFunctionOf(model: Sequential, loss: LossFn, x: Tensor, y: Tensor, penalty?: Penalty): Promise<LossFunctionOf> {
  const twin = float64Twin(model, x.shape.slice(1));
  const x64 = x.dtype === "float64" ? x : x.cast("float64");
  const y64 = y.dtype === "int32" || y.dtype === "float64" ? y : y.cast("float64");
  const trainable = twin.namedParameters().filter(([, p]) => p.requiresGrad);
  const params: Parameter[] = trainable.map(([, p]) => p);
  const names = trainable.map(([n]) => n);
  const shapes = params.map((p) => [...p.shape]);
  const size = params.reduce((s, p) => s + p.size, 0);
  const m = x.shape[0] ?? 1;
  const backend = x.backend;
  const objective = (): Tensor => {
    const l = loss(twin.forward(x64), y64);
    const pen = penalty?.(twin, m);
    return pen ? add(l, pen) : l;
  };
  const split = (flat: Float64Array): Tensor[] => {
    if (flat.length !== size) throw new ShapeError(`lossFunctionOf: a vector of ${flat.length} values for ${size} parameters`);
    let off = 0;
    return params.map((p) => {
      const t = fromValues(flat.slice(off, off + p.size), p.shape, { backend });
      off += p.size;
      return t;
    });
  };
  const point = new Float64Array(size);
  let off = 0;
  for (const p of params) for (const v of await p.data()) point[off++] = v;

  const { l, flat } = enableGrad(() => {
    const l = objective();
    const gs = gradients([l], params, { createGraph: true, allowUnused: true });
    return { l, flat: concat(gs.map((g, i) => reshape(g ?? fromValues(new Float64Array(params[i]!.size), params[i]!.shape, { backend }), [params[i]!.size]))) };
  });
  const value = (await l.data())[0]!;
  const gradient = Float64Array.from(await flat.data());
  const hvp: MatVec = async (v) => {
    const out = new Float64Array(size);
    if (!flat.requiresGrad) return out;
    const rows = enableGrad(() => gradients([flat], params, { gradOutputs: [fromValues(Float64Array.from(v), [size], { backend })], allowUnused: true, retainGraph: true }));
    let k = 0;
    for (const [i, r] of rows.entries()) {
      if (r) for (const e of await r.data()) out[k++] = e;
      else k += params[i]!.size;
    }
    return out;
  };
  // the line search moves the parameters of a second twin: assigning the first one's would
  // invalidate the recorded gradient graph (a Parameter's version check)
  let probe: { model: Sequential; params: Parameter[] } | null = null;
  const lossAt = async (at: Float64Array): Promise<number> => {
    if (!probe) {
      const copy = float64Twin(twin, x.shape.slice(1));
      const byName = new Map(copy.namedParameters());
      probe = { model: copy, params: names.map((n) => byName.get(n)!) };
    }
    const { model: other, params: ps } = probe;
    split(at).forEach((t, i) => ps[i]!.assign(t));
    const total = noGrad(() => {
      const l = loss(other.forward(x64), y64);
      const pen = penalty?.(other, m);
      return pen ? add(l, pen) : l;
    });
    return (await total.data())[0]!;
  };
  const tensorsAt = (at: Float64Array): Record<string, Tensor> => Object.fromEntries(split(at).map((t, i) => [names[i]!, t]));
  return { names, shapes, size, value, gradient, point, hvp, lossAt, tensorsAt };
}
