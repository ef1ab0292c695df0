/**
 * Normalization layers over the functional ops in ops/norm.ts. Each normalizes, then applies a
 * learnable per-channel (or per-element) scale γ ("weight", init 1) and shift β ("bias", init 0):
 *
 *   y = (x − μ) / √(σ² + eps) · γ + β      (σ² the biased variance of the normalized group)
 *
 * Batch norm is the one with state. In training, μ and σ² are the batch's per-channel statistics
 * and the running statistics move toward them, with t the number of training batches seen so far
 * (this one included):
 *
 *   running ← (1 − f)·running + f·batch     (the batch variance unbiased, n/(n−1))
 *   f = momentum, or 1/t with momentum null (the cumulative average of every batch, as PyTorch)
 *
 * In evaluation the running statistics are used instead, so a single example gets the same
 * output whatever batch it is in. The buffers are immutable tensors that the layer replaces.
 * Their state-dict keys are PyTorch's (`running_mean`, `running_var`, `num_batches_tracked`, an
 * int32 scalar), so a state dict moves between descent and torch.nn.BatchNorm{1,2}d both ways.
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { noGrad } from "../autograd/mode.js";
import { add, div, mul, sub } from "../ops/elementwise.js";
import { cast } from "../ops/movement.js";
import { batchNorm, groupNorm, instanceNorm, layerNorm } from "../ops/norm.js";
import { full } from "../tensor/creation.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";
import type { LayerSpec } from "./specs.js";
import { checkDType, checkEps, checkInt } from "./util.js";

export interface BatchNormLayerOptions {
  numFeatures: number;
  /** weight of the current batch in the running statistics (default 0.1); null: the cumulative average */
  momentum?: number | null;
  /** added to the variance before the square root (default 1e-5) */
  eps?: number;
  /** learnable γ and β (default true) */
  affine?: boolean;
  dtype?: FloatDType;
}

/**
 * What every normalization layer shares: γ ("weight", init 1) and β ("bias", init 0) of
 * `affineShape` when the layer is affine (none otherwise), and their reset.
 */
abstract class AffineNorm extends Module {
  readonly dtype: FloatDType;
  private readonly affineShape: readonly number[];

  constructor(name: string, affineShape: readonly number[], affine: boolean, dtype: FloatDType | undefined) {
    super();
    this.dtype = checkDType(name, dtype);
    this.affineShape = [...affineShape];
    this.registerParameter("weight", affine ? new Parameter(full(affineShape, 1, { dtype: this.dtype })) : null);
    this.registerParameter("bias", affine ? new Parameter(full(affineShape, 0, { dtype: this.dtype })) : null);
  }

  get weight(): Parameter | null {
    return this.parameter("weight");
  }
  get bias(): Parameter | null {
    return this.parameter("bias");
  }

  protected override resetOwnParameters(_rng: Generator): void {
    this.weight?.assign(full(this.affineShape, 1, { dtype: this.dtype }));
    this.bias?.assign(full(this.affineShape, 0, { dtype: this.dtype }));
  }
}

/** The buffer names, PyTorch's. */
const RUNNING_MEAN = "running_mean";
const RUNNING_VAR = "running_var";
const NUM_BATCHES_TRACKED = "num_batches_tracked";

abstract class BatchNormBase extends AffineNorm {
  readonly numFeatures: number;
  /** The weight of each batch in the running statistics; null for their cumulative average. */
  readonly momentum: number | null;
  readonly eps: number;
  readonly affine: boolean;

