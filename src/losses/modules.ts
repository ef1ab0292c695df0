/**
 * Losses as objects: each holds its options (validated at construction) and applies the function
 * of the same name in losses.ts, `new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, y)`.
 * They take two tensors, so they are not Modules; they have no parameters.
 */
import type { Tensor } from "../tensor/tensor.js";
import {
  binaryCrossEntropy, binaryCrossEntropyWithLogits, checkReduction, crossEntropy, finiteNumber, focal, huber, l1, mse, rmse, smoothL1,
  type BinaryCrossEntropyOptions, type BinaryCrossEntropyWithLogitsOptions, type CrossEntropyOptions, type FocalOptions,
  type ReductionOptions,
} from "./losses.js";

export abstract class Loss {
  /** The loss of `input` (predictions or logits) against `target`. */
  abstract forward(input: Tensor, target: Tensor): Tensor;
}

function checked<T extends ReductionOptions>(name: string, options: T): T {
  checkReduction(name, options.reduction);
  return { ...options };
}

function checkNumber(name: string, key: string, v: number | undefined, ok: (v: number) => boolean, allowed: string): void {
  if (v !== undefined) finiteNumber(name, key, v, ok, allowed);
}

/** Softmax cross-entropy from logits; see crossEntropy. */
export class CrossEntropyLoss extends Loss {
  readonly options: CrossEntropyOptions;
  constructor(options: CrossEntropyOptions = {}) {
    super();
    checkNumber("CrossEntropyLoss", "labelSmoothing", options.labelSmoothing, (v) => v >= 0 && v <= 1, "0 <= labelSmoothing <= 1");
    this.options = checked("CrossEntropyLoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

/** Binary cross-entropy from probabilities; see binaryCrossEntropy. */
export class BinaryCrossEntropyLoss extends Loss {
  readonly options: BinaryCrossEntropyOptions;
  constructor(options: BinaryCrossEntropyOptions = {}) {
    super();
    this.options = checked("BinaryCrossEntropyLoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, this.options);
  }
}

/** Binary cross-entropy from logits; see binaryCrossEntropyWithLogits. */
export class BinaryCrossEntropyWithLogitsLoss extends Loss {
  readonly options: BinaryCrossEntropyWithLogitsOptions;
  constructor(options: BinaryCrossEntropyWithLogitsOptions = {}) {
    super();
    this.options = checked("BinaryCrossEntropyWithLogitsLoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

/** Focal loss, sigmoid or softmax form by the target's dtype; see focal. */
export class FocalLoss extends Loss {
  readonly options: FocalOptions;
  constructor(options: FocalOptions = {}) {
    super();
    checkNumber("FocalLoss", "gamma", options.gamma, (v) => v >= 0, "gamma >= 0");
    this.options = checked("FocalLoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return focal(input, target, this.options);
  }
}

/** Mean absolute error; see l1. */
export class L1Loss extends Loss {
  readonly options: ReductionOptions;
  constructor(options: ReductionOptions = {}) {
    super();
    this.options = checked("L1Loss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1(input, target, this.options);
  }
}

/** Mean squared error; see mse. */
export class MSELoss extends Loss {
  readonly options: ReductionOptions;
  constructor(options: ReductionOptions = {}) {
    super();
    this.options = checked("MSELoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mse(input, target, this.options);
  }
}

/** Smooth L1 with threshold β; see smoothL1. */
export class SmoothL1Loss extends Loss {
  readonly options: ReductionOptions & { beta?: number };
  constructor(options: ReductionOptions & { beta?: number } = {}) {
    super();
    checkNumber("SmoothL1Loss", "beta", options.beta, (v) => v >= 0, "beta >= 0");
    this.options = checked("SmoothL1Loss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1(input, target, this.options);
  }
}

/** Huber with threshold δ; see huber. */
export class HuberLoss extends Loss {
  readonly options: ReductionOptions & { delta?: number };
  constructor(options: ReductionOptions & { delta?: number } = {}) {
    super();
    checkNumber("HuberLoss", "delta", options.delta, (v) => v > 0, "delta > 0");
    this.options = checked("HuberLoss", options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huber(input, target, this.options);
  }
}

/** Root mean squared error (always a scalar); see rmse. */
export class RMSELoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return rmse(input, target);
  }
}
