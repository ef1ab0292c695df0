/**
 * Standardization (z-scores) fitted on the training set only and applied unchanged to dev, test
 * and inference inputs, then saved with the model.
 *
 * Per feature j (each element of featureShape; or, with perChannel, each channel of [N, C, ...]
 * pooled over samples and positions), over the m training values x_ij:
 *
 *   mu_j    = (1/m) sum_i x_ij
 *   sigma_j = sqrt((1/m) sum_i (x_ij - mu_j)^2)        (population std, as scikit-learn's StandardScaler)
 *   z_ij    = (x_ij - mu_j) / sigma_j
 *
 * NOTE: a feature that is constant on the training set (sigma_j <= eps, default 1e-8) gets
 * sigma_j = 1, so it is centred to 0 instead of becoming 0/0 = NaN.
 *
 * Statistics are accumulated in float64 (two passes) and stored as float32, the dtype they are
 * applied in, so the state saved with the model (stateDict or JSON) reproduces the transform bit for bit.
 *
 * Fitting on a dataset whose role is "dev" or "test" is refused: statistics taken from held-out
 * data leak it into training and make the dev/test error optimistic.
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { preview } from "../errors/values.js";
import { fromValues } from "../tensor/creation.js";
import { sameShape, sizeOf } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { createDataset, hostTensor, hostValues, metadataOf, type Dataset } from "./dataset.js";

export interface StandardizerOptions {
  /** One mean/std per channel (dim 0 of featureShape) instead of per feature element. */
  perChannel?: boolean;
  /** A std at or below this counts as zero and is replaced by 1 (default 1e-8). */
  eps?: number;
}

/** The JSON form of a fitted Standardizer. */
export interface StandardizerJSON {
  readonly type: "standardizer";
  readonly featureShape: readonly number[];
  readonly perChannel: boolean;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest normal float32: a std below it turns ordinary inputs into infinities. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/** Refuses std values that are not finite, or too small to divide by (see FLOAT32_MIN_NORMAL). */
function checkStd(std: Float32Array, where: string): void {
  const i = std.findIndex((v) => !(v >= FLOAT32_MIN_NORMAL) || !Number.isFinite(v));
  if (i >= 0) throw new ConfigError(`${where}: std[${i}] is ${std[i]}; std values must be finite and at least ${FLOAT32_MIN_NORMAL} (the smallest normal float32)`);
}

export class Standardizer {
  /** Shape of the statistics: featureShape, or [C] per channel. */
  private statShape: number[];

  private constructor(
    readonly featureShape: readonly number[],
    readonly perChannel: boolean,
    private meanValues: Float32Array,
    private stdValues: Float32Array,
  ) {
    this.statShape = perChannel ? [featureShape[0]!] : [...featureShape];
  }

  /** Fits mean and std on a training set; refuses a dataset whose role is dev or test. */
  static fit(ds: Dataset, options: StandardizerOptions = {}): Standardizer {
    if (ds.role !== undefined && ds.role !== "train") {
      throw new ConfigError(
        `Standardizer.fit: refusing to fit on the ${ds.role} set: statistics must come from the training set only ` +
          `(fit on train, then transform ${ds.role} with it)`,
      );
    }
    const eps = options.eps ?? 1e-8;
    if (!(eps >= 0)) throw new ConfigError(`Standardizer: invalid eps ${eps} (expected >= 0)`);
    const perChannel = options.perChannel ?? false;
    if (perChannel && ds.featureShape.length < 1) throw new ShapeError("Standardizer: perChannel needs samples with a channel dimension");
    if (ds.length === 0) throw new ConfigError("Standardizer.fit: the dataset is empty");
    const x = hostValues(ds.inputs);
    const rowSize = sizeOf(ds.featureShape);
    const channels = perChannel ? ds.featureShape[0]! : rowSize;
    const inner = perChannel ? rowSize / channels : 1;
    const sum = new Float64Array(channels);
    for (let i = 0; i < x.length; i++) sum[Math.floor((i % rowSize) / inner)]! += x[i]!;
    const m = ds.length * inner;
    const mean = sum.map((s) => s / m);
    const sq = new Float64Array(channels);
    for (let i = 0; i < x.length; i++) {
      const j = Math.floor((i % rowSize) / inner);
      const d = x[i]! - mean[j]!;
      sq[j]! += d * d;
    }
    const std = new Float32Array(channels);
    for (let j = 0; j < channels; j++) {
      const s = Math.sqrt(sq[j]! / m);
      std[j] = s <= eps || s < FLOAT32_MIN_NORMAL || !Number.isFinite(s) ? 1 : s;
    }
    return new Standardizer(Object.freeze([...ds.featureShape]), perChannel, Float32Array.from(mean), std);
  }

  /** The fitted means (float32, shape featureShape or [C]). */
  get mean(): Tensor {
    return fromValues(this.meanValues.slice(), this.statShape);
  }

  /** The fitted standard deviations, zero ones already replaced by 1. */
  get std(): Tensor {
    return fromValues(this.stdValues.slice(), this.statShape);
  }