  constructor(name: string, options: BatchNormLayerOptions) {
    const numFeatures = checkInt(name, "numFeatures", options.numFeatures, 1);
    super(name, [numFeatures], options.affine ?? true, options.dtype);
    this.numFeatures = numFeatures;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ConfigError(`${name}: invalid momentum ${this.momentum} (expected 0 <= momentum <= 1, or null for the cumulative average)`);
    }
    this.eps = checkEps(name, options.eps ?? 1e-5);
    this.affine = options.affine ?? true;
    this.registerBuffer(RUNNING_MEAN, null);
    this.registerBuffer(RUNNING_VAR, null);
    this.registerBuffer(NUM_BATCHES_TRACKED, null);
    this.resetBuffers();
  }

  get runningMean(): Tensor {
    return this.buffer(RUNNING_MEAN)!;
  }
  get runningVar(): Tensor {
    return this.buffer(RUNNING_VAR)!;
  }
  /** The number of training batches the running statistics have seen (an int32 scalar). */
  get numBatchesTracked(): Tensor {
    return this.buffer(NUM_BATCHES_TRACKED)!;
  }

  protected abstract checkInput(x: readonly number[], perSample: boolean): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x.shape, false);
    const cumulative = this.momentum === null;
    // with momentum null the op's update (f = 1) returns the batch statistics, averaged in below
    const r = batchNorm(x, {
      weight: this.param("weight"), bias: this.param("bias"), runningMean: this.runningMean, runningVar: this.runningVar,
      training: this.training, momentum: this.momentum ?? 1, eps: this.eps,
    });
    if (this.training) {
      const tracked = add(this.numBatchesTracked, 1);
      this.setBuffer(NUM_BATCHES_TRACKED, tracked);
      if (cumulative) {
        noGrad(() => {
          const f = div(1, cast(tracked, this.dtype));
          const average = (old: Tensor, batch: Tensor) => add(mul(old, sub(1, f)), mul(batch, f));
          this.setBuffer(RUNNING_MEAN, average(this.runningMean, r.runningMean!));
          this.setBuffer(RUNNING_VAR, average(this.runningVar, r.runningVar!));
        });
      } else {
        this.setBuffer(RUNNING_MEAN, r.runningMean);
        this.setBuffer(RUNNING_VAR, r.runningVar);
      }
    }
    return r.output;
  }

  private resetBuffers(): void {
    const c = [this.numFeatures];
    this.setBuffer(RUNNING_MEAN, full(c, 0, { dtype: this.dtype }));
    this.setBuffer(RUNNING_VAR, full(c, 1, { dtype: this.dtype }));
    this.setBuffer(NUM_BATCHES_TRACKED, full([], 0, { dtype: "int32" }));
  }

  override outputShape(inputShape: readonly number[]): number[] {
    this.checkInput(inputShape, true);
    return [...inputShape];
  }

  protected channelCheck(shape: readonly number[], channelDim: number): void {
    if (shape[channelDim] !== this.numFeatures) {
      throw new ShapeError(`${this.label}: input ${fmtShape(shape)} has ${shape[channelDim] ?? 0} channels, expected numFeatures ${this.numFeatures}`);
    }
  }

  protected override resetOwnParameters(rng: Generator): void {
    super.resetOwnParameters(rng);
    this.resetBuffers();
  }

  protected specFields() {
    return { numFeatures: this.numFeatures, momentum: this.momentum, eps: this.eps, affine: this.affine };
  }
}

/** Batch norm over [N, C] or [N, C, L]: statistics per channel C. */
export class BatchNorm1d extends BatchNormBase {
  constructor(options: BatchNormLayerOptions) {
    super("BatchNorm1d", options);
  }
  protected checkInput(shape: readonly number[], perSample: boolean): void {
    const rank = shape.length + (perSample ? 1 : 0);
    if (rank !== 2 && rank !== 3) throw new ShapeError(`${this.label}: expected input [N, C] or [N, C, L], got ${perSample ? `[N,${shape.join(",")}]` : fmtShape(shape)}`);
    this.channelCheck(shape, perSample ? 0 : 1);
  }
  toSpec(): LayerSpec {
    return { type: "batchNorm1d", ...this.specFields() };
  }
}

/** Batch norm over [N, C, H, W]: statistics per channel over N, H and W. */
export class BatchNorm2d extends BatchNormBase {
  constructor(options: BatchNormLayerOptions) {
    super("BatchNorm2d", options);
  }
  protected checkInput(shape: readonly number[], perSample: boolean): void {
    const rank = shape.length + (perSample ? 1 : 0);
    if (rank !== 4) throw new ShapeError(`${this.label}: expected input [N, C, H, W], got ${perSample ? `[N,${shape.join(",")}]` : fmtShape(shape)}`);
    this.channelCheck(shape, perSample ? 0 : 1);
  }
  toSpec(): LayerSpec {
    return { type: "batchNorm2d", ...this.specFields() };
  }
}

export interface LayerNormOptions {
  /** the trailing dims normalized together (a number means [n]) */
  normalizedShape: number | readonly number[];
  eps?: number;
  /** learnable γ and β of normalizedShape (default true) */
  elementwiseAffine?: boolean;
  dtype?: FloatDType;
}

