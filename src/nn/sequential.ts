/**
 * Sequential: layers applied in order, registered as children "0", "1", ... (so parameters are
 * named `0.weight`, `3.bias`), and buildSequential, which makes one from LayerSpecs and an input
 * shape. Building walks the shapes layer by layer: each layer's input size (inFeatures,
 * inChannels, numFeatures, ...) is taken from the shape arriving at it, a size given in the spec
 * must agree with it, and every mismatch is reported before any data flows, naming the layer,
 * its neighbour and both sizes.
 *
 * A runtime failure inside a layer is re-thrown (same error class) prefixed with the layer's index
 * and type, e.g. `layer 5 (Linear "5"): linear: input [64,1000] has 1000 features, ...`.
 */
import { ConfigError, DescentError, ShapeError, fmtShape } from "../errors/errors.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { ELU, LeakyReLU, PReLU, ReLU, Sigmoid, Softmax, Tanh } from "./activations.js";
import { AvgPool2d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Linear, MaxPool2d } from "./layers.js";
import { Module, withContext } from "./module.js";
import { BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm } from "./normalization.js";
import { MAX_MODEL_ELEMENTS, MAX_SAMPLE_ELEMENTS, specElements } from "./budget.js";
import { validateLayerSpecs, type LayerSpec } from "./specs.js";
import { sizeOf } from "../tensor/shape.js";
import { checkDType } from "./util.js";
import { preview } from "../errors/values.js";

/** A module that can write itself as a LayerSpec (every built-in layer). */
export interface SpecLayer {
  toSpec(): LayerSpec;
}

function hasSpec(m: Module): m is Module & SpecLayer {
  return typeof (m as Partial<SpecLayer>).toSpec === "function";
}

const wrapped = new WeakSet<object>();

export class Sequential extends Module {
  /** The generator given to buildSequential (dropout draws from it), or null when built by hand. */
  readonly rng: Generator | null;
  private readonly layers: Module[];

