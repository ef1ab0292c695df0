/**
 * Inverted dropout: in training, each element is kept with probability 1 − p and scaled by
 * 1 / (1 − p), so the expected activation is unchanged and evaluation is the identity.
 * The mask is drawn from the generator passed in: the same seed drops the same units.
 */
import { ConfigError } from "../errors/errors.js";
import { requireFloat, typedArrayFor } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { fromValues } from "../tensor/creation.js";
import { mul } from "./elementwise.js";

export interface DropoutOptions {
  /** probability of dropping an element, in [0, 1) */
  p: number;
  training: boolean;
  rng: Generator;
}

export function dropout(x: Tensor, options: DropoutOptions): Tensor {
  const { p, training, rng } = options;
  if (!(p >= 0 && p < 1)) throw new ConfigError(`dropout: invalid p ${p} (expected 0 <= p < 1)`);
  requireFloat("dropout", x.dtype);
  if (!training || p === 0) return x;
  const mask = typedArrayFor(x.dtype, x.size);
  const scale = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() >= p ? scale : 0;
  return mul(x, fromValues(mask, x.shape, { backend: x.backend }));
}