/** Normalizes each sample over its trailing `normalizedShape` dims (no running statistics). */
export class LayerNorm extends AffineNorm {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(options: LayerNormOptions) {
    const s = typeof options.normalizedShape === "number" ? [options.normalizedShape] : [...options.normalizedShape];
    if (s.length === 0) throw new ConfigError(`LayerNorm: invalid normalizedShape [] (expected at least one dim)`);
    s.forEach((d, i) => checkInt("LayerNorm", `normalizedShape[${i}]`, d, 1));
    super("LayerNorm", s, options.elementwiseAffine ?? true, options.dtype);
    this.normalizedShape = s;
    this.eps = checkEps("LayerNorm", options.eps ?? 1e-5);
    this.elementwiseAffine = options.elementwiseAffine ?? true;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.param("weight"), bias: this.param("bias"), eps: this.eps });
  }

  override outputShape(inputShape: readonly number[]): number[] {
    const k = this.normalizedShape.length;
    const tail = inputShape.slice(inputShape.length - k);
    if (k > inputShape.length || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(`${this.label}: normalizedShape ${fmtShape(this.normalizedShape)} does not match the trailing dims of input ${fmtShape(inputShape)}`);
    }
    return [...inputShape];
  }

  toSpec(): LayerSpec {
    return { type: "layerNorm", normalizedShape: [...this.normalizedShape], eps: this.eps, elementwiseAffine: this.elementwiseAffine };
  }
}

export interface InstanceNormOptions {
  numFeatures: number;
  eps?: number;
  /** learnable per-channel γ and β (default false, as in PyTorch) */
  affine?: boolean;
  dtype?: FloatDType;
}

/** Normalizes each (sample, channel) plane of [N, C, H, W] over H and W. */
export class InstanceNorm2d extends AffineNorm {
  readonly numFeatures: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(options: InstanceNormOptions) {
    const numFeatures = checkInt("InstanceNorm2d", "numFeatures", options.numFeatures, 1);
    super("InstanceNorm2d", [numFeatures], options.affine ?? false, options.dtype);
    this.numFeatures = numFeatures;
    this.eps = checkEps("InstanceNorm2d", options.eps ?? 1e-5);
    this.affine = options.affine ?? false;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${this.label}: expected input [N, ${this.numFeatures}, H, W], got ${fmtShape(x.shape)}`);
    }
    return instanceNorm(x, { weight: this.param("weight"), bias: this.param("bias"), eps: this.eps });
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3 || inputShape[0] !== this.numFeatures) {
      throw new ShapeError(`${this.label}: expected input [${this.numFeatures}, H, W] per sample, got ${fmtShape(inputShape)}`);
    }
    return [...inputShape];
  }

  toSpec(): LayerSpec {
    return { type: "instanceNorm2d", numFeatures: this.numFeatures, eps: this.eps, affine: this.affine };
  }
}

export interface GroupNormOptions {
  /** must divide numChannels */
  numGroups: number;
  numChannels: number;
  eps?: number;
  /** learnable per-channel γ and β (default true) */
  affine?: boolean;
  dtype?: FloatDType;
}

/** Splits the C channels into numGroups groups and normalizes each (sample, group) together. */
export class GroupNorm extends AffineNorm {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(options: GroupNormOptions) {
    const numGroups = checkInt("GroupNorm", "numGroups", options.numGroups, 1);
    const numChannels = checkInt("GroupNorm", "numChannels", options.numChannels, 1);
    if (numChannels % numGroups !== 0) {
      throw new ConfigError(`GroupNorm: numGroups ${numGroups} does not divide numChannels ${numChannels}`);
    }
    super("GroupNorm", [numChannels], options.affine ?? true, options.dtype);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = checkEps("GroupNorm", options.eps ?? 1e-5);
    this.affine = options.affine ?? true;
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(`${this.label}: expected input [N, ${this.numChannels}, ...], got ${fmtShape(x.shape)}`);
    }
    return groupNorm(x, this.numGroups, { weight: this.param("weight"), bias: this.param("bias"), eps: this.eps });
  }

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1 || inputShape[0] !== this.numChannels) {
      throw new ShapeError(`${this.label}: input ${fmtShape(inputShape)} has ${inputShape[0] ?? 0} channels, expected numChannels ${this.numChannels}`);
    }
    return [...inputShape];
  }

  toSpec(): LayerSpec {
    return { type: "groupNorm", numGroups: this.numGroups, numChannels: this.numChannels, eps: this.eps, affine: this.affine };
  }
}
