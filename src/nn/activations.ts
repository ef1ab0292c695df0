/**
 * Activation layers: thin modules over the activation ops, so they can sit in a Sequential and be
 * written as specs. All keep the input's shape. PReLU is the one with a parameter (its slope).
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { elu, leakyRelu, prelu, relu, sigmoid, softmax, tanh } from "../ops/activations.js";
import { full } from "../tensor/creation.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";
import type { LayerSpec } from "./specs.js";
import { checkDType, checkInt } from "./util.js";

/** A layer applied to each element alone: the output has the input's shape. */
abstract class Elementwise extends Module {
  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
  abstract toSpec(): LayerSpec;
}

/** max(x, 0). */
export class ReLU extends Elementwise {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
  toSpec(): LayerSpec {
    return { type: "relu" };
  }
}

/** x for x > 0, negativeSlope·x otherwise (default slope 0.01). */
export class LeakyReLU extends Elementwise {
  readonly negativeSlope: number;
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    const a = options.negativeSlope ?? 0.01;
    if (!Number.isFinite(a)) throw new ConfigError(`LeakyReLU: invalid negativeSlope ${a} (expected a finite number)`);
    this.negativeSlope = a;
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  toSpec(): LayerSpec {
    return { type: "leakyRelu", negativeSlope: this.negativeSlope };
  }
}

export interface PReLUOptions {
  /** 1 (one slope shared by all channels, the default) or the number of channels (dim 1) */
  numParameters?: number;
  /** initial slope (default 0.25, as in PyTorch) */
  init?: number;
  dtype?: FloatDType;
}

/** x for x > 0, a·x otherwise, with a learnable slope a ([1] or one per channel). */
export class PReLU extends Elementwise {
  readonly numParameters: number;
  readonly init: number;
  readonly dtype: FloatDType;
  constructor(options: PReLUOptions = {}) {
    super();
    this.numParameters = checkInt("PReLU", "numParameters", options.numParameters ?? 1, 1);
    this.init = options.init ?? 0.25;
    if (!Number.isFinite(this.init)) throw new ConfigError(`PReLU: invalid init ${this.init} (expected a finite number)`);
    this.dtype = checkDType("PReLU", options.dtype);
    this.registerParameter("weight", new Parameter(full([this.numParameters], this.init, { dtype: this.dtype })));
  }
  get weight(): Parameter {
    return this.parameter("weight")!;
  }
  forward(x: Tensor): Tensor {
    return prelu(x, this.param("weight")!);
  }
  override outputShape(inputShape: readonly number[]): number[] {
    if (this.numParameters > 1 && inputShape[0] !== this.numParameters) {
      throw new ShapeError(`${this.label}: input ${fmtShape(inputShape)} has ${inputShape[0] ?? 0} channels, the layer has ${this.numParameters} slopes`);
    }
    return [...inputShape];
  }
  protected override resetOwnParameters(_rng: Generator): void {
    this.weight.assign(full([this.numParameters], this.init, { dtype: this.dtype }));
  }
  toSpec(): LayerSpec {
    return { type: "prelu", numParameters: this.numParameters, init: this.init };
  }
}

/** x for x > 0, alpha·(eˣ − 1) otherwise (default alpha 1). */
export class ELU extends Elementwise {
  readonly alpha: number;
  constructor(options: { alpha?: number } = {}) {
    super();
    const a = options.alpha ?? 1;
    if (!Number.isFinite(a)) throw new ConfigError(`ELU: invalid alpha ${a} (expected a finite number)`);
    this.alpha = a;
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
  toSpec(): LayerSpec {
    return { type: "elu", alpha: this.alpha };
  }
}

/** 1 / (1 + e⁻ˣ). */
export class Sigmoid extends Elementwise {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
  toSpec(): LayerSpec {
    return { type: "sigmoid" };
  }
}

/** tanh x. */
export class Tanh extends Elementwise {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
  toSpec(): LayerSpec {
    return { type: "tanh" };
  }
}

/**
 * e^{x_i} / Σ_j e^{x_j} along `dim` (counting the batch dim as 0; default 1). For training a
 * classifier, leave it out and give logits to crossEntropy, which is stabler.
 */
export class Softmax extends Elementwise {
  readonly dim: number;
  constructor(options: { dim?: number } = {}) {
    super();
    const d = options.dim ?? 1;
    if (!Number.isInteger(d)) throw new ConfigError(`Softmax: invalid dim ${d} (expected an integer)`);
    this.dim = d;
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
  override outputShape(inputShape: readonly number[]): number[] {
    const r = inputShape.length + 1;
    const d = this.dim < 0 ? this.dim + r : this.dim;
    if (d < 1 || d >= r) throw new ShapeError(`${this.label}: dim ${this.dim} does not fit input [N,${inputShape.join(",")}] (the batch dim 0 is not allowed)`);
    return [...inputShape];
  }
  toSpec(): LayerSpec {
    return { type: "softmax", dim: this.dim };
  }
}
