/**
 * The core layers: Linear, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten and Dropout.
 * Each is configured by one options object, validated at construction (the bad value named),
 * knows its output shape for a given input shape (so a model is checked when it is built, not
 * on the first batch), and writes itself back as a LayerSpec.
 *
 * Default initialization follows PyTorch: Linear and Conv2d draw weight and bias from
 * U(−1/√fanIn, 1/√fanIn), fanIn = inFeatures or (inChannels/groups)·kh·kw (that is
 * kaiming_uniform with a = √5 for the weight). `weightInit` / `biasInit` choose another scheme.
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { defaultLayerInit, initialize, type InitSpec } from "../init/initializers.js";
import { conv2d } from "../ops/conv.js";
import { checkPoolPadding, resolvePadding, windowOutputShape, type Padding, type Pair } from "../ops/window.js";
import { dropout } from "../ops/dropout.js";
import { linear } from "../ops/linalg.js";
import { avgPool2d, globalAvgPool2d, maxPool2d } from "../ops/pool.js";
import { flatten } from "../ops/movement.js";
import type { FloatDType } from "../tensor/dtype.js";
import { generatorOf } from "../tensor/creation.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module, type WindowGeometry } from "./module.js";
import { Parameter } from "./parameter.js";
import type { LayerSpec } from "./specs.js";
import { checkDType, checkInt, checkPair, pairSpec } from "./util.js";

function drawParam(spec: InitSpec | undefined, shape: number[], fanShape: number[], rng: Generator, dtype: FloatDType): Tensor {
  return spec === undefined ? defaultLayerInit(shape, { rng, dtype, fanShape }) : initialize(spec, shape, { rng, dtype, fanShape });
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** add a learnable bias (default true) */
  bias?: boolean;
  /** draws the initial parameters */
  rng: Generator;
  dtype?: FloatDType;
  /** default: U(−1/√inFeatures, 1/√inFeatures) */
  weightInit?: InitSpec;
  /** default: U(−1/√inFeatures, 1/√inFeatures) */
  biasInit?: InitSpec;
}

/** y = x Wᵀ + b with W [outFeatures, inFeatures], b [outFeatures]; input [N, ..., inFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly dtype: FloatDType;
  private readonly weightInit: InitSpec | undefined;
  private readonly biasInit: InitSpec | undefined;

  constructor(options: LinearOptions) {
    super();
    this.inFeatures = checkInt("Linear", "inFeatures", options.inFeatures, 1);
    this.outFeatures = checkInt("Linear", "outFeatures", options.outFeatures, 1);
    this.dtype = checkDType("Linear", options.dtype);
    this.weightInit = options.weightInit;
    this.biasInit = options.biasInit;
    const rng = generatorOf("Linear", options);
    const shape = [this.outFeatures, this.inFeatures];
    this.registerParameter("weight", new Parameter(drawParam(this.weightInit, shape, shape, rng, this.dtype)));
    const bias = options.bias ?? true;
    this.registerParameter("bias", bias ? new Parameter(drawParam(this.biasInit, [this.outFeatures], shape, rng, this.dtype)) : null);
  }

  get weight(): Parameter {
    return this.parameter("weight")!;
  }

  get bias(): Parameter | null {
    return this.parameter("bias");
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.param("weight")!, this.param("bias"));
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const last = inputShape[inputShape.length - 1];
    if (last !== this.inFeatures) {
      throw new ShapeError(`${this.label}: input ${fmtShape(inputShape)} has ${last ?? 0} features, expected inFeatures ${this.inFeatures}`);
    }
    return [...inputShape.slice(0, -1), this.outFeatures];
  }

  protected override resetOwnParameters(rng: Generator): void {
    const shape = [this.outFeatures, this.inFeatures];
    this.weight.assign(drawParam(this.weightInit, shape, shape, rng, this.dtype));
    this.bias?.assign(drawParam(this.biasInit, [this.outFeatures], shape, rng, this.dtype));
  }

  protected override decayedParameterNames(): readonly string[] {
    return ["weight"];
  }

  toSpec(): LayerSpec {
    return {
      type: "linear", inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null,
      ...(this.weightInit !== undefined && { weightInit: this.weightInit }), ...(this.biasInit !== undefined && { biasInit: this.biasInit }),
    };
  }
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  /** zeros on each side, or "same" (stride 1: output size = input size) or "valid" (none); default 0 */
  padding?: Padding;
  dilation?: Pair;
  /** channels are split into this many independent groups (default 1) */
  groups?: number;
  bias?: boolean;
  rng: Generator;
  dtype?: FloatDType;
  /** default: U(−1/√fanIn, 1/√fanIn), fanIn = (inChannels/groups)·kh·kw */
  weightInit?: InitSpec;
  biasInit?: InitSpec;
}

