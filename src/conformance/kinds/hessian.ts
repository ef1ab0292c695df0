/**
 * Kind `hessian`: a model (linear layers and activations) with given parameters, input, target
 * and loss; the result is the loss, gradient, the Hessian-vector product with the case's vector,
 * λmin and λmax by Lanczos (src/diagnose/lanczos.ts) and the critical-point class, and, for
 * models of at most FULL_HESSIAN_MAX parameters, the full Hessian and its ascending eigenvalues
 * (the class then comes from all of them; above, from the two extremes).
 */
import { ConfigError } from "../../errors/errors.js";
import type { DType, FloatDType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import { Generator } from "../../tensor/random.js";
import { fromValues } from "../../tensor/creation.js";
import { hvp } from "../../autograd/backward.js";
import { buildSequential } from "../../nn/sequential.js";
import { functionalCall } from "../../nn/module.js";
import type { LayerSpec } from "../../nn/specs.js";
import { crossEntropy, mse } from "../../losses/index.js";
import { classifyCriticalPoint, hessianOf, symmetricEigen } from "../../diagnose/hessian.js";
import { lanczos } from "../../diagnose/lanczos.js";

/** Models up to this many parameters get the full Hessian (P backward passes, P² numbers). */
export const FULL_HESSIAN_MAX = 400;
import { fromTensor, toTensor } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

interface CaseLayer {
  type: string;
  inFeatures?: number;
  outFeatures?: number;
  bias?: boolean;
}

export async function evaluateHessianCase(c: ConformanceCase, dtype: DType): Promise<CaseResult> {
  const layers = c.model as CaseLayer[];
  if (!Array.isArray(layers) || layers.length === 0) throw new ConfigError("model: expected a list of layers");
  const specs: LayerSpec[] = layers.map((l, i) => {
    if (l.type === "linear") return { type: "linear", outFeatures: l.outFeatures!, bias: l.bias ?? true, ...(l.inFeatures ? { inFeatures: l.inFeatures } : {}) };
    if (l.type === "tanh" || l.type === "sigmoid" || l.type === "relu") return { type: l.type };
    throw new ConfigError(`model[${i}]: unsupported layer type "${l.type}"`);
  });
  const input = toTensor(c.input, dtype, "input");
  const target = toTensor(c.target, dtype, "target");
  const model = buildSequential(specs, { inputShape: input.shape.slice(1), rng: new Generator(0), dtype: dtype as FloatDType });
  const rawParams = (c.params ?? {}) as Record<string, unknown>;
  // parameter order: layers in order, weight before bias
  const names: string[] = [];
  layers.forEach((l, i) => {
    if (l.type !== "linear") return;
    names.push(`${i}.weight`);
    if (l.bias ?? true) names.push(`${i}.bias`);
  });
  const params = names.map((n) => {
    if (!(n in rawParams)) throw new ConfigError(`params: missing "${n}"`);
    return toTensor(rawParams[n], dtype, `params.${n}`);
  });
  const lossName = c.loss as string;
  if (lossName !== "mse" && lossName !== "crossEntropy") throw new ConfigError(`loss: unsupported "${lossName}" (expected mse or crossEntropy)`);
  const f = (...ps: Tensor[]): Tensor => {
    const out = functionalCall(model, Object.fromEntries(names.map((n, i) => [n, ps[i]!])), input);
    return lossName === "mse" ? mse(out, target) : crossEntropy(out, target);
  };
  const size = params.reduce((n, p) => n + p.size, 0);
  const vector = await toTensor(c.vector, dtype, "vector").data();
  if (vector.length !== size) throw new ConfigError(`vector: ${vector.length} values for ${size} parameters`);
  const split = (flat: ArrayLike<number>): Tensor[] => {
    const all = Float64Array.from(flat);
    let off = 0;
    return params.map((p) => {
      const part = fromValues(all.slice(off, off + p.size), p.shape);
      off += p.size;
      return dtype === "float64" ? part : part.cast(dtype);
    });
  };
  const flatten = async (ts: readonly Tensor[]): Promise<Float64Array> => {
    const out = new Float64Array(size);
    let off = 0;
    for (const t of ts) for (const v of await t.data()) out[off++] = v;
    return out;
  };
  const product = hvp(f, params, split(vector));
  const ext = await lanczos((v) => flatten(hvp(f, params, split(v)).hvp), size, { tol: 1e-12 });
  const lambdaMin = ext.smallest[0]!.value, lambdaMax = ext.largest[0]!.value;
  const gradient = await flatten(product.grads);
  const gradNorm = Math.sqrt(gradient.reduce((s, g) => s + g * g, 0));
  const vec = (data: Float64Array, shape: number[]) => fromTensor(fromValues(data, shape));
  const common = {
    loss: await fromTensor(product.value),
    gradient: await vec(gradient, [size]),
    hvp: await vec(await flatten(product.hvp), [size]),
    lambdaMin: await vec(Float64Array.of(lambdaMin), []),
    lambdaMax: await vec(Float64Array.of(lambdaMax), []),
  };
  if (size > FULL_HESSIAN_MAX) return { ...common, criticalPoint: classifyCriticalPoint(gradNorm, [lambdaMin, lambdaMax]) };
  const h = await hessianOf(f, params);
  const eig = symmetricEigen(h.hessian, h.size);
  return {
    ...common,
    hessian: await vec(h.hessian, [h.size, h.size]),
    eigenvalues: await vec(eig.values, [h.size]),
    criticalPoint: classifyCriticalPoint(gradNorm, eig.values),
  };
}
