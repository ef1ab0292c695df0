/**
 * Kind `hessian`: a small model (linear layers and activations) with given parameters, input,
 * target and loss; the result is the loss, gradient, full Hessian, its ascending eigenvalues,
 * the Hessian-vector product with the case's vector, and the critical-point class.
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
import { fromTensor, toTensor } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

interface CaseLayer {
  type: string;
  inFeatures?: number;
  outFeatures?: number;
  bias?: boolean;
}

export function evaluateHessianCase(c: ConformanceCase, dtype: DType): CaseResult {
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
  const h = hessianOf(f, params);
  const eig = symmetricEigen(h.hessian, h.size);
  const vector = toTensor(c.vector, dtype, "vector").dataSync();
  let off = 0;
  const vs = params.map((p) => {
    const part = fromValues(Float64Array.from(vector.subarray(off, off + p.size)), p.shape);
    off += p.size;
    return dtype === "float64" ? part : part.cast(dtype);
  });
  const hv = hvp(f, params, vs).hvp;
  const hvFlat = new Float64Array(h.size);
  off = 0;
  for (const t of hv) for (const v of t.dataSync()) hvFlat[off++] = v;
  const gradNorm = Math.sqrt(h.gradient.reduce((s, g) => s + g * g, 0));
  const vec = (data: Float64Array, shape: number[]) => fromTensor(fromValues(data, shape));
  return {
    loss: vec(Float64Array.of(h.value), []),
    gradient: vec(h.gradient, [h.size]),
    hessian: vec(h.hessian, [h.size, h.size]),
    eigenvalues: vec(eig.values, [h.size]),
    hvp: vec(hvFlat, [h.size]),
    criticalPoint: classifyCriticalPoint(gradNorm, eig.values),
  };
}