/**
 * 2-D convolution over [N, C, H, W], weight [outChannels, inChannels/groups, kh, kw].
 * Output size per spatial dim: floor((n + 2p − d·(f − 1) − 1) / s) + 1.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | "same";
  readonly dilation: [number, number];
  readonly groups: number;
  readonly dtype: FloatDType;
  private readonly weightInit: InitSpec | undefined;
  private readonly biasInit: InitSpec | undefined;

  constructor(options: Conv2dOptions) {
    super();
    const L = "Conv2d";
    this.inChannels = checkInt(L, "inChannels", options.inChannels, 1);
    this.outChannels = checkInt(L, "outChannels", options.outChannels, 1);
    this.kernelSize = checkPair(L, "kernelSize", options.kernelSize, 1);
    this.stride = checkPair(L, "stride", options.stride ?? 1, 1);
    this.dilation = checkPair(L, "dilation", options.dilation ?? 1, 1);
    const padding = options.padding ?? 0;
    this.padding = padding === "same" ? "same" : padding === "valid" ? [0, 0] : checkPair(L, "padding", padding, 0);
    resolvePadding(L, this.padding, this.kernelSize, this.stride, this.dilation); // "same" needs stride 1 (window.ts)
    this.groups = checkInt(L, "groups", options.groups ?? 1, 1);
    if (this.inChannels % this.groups !== 0 || this.outChannels % this.groups !== 0) {
      throw new ConfigError(
        `${L}: groups ${this.groups} must divide both inChannels ${this.inChannels} and outChannels ${this.outChannels}`,
      );
    }
    this.dtype = checkDType(L, options.dtype);
    this.weightInit = options.weightInit;
    this.biasInit = options.biasInit;
    const rng = generatorOf(L, options);
    const shape = this.weightShape();
    this.registerParameter("weight", new Parameter(drawParam(this.weightInit, shape, shape, rng, this.dtype)));
    const bias = options.bias ?? true;
    this.registerParameter("bias", bias ? new Parameter(drawParam(this.biasInit, [this.outChannels], shape, rng, this.dtype)) : null);
  }

  private weightShape(): number[] {
    return [this.outChannels, this.inChannels / this.groups, this.kernelSize[0], this.kernelSize[1]];
  }

  get weight(): Parameter {
    return this.parameter("weight")!;
  }

  get bias(): Parameter | null {
    return this.parameter("bias");
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.param("weight")!, this.param("bias"), {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
    });
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.label}: expected input [C, H, W] (per sample), got ${fmtShape(inputShape)}`);
    const [c, h, w] = inputShape as [number, number, number];
    if (c !== this.inChannels) throw new ShapeError(`${this.label}: input ${fmtShape(inputShape)} has ${c} channels, expected inChannels ${this.inChannels}`);
    const pads = resolvePadding(this.label, this.padding, this.kernelSize, this.stride, this.dilation);
    return [this.outChannels, ...windowOutputShape(this.label, [h, w], this.kernelSize, this.stride, pads, this.dilation)];
  }

  override windowGeometry(): WindowGeometry {
    return { kernel: this.kernelSize, stride: this.stride, dilation: this.dilation };
  }

  protected override resetOwnParameters(rng: Generator): void {
    const shape = this.weightShape();
    this.weight.assign(drawParam(this.weightInit, shape, shape, rng, this.dtype));
    this.bias?.assign(drawParam(this.biasInit, [this.outChannels], shape, rng, this.dtype));
  }

  protected override decayedParameterNames(): readonly string[] {
    return ["weight"];
  }

  toSpec(): LayerSpec {
    return {
      type: "conv2d", inChannels: this.inChannels, outChannels: this.outChannels, kernelSize: pairSpec(this.kernelSize),
      stride: pairSpec(this.stride), padding: this.padding === "same" ? "same" : pairSpec(this.padding),
      dilation: pairSpec(this.dilation), groups: this.groups, bias: this.bias !== null,
      ...(this.weightInit !== undefined && { weightInit: this.weightInit }), ...(this.biasInit !== undefined && { biasInit: this.biasInit }),
    };
  }
}

export interface Pool2dLayerOptions {
  kernelSize: Pair;
  /** default: kernelSize */
  stride?: Pair;
  /** zeros (avg) or −∞ (max) on each side, at most half the kernel (default 0) */
  padding?: Pair;
}