  constructor(layers: readonly Module[], options: { rng?: Generator } = {}) {
    super();
    this.layers = [...layers];
    this.layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ConfigError(`Sequential: layer ${i} is not a Module`);
      this.registerModule(String(i), m);
    });
    this.rng = options.rng ?? null;
  }

  get length(): number {
    return this.layers.length;
  }

  /** The i-th layer. */
  at(i: number): Module {
    const m = this.layers[i];
    if (!m) throw new ConfigError(`Sequential: no layer ${i} (it has ${this.layers.length})`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.layers[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    let y = x;
    this.layers.forEach((m, i) => {
      try {
        y = m.forward(y);
      } catch (e) {
        if (!(e instanceof DescentError) || wrapped.has(e)) throw e;
        const out = withContext(e, `layer ${i} (${m.label})`) as DescentError;
        wrapped.add(out);
        throw out;
      }
    });
    return y;
  }

  /** The shape after every layer (without the batch dim): element i is layer i's output. */
  shapes(inputShape: readonly number[]): number[][] {
    const out: number[][] = [];
    let s = [...inputShape];
    this.layers.forEach((m, i) => {
      try {
        s = m.outputShape(s);
      } catch (e) {
        throw withContext(e, `layer ${i} (${m.label})`);
      }
      out.push(s);
    });
    return out;
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return this.shapes(inputShape).at(-1) ?? [...inputShape];
  }

  /** The layers as LayerSpecs (with every inferred size filled in): JSON that rebuilds the model. */
  specs(): LayerSpec[] {
    return this.layers.map((m, i) => {
      if (!hasSpec(m)) throw new ConfigError(`Sequential.specs: layer ${i} (${m.label}) is a custom module with no toSpec()`);
      return m.toSpec();
    });
  }

  toSpec(): never {
    throw new ConfigError(`Sequential: a nested Sequential has no LayerSpec; flatten it into the outer list`);
  }
}

export interface BuildOptions {
  /** the shape of one example, without the batch dim, e.g. [1, 28, 28] */
  inputShape: readonly number[];
  /** draws the initial parameters; dropout layers keep it and draw their masks from it */
  rng: Generator;
  /** dtype of parameters and buffers (default float32) */
  dtype?: FloatDType | undefined;
  /**
   * The most values (parameters and buffers) the model may allocate, checked layer by layer before
   * each is built (default MAX_MODEL_ELEMENTS); `budgetReason` says where the bound comes from.
   */
  maxElements?: number | undefined;
  budgetReason?: string | undefined;
}

/**
 * Builds a Sequential from specs: validates them (structure, then shapes), infers every input
 * size, and initializes every parameter from `rng`. Errors name the layer index and type and the
 * sizes that disagree.
 */
export function buildSequential(specs: readonly LayerSpec[], options: BuildOptions): Sequential {
  const list = validateLayerSpecs(specs);
  const dtype = checkDType("buildSequential", options.dtype);
  const { rng } = options;
  const inputShape = [...options.inputShape];
  if (!Array.isArray(options.inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ConfigError(`buildSequential: invalid inputShape ${preview(options.inputShape)} (expected positive integers, without the batch dim)`);
  }
  if (sizeOf(inputShape) > MAX_SAMPLE_ELEMENTS) {
    throw new ConfigError(`buildSequential: inputShape ${fmtShape(inputShape)} has more than ${MAX_SAMPLE_ELEMENTS} values per sample`);
  }
  const budget = options.maxElements ?? MAX_MODEL_ELEMENTS;
  const reason = options.budgetReason ?? `the limit for one model (${MAX_MODEL_ELEMENTS})`;
  const layers: Module[] = [];
  let shape = inputShape;
  let allocated = 0;
  list.forEach((spec, i) => {
    const here = `layer ${i} (${spec.type})`;
    const before = i === 0 ? `the input shape ${fmtShape(inputShape)}` : `layer ${i - 1} (${list[i - 1]!.type}) outputs ${fmtShape(shape)}`;
    let layer: Module;
    try {
      // sizes come from a config or a file: count what the layer allocates before building it
      const needs = specElements(spec, shape);
      allocated += needs;
      if (allocated > budget) {
        throw new ConfigError(`needs ${needs} weight values, ${allocated} with the layers before it: more than ${reason}`);
      }
      layer = layerFromSpec(spec, shape, { rng, dtype, before });
      layers.push(layer);
      shape = layer.outputShape(shape);
      if (sizeOf(shape) > MAX_SAMPLE_ELEMENTS) {
        throw new ConfigError(`outputs ${fmtShape(shape)} per sample, more than ${MAX_SAMPLE_ELEMENTS} values`);
      }
    } catch (e) {
      throw withContext(e, here);
    }
  });
  return new Sequential(layers, { rng });
}

/** The size a spec gives, checked against the inferred one. */
function inferred(name: string, given: number | undefined, actual: number, before: string): number {
  if (given !== undefined && given !== actual) {
    throw new ShapeError(`${name} is ${given}, but ${before} (${name} ${actual})`);
  }
  return actual;
}

function channelsOf(type: string, shape: readonly number[], before: string, rank: number[]): number {
  if (!rank.includes(shape.length)) {
    const want = rank.map((r) => (r === 1 ? "[C]" : r === 2 ? "[C, L]" : "[C, H, W]")).join(" or ");
    throw new ShapeError(`${type} expects ${want} per example, but ${before}`);
  }
  return shape[0]!;
}

function layerFromSpec(spec: LayerSpec, shape: readonly number[], ctx: { rng: Generator; dtype: FloatDType; before: string }): Module {
  const { rng, dtype, before } = ctx;
  const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));
  switch (spec.type) {
    case "linear": {
      if (shape.length === 0) throw new ShapeError(`linear needs at least one input dim, but ${before}`);
      const inFeatures = inferred("inFeatures", spec.inFeatures, shape[shape.length - 1]!, before);
      return new Linear({
        inFeatures, outFeatures: spec.outFeatures, rng, dtype, ...opt("bias", spec.bias),
        ...opt("weightInit", spec.weightInit), ...opt("biasInit", spec.biasInit),
      });
    }
    case "conv2d": {
      const inChannels = inferred("inChannels", spec.inChannels, channelsOf("conv2d", shape, before, [3]), before);
      return new Conv2d({
        inChannels, outChannels: spec.outChannels, kernelSize: spec.kernelSize, rng, dtype, ...opt("stride", spec.stride),
        ...opt("padding", spec.padding), ...opt("dilation", spec.dilation), ...opt("groups", spec.groups), ...opt("bias", spec.bias),
        ...opt("weightInit", spec.weightInit), ...opt("biasInit", spec.biasInit),
      });
    }
    case "maxPool2d":
      return new MaxPool2d({ kernelSize: spec.kernelSize, ...opt("stride", spec.stride), ...opt("padding", spec.padding), ...opt("dilation", spec.dilation) });
    case "avgPool2d":
      return new AvgPool2d({ kernelSize: spec.kernelSize, ...opt("stride", spec.stride), ...opt("padding", spec.padding) });
    case "globalAvgPool2d":
      return new GlobalAvgPool2d();
    case "flatten":
      return new Flatten({ ...opt("startDim", spec.startDim), ...opt("endDim", spec.endDim) });
    case "batchNorm1d":
    case "batchNorm2d": {
      const is1d = spec.type === "batchNorm1d";
      const numFeatures = inferred("numFeatures", spec.numFeatures, channelsOf(spec.type, shape, before, is1d ? [1, 2] : [3]), before);
      const o = { numFeatures, dtype, ...opt("momentum", spec.momentum), ...opt("eps", spec.eps), ...opt("affine", spec.affine) };
      return is1d ? new BatchNorm1d(o) : new BatchNorm2d(o);
    }
    case "layerNorm":
      return new LayerNorm({
        normalizedShape: spec.normalizedShape ?? [...shape], dtype, ...opt("eps", spec.eps), ...opt("elementwiseAffine", spec.elementwiseAffine),
      });
    case "instanceNorm2d": {
      const numFeatures = inferred("numFeatures", spec.numFeatures, channelsOf("instanceNorm2d", shape, before, [3]), before);
      return new InstanceNorm2d({ numFeatures, dtype, ...opt("eps", spec.eps), ...opt("affine", spec.affine) });
    }
    case "groupNorm": {
      const numChannels = inferred("numChannels", spec.numChannels, channelsOf("groupNorm", shape, before, [1, 2, 3]), before);
      return new GroupNorm({ numGroups: spec.numGroups, numChannels, dtype, ...opt("eps", spec.eps), ...opt("affine", spec.affine) });
    }
    case "dropout":
      return new Dropout({ rng, ...opt("p", spec.p) });
    case "relu":
      return new ReLU();
    case "leakyRelu":
      return new LeakyReLU({ ...opt("negativeSlope", spec.negativeSlope) });
    case "prelu":
      return new PReLU({ dtype, ...opt("numParameters", spec.numParameters), ...opt("init", spec.init) });
    case "elu":
      return new ELU({ ...opt("alpha", spec.alpha) });
    case "sigmoid":
      return new Sigmoid();
    case "tanh":
      return new Tanh();
    case "softmax":
      return new Softmax({ ...opt("dim", spec.dim) });
    default:
      spec satisfies never;
      throw new ConfigError(`buildSequential: unknown layer type ${preview((spec as { type: unknown }).type)}`);
  }
}
