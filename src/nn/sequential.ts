/**
 * Sequential: layers applied in order, registered as children "0", "1", ... (so parameters are
 * named `0.weight`, `3.bias`), and buildSequential, which makes one from LayerSpecs and an input
 * shape. Building walks the shapes layer by layer: each layer's input size (inFeatures,
 * inChannels, numFeatures, ...) is taken from the shape arriving at it, a size given in the spec
 * must agree with it, and every mismatch is reported before any data flows, naming the layer,
 * its neighbour and both sizes. Each layer is built by its entry in the layer table (LAYERS in
 * specs.ts), after its allocation has been counted against the model's budget.
 *
 * The outputs between the layers are marked hidden (autograd/graph.ts): no one else holds them, so
 * the backward of a loss computed from the result frees them for the next step to reuse.
 * A ReLU then a MaxPool2d runs as the pool then the ReLU, with the same bits (reluThenMaxPool).
 *
 * A runtime failure inside a layer is re-thrown (same error class) prefixed with the layer's index
 * and type, e.g. `layer 5 (Linear "5"): linear: input [64,1000] has 1000 features, ...`.
 */
import { ConfigError, DescentError, addContext, fmtShape } from "../errors/errors.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { markHidden } from "../autograd/graph.js";
import { Module } from "./module.js";
import { ReLU } from "./activations.js";
import { MaxPool2d } from "./layers.js";
import { MAX_MODEL_ELEMENTS, MAX_SAMPLE_ELEMENTS } from "./budget.js";
import { buildLayer, specElements, validateLayerSpecs, type LayerSpec } from "./specs.js";
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

/**
 * Whether `a` then `b` is a built-in ReLU then a built-in MaxPool2d (neither a subclass nor one
 * whose forward was replaced), which give the bits of the
 * pool then the ReLU. Forward: ReLU is monotone, so the window's maximum after it is the ReLU of
 * the maximum before it; where the two argmaxes differ (a window whose maximum is <= 0, turned
 * into ties of +0 by the ReLU) the value is +0 either way. Backward: the ReLU's mask is 0 or 1
 * and belongs to the position the pool picked (its value is that position's input), so masking
 * each window's gradient before the scatter gives the sums that masking each position after it
 * gives: a position whose input is <= 0 gets +0 from both, one whose input is > 0 or NaN is the
 * argmax of the same windows either way and gets the same gradients added in the same order.
 */
function reluThenMaxPool(a: Module, b: Module | undefined): boolean {
  const builtIn = (m: Module, type: typeof ReLU | typeof MaxPool2d) => m.constructor === type && !Object.hasOwn(m, "forward");
  return !!b && builtIn(a, ReLU) && builtIn(b, MaxPool2d);
}

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

  /**
   * The layers in order. The outputs between them reach no one but the next layer, so those that
   * share no storage with x or the result are marked hidden (autograd/graph.ts): the backward of
   * a loss computed from the result frees them, and the next step reuses their arrays.
   *
   * A ReLU followed by a MaxPool2d runs as the pool then the ReLU (reluThenMaxPool says why the
   * values and gradients keep their bits), so the ReLU and its backward touch only the pooled values.
   */
  forward(x: Tensor): Tensor {
    let y = x;
    const between: Tensor[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      if (i > 0) between.push(y);
      if (reluThenMaxPool(this.layers[i]!, this.layers[i + 1])) {
        y = this.layerForward(i + 1, y);
        between.push(y);
        y = this.layerForward(i, y);
        i++;
      } else {
        y = this.layerForward(i, y);
      }
    }
    for (const t of between) if (t.dataId !== x.dataId && t.dataId !== y.dataId) markHidden(t);
    return y;
  }

  /** Layer i's forward, a DescentError from it prefixed with the layer's index and type. */
  private layerForward(i: number, x: Tensor): Tensor {
    const m = this.layers[i]!;
    try {
      return m.forward(x);
    } catch (e) {
      if (!(e instanceof DescentError) || wrapped.has(e)) throw e;
      const out = addContext(e, `layer ${i} (${m.label})`) as DescentError;
      wrapped.add(out);
      throw out;
    }
  }

  /** The shape after every layer (without the batch dim): element i is layer i's output. */
  shapes(inputShape: readonly number[]): number[][] {
    const out: number[][] = [];
    let s = [...inputShape];
    this.layers.forEach((m, i) => {
      try {
        s = m.outputShape(s);
      } catch (e) {
        throw addContext(e, `layer ${i} (${m.label})`);
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
      layer = buildLayer(spec, { shape, rng, dtype, before });
      layers.push(layer);
      shape = layer.outputShape(shape);
      if (sizeOf(shape) > MAX_SAMPLE_ELEMENTS) {
        throw new ConfigError(`outputs ${fmtShape(shape)} per sample, more than ${MAX_SAMPLE_ELEMENTS} values`);
      }
    } catch (e) {
      throw addContext(e, here);
    }
  });
  return new Sequential(layers, { rng });
}