abstract class Pool2dBase extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(name: string, options: Pool2dLayerOptions & { dilation?: Pair }) {
    super();
    this.kernelSize = checkPair(name, "kernelSize", options.kernelSize, 1);
    this.stride = checkPair(name, "stride", options.stride ?? options.kernelSize, 1);
    this.padding = checkPair(name, "padding", options.padding ?? 0, 0);
    this.dilation = checkPair(name, "dilation", options.dilation ?? 1, 1);
    checkPoolPadding(name, this.padding, this.kernelSize);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.label}: expected input [C, H, W] (per sample), got ${fmtShape(inputShape)}`);
    const [c, h, w] = inputShape as [number, number, number];
    const pads = resolvePadding(this.label, this.padding, this.kernelSize, this.stride, this.dilation);
    return [c, ...windowOutputShape(this.label, [h, w], this.kernelSize, this.stride, pads, this.dilation)];
  }

  override windowGeometry(): WindowGeometry {
    return { kernel: this.kernelSize, stride: this.stride, dilation: this.dilation };
  }
}

/** The maximum of each window (padding never wins); stride defaults to the kernel size. */
export class MaxPool2d extends Pool2dBase {
  constructor(options: Pool2dLayerOptions & { dilation?: Pair }) {
    super("MaxPool2d", options);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  toSpec(): LayerSpec {
    return { type: "maxPool2d", kernelSize: pairSpec(this.kernelSize), stride: pairSpec(this.stride), padding: pairSpec(this.padding), dilation: pairSpec(this.dilation) };
  }
}

/** The mean of each window, padded zeros counted (PyTorch's count_include_pad = true). */
export class AvgPool2d extends Pool2dBase {
  constructor(options: Pool2dLayerOptions) {
    super("AvgPool2d", options);
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }

  toSpec(): LayerSpec {
    return { type: "avgPool2d", kernelSize: pairSpec(this.kernelSize), stride: pairSpec(this.stride), padding: pairSpec(this.padding) };
  }
}

/** The mean over H and W: [N, C, H, W] → [N, C, 1, 1]. Its window is the whole input. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.label}: expected input [C, H, W] (per sample), got ${fmtShape(inputShape)}`);
    return [inputShape[0]!, 1, 1];
  }

  override windowGeometry(inputShape: readonly number[]): WindowGeometry | null {
    if (inputShape.length !== 3) return null;
    return { kernel: [inputShape[1]!, inputShape[2]!], stride: [1, 1], dilation: [1, 1] };
  }

  toSpec(): LayerSpec {
    return { type: "globalAvgPool2d" };
  }
}

export interface FlattenOptions {
  /** first dim to merge, counting the batch dim as 0 (default 1, as in PyTorch's nn.Flatten) */
  startDim?: number;
  /** last dim to merge (default −1) */
  endDim?: number;
}

/** Merges dims startDim..endDim into one: [N, C, H, W] → [N, C·H·W] by default. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(options: FlattenOptions = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
    for (const [k, v] of [["startDim", this.startDim], ["endDim", this.endDim]] as const) {
      if (!Number.isInteger(v)) throw new ConfigError(`Flatten: invalid ${k} ${v} (expected an integer)`);
    }
    if (this.startDim === 0) throw new ConfigError(`Flatten: invalid startDim 0 (the batch dim cannot be merged; expected >= 1 or negative)`);
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const full = [1, ...inputShape];
    const r = full.length;
    const s = this.startDim < 0 ? this.startDim + r : this.startDim;
    const e = this.endDim < 0 ? this.endDim + r : this.endDim;
    if (s < 1 || s >= r || e < s || e >= r) {
      throw new ShapeError(`${this.label}: dims ${this.startDim}..${this.endDim} do not fit input [N,${inputShape.join(",")}]`);
    }
    const merged = full.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return [...full.slice(1, s), merged, ...full.slice(e + 1)];
  }

  toSpec(): LayerSpec {
    return { type: "flatten", startDim: this.startDim, endDim: this.endDim };
  }
}

export interface DropoutLayerOptions {
  /** probability of zeroing an element, in [0, 1) (default 0.5) */
  p?: number;
  /** the masks are drawn from this generator (kept by reference, so its state can be saved) */
  rng: Generator;
}

/**
 * Inverted dropout: in training each element is kept with probability 1 − p and scaled by
 * 1/(1 − p), so E[y] = x; in evaluation it is the identity.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly rng: Generator;

  constructor(options: DropoutLayerOptions) {
    super();
    const p = options.p ?? 0.5;
    if (!(typeof p === "number" && p >= 0 && p < 1)) throw new ConfigError(`Dropout: invalid p ${p} (expected 0 <= p < 1)`);
    this.p = p;
    this.rng = generatorOf("Dropout", options);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training, rng: this.rng });
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpec(): LayerSpec {
    return { type: "dropout", p: this.p };
  }
}