  /** z = (x - mean) / std for inputs [N, ...featureShape] (computed in the input's dtype, on the host). */
  transformTensor(x: Tensor): Tensor {
    if (x.rank < 1 || !sameShape(x.shape.slice(1), this.featureShape)) {
      throw new ShapeError(`Standardizer: fitted on samples of ${fmtShape(this.featureShape)}, got inputs ${fmtShape(x.shape)}`);
    }
    const src = hostValues(x);
    const out = src.slice();
    const rowSize = sizeOf(this.featureShape);
    const inner = this.perChannel ? rowSize / this.featureShape[0]! : 1;
    const mean = this.meanValues;
    const std = this.stdValues;
    for (let i = 0; i < out.length; i++) {
      const j = Math.floor((i % rowSize) / inner);
      out[i] = (src[i]! - mean[j]!) / std[j]!;
    }
    return hostTensor(out, x.shape, x.backend);
  }

  /** The dataset with standardized inputs; labels, role and metadata unchanged. */
  transform(ds: Dataset): Dataset {
    return createDataset(this.transformTensor(ds.inputs), ds.labels, metadataOf(ds));
  }

  /** x = z * std + mean, the inverse transform. */
  inverseTensor(z: Tensor): Tensor {
    if (z.rank < 1 || !sameShape(z.shape.slice(1), this.featureShape)) {
      throw new ShapeError(`Standardizer: fitted on samples of ${fmtShape(this.featureShape)}, got ${fmtShape(z.shape)}`);
    }
    const src = hostValues(z);
    const out = src.slice();
    const rowSize = sizeOf(this.featureShape);
    const inner = this.perChannel ? rowSize / this.featureShape[0]! : 1;
    for (let i = 0; i < out.length; i++) {
      const j = Math.floor((i % rowSize) / inner);
      out[i] = src[i]! * this.stdValues[j]! + this.meanValues[j]!;
    }
    return hostTensor(out, z.shape, z.backend);
  }

  /** The state to save with the model: `{ mean, std }` as float32 tensors. */
  stateDict(): Record<string, Tensor> {
    return { mean: this.mean, std: this.std };
  }

  /** Restores the statistics saved by stateDict; shapes must match this standardizer's. */
  loadStateDict(state: Readonly<Record<string, Tensor>>): void {
    const mean = state["mean"];
    const std = state["std"];
    if (mean === undefined || std === undefined) {
      throw new ConfigError(`Standardizer.loadStateDict: expected keys mean and std, got ${Object.keys(state).join(", ") || "none"}`);
    }
    for (const [name, t] of [["mean", mean], ["std", std]] as const) {
      if (!sameShape(t.shape, this.statShape)) {
        throw new ShapeError(`Standardizer.loadStateDict: ${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(this.statShape)}`);
      }
    }
    const s = Float32Array.from(hostValues(std));
    checkStd(s, "Standardizer.loadStateDict");
    const m = Float32Array.from(hostValues(mean));
    const i = m.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new ConfigError(`Standardizer.loadStateDict: mean[${i}] is ${m[i]}, not a finite number`);
    this.meanValues = m;
    this.stdValues = s;
  }

  /**
   * A Standardizer from a saved stateDict, for samples of `featureShape`: statistics of shape
   * featureShape are per feature, of shape [featureShape[0]] per channel.
   */
  static fromStateDict(state: Readonly<Record<string, Tensor>>, featureShape: readonly number[]): Standardizer {
    const mean = state["mean"];
    const perChannel = mean !== undefined && featureShape.length > 1 && sameShape(mean.shape, [featureShape[0]!]);
    const size = perChannel ? featureShape[0]! : sizeOf(featureShape);
    const s = new Standardizer(Object.freeze([...featureShape]), perChannel, new Float32Array(size), new Float32Array(size).fill(1));
    s.loadStateDict(state);
    return s;
  }

  toJSON(): StandardizerJSON {
    return {
      type: "standardizer",
      featureShape: [...this.featureShape],
      perChannel: this.perChannel,
      mean: Array.from(this.meanValues),
      std: Array.from(this.stdValues),
    };
  }

  /** A Standardizer from its JSON form (validated). */
  static fromJSON(json: unknown): Standardizer {
    const j = json as Partial<StandardizerJSON> | null;
    const bad = (what: string): never => {
      throw new ConfigError(`Standardizer.fromJSON: ${what}`);
    };
    if (j === null || typeof j !== "object" || j.type !== "standardizer") bad('expected an object with type "standardizer"');
    const shape = j!.featureShape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad("featureShape must be an array of dimensions");
    const perChannel = j!.perChannel === true;
    const size = perChannel ? (shape![0] ?? bad("perChannel needs a channel dimension")) : sizeOf(shape!);
    const nums = (v: unknown, name: string): Float32Array => {
      if (!Array.isArray(v) || v.length !== size) return bad(`${name} must be ${size} numbers`);
      const i = v.findIndex((x) => typeof x !== "number" || !(Math.abs(x) <= FLOAT32_MAX));
      if (i >= 0) bad(`${name}[${i}] is ${preview(v[i])}, not a float32 number (finite, at most ${FLOAT32_MAX} in size)`);
      return Float32Array.from(v as number[]);
    };
    const mean = nums(j!.mean, "mean");
    const std = nums(j!.std, "std");
    checkStd(std, "Standardizer.fromJSON");
    return new Standardizer(Object.freeze([...shape!]), perChannel, mean, std);
  }
}
