/**
 * What a layer will allocate, known before it is built. A model file or config names its sizes
 * (outFeatures, outChannels, ...); built blindly, a damaged one claiming 2^28 outputs allocates
 * gigabytes before anything can be compared. buildSequential asks `specElements` for the number of
 * values (parameters and buffers) each layer's spec allocates at the shape that reaches it, and
 * refuses the layer before constructing it when the model would pass its budget: MAX_MODEL_ELEMENTS,
 * or, for a saved model, the number of values its weights file holds.
 *
 * The counts mirror the layers' constructors; a test builds every layer type and checks that the
 * count equals what the built layer holds, so the two cannot drift apart.
 */
import { sizeOf } from "../tensor/shape.js";
import type { LayerSpec } from "./specs.js";

/** The most values (parameters and buffers) one model may allocate: 2^27, 512 MiB of float32. */
export const MAX_MODEL_ELEMENTS = 2 ** 27;

/** The most values one sample may have after any layer: 2^26. */
export const MAX_SAMPLE_ELEMENTS = 2 ** 26;

const pairOf = (p: number | readonly number[] | undefined, fallback: number): [number, number] =>
  p === undefined ? [fallback, fallback] : typeof p === "number" ? [p, p] : [p[0] ?? fallback, p[1] ?? fallback];

/** The number of values (parameters and buffers) the layer of `spec` allocates for input `shape`. */
export function specElements(spec: LayerSpec, shape: readonly number[]): number {
  const channels = shape[0] ?? 1;
  switch (spec.type) {
    case "linear": {
      const inFeatures = shape[shape.length - 1] ?? 1;
      return spec.outFeatures * inFeatures + (spec.bias === false ? 0 : spec.outFeatures);
    }
    case "conv2d": {
      const [kh, kw] = pairOf(spec.kernelSize, 1);
      const groups = spec.groups ?? 1;
      return spec.outChannels * Math.ceil(channels / groups) * kh * kw + (spec.bias === false ? 0 : spec.outChannels);
    }
    case "batchNorm1d":
    case "batchNorm2d":
      return (spec.affine === false ? 2 : 4) * channels + 1;
    case "layerNorm":
      return spec.elementwiseAffine === false ? 0 : 2 * sizeOf(spec.normalizedShape ?? shape);
    case "instanceNorm2d":
      return spec.affine === true ? 2 * channels : 0;
    case "groupNorm":
      return spec.affine === false ? 0 : 2 * channels;
    case "prelu":
      return spec.numParameters ?? 1;
    case "maxPool2d":
    case "avgPool2d":
    case "globalAvgPool2d":
    case "flatten":
    case "dropout":
    case "relu":
    case "leakyRelu":
    case "elu":
    case "sigmoid":
    case "tanh":
    case "softmax":
      return 0;
    default:
      return spec satisfies never;
  }
}
