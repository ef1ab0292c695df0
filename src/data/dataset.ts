/**
 * In-memory datasets: a pair of tensors (inputs [N, ...featureShape] and labels [N] or [N, k]) with
 * the facts a training loop needs: length, featureShape, the classes, and the role a split gave it.
 *
 * Design: tensors are immutable, so the host-side typed array behind a dataset tensor never goes
 * stale. `hostValues` reads it once (or is handed it by whoever built the tensor) and remembers it
 * (tensor/host.ts), so batching, subsetting and standardizing copy rows with `subarray`/`set`
 * instead of reading the whole dataset back per batch or doing per-element tensor ops. So data
 * sets work on a backend that reads asynchronously too: their tensors are made from host arrays.
 */
import type { Backend } from "../backend/backend.js";
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import { typedArrayFor, type TypedArray } from "../tensor/dtype.js";
import { fromValues } from "../tensor/creation.js";
import { hostValuesOf, rememberHostValues } from "../tensor/host.js";
import { sizeOf } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** The part of a split a dataset plays; a Standardizer fits on "train" only. */
export type DatasetRole = "train" | "dev" | "test";

export interface Dataset {
  /** [N, ...featureShape]: images as [N, C, H, W], tabular rows as [N, F]. */
  readonly inputs: Tensor;
  /** [N] int32 class ids for classification; [N] or [N, k] floats for regression. */
  readonly labels: Tensor;
  /** N, the number of samples. */
  readonly length: number;
  /** The shape of one sample, `inputs.shape` without its first dimension. */
  readonly featureShape: readonly number[];
  /** For classification: the number of classes; labels lie in [0, numClasses). */
  readonly numClasses?: number;
  /** For classification: a name per class id ("0".."9" for digits, the CSV's categories). */
  readonly classNames?: readonly string[];
  /** For tabular data: a name per feature column. */
  readonly featureNames?: readonly string[];
  /** Set by `split`: which part of the data this is. */
  readonly role?: DatasetRole;
  /** Where the data came from, for messages: a file name, "mnist", ... */
  readonly source?: string;
}

export interface DatasetOptions {
  numClasses?: number;
  classNames?: readonly string[];
  featureNames?: readonly string[];
  role?: DatasetRole;
  source?: string;
}

/**
 * The values of a dataset tensor as a host typed array, read once and remembered. The array is
 * shared: callers must not write to it.
 */
export function hostValues(t: Tensor): TypedArray {
  return hostValuesOf(t, "dataset tensor");
}

/** A tensor over `values` (taken, not copied) whose host values are known without a read-back. */
export function hostTensor(values: TypedArray, shape: readonly number[], backend?: Backend): Tensor {
  const t = fromValues(values, shape, backend === undefined ? {} : { backend });
  rememberHostValues(t, values);
  return t;
}

/**
 * The most classes a dataset may have. Far above any classification this library trains, it stops a
 * damaged file (an integer label of 2^31) from building a class table of gigabytes.
 */
export const MAX_CLASSES = 65_536;

/**
 * A dataset from an inputs tensor [N, ...] and a labels tensor [N] or [N, k]. Int32 labels are
 * class ids: they must lie in [0, numClasses), where numClasses defaults to classNames.length or
 * to max(label) + 1.
 */
export function createDataset(inputs: Tensor, labels: Tensor, options: DatasetOptions = {}): Dataset {
  const where = options.source === undefined ? "createDataset" : `createDataset (${options.source})`;
  if (inputs.rank < 1) throw new ShapeError(`${where}: inputs must have a sample dimension, got shape ${fmtShape(inputs.shape)}`);
  if (labels.rank < 1 || labels.rank > 2) {
    throw new ShapeError(`${where}: labels must be [N] or [N, k], got shape ${fmtShape(labels.shape)}`);
  }
  const n = inputs.shape[0]!;
  if (labels.shape[0] !== n) {
    throw new ShapeError(`${where}: ${n} inputs but ${labels.shape[0]} labels (shapes ${fmtShape(inputs.shape)} and ${fmtShape(labels.shape)})`);
  }
  if (inputs.dtype === "int32") throw new DTypeError(`${where}: inputs must be float32 or float64, got int32 (cast them)`);
  let numClasses = options.numClasses;
  const classNames = options.classNames;
  if (labels.dtype === "int32") {
    if (labels.rank !== 1) throw new ShapeError(`${where}: class labels (int32) must be [N], got ${fmtShape(labels.shape)}`);
    const y = hostValues(labels);
    let max = -1;
    for (let i = 0; i < y.length; i++) {
      const v = y[i]!;
      if (v < 0) throw new ConfigError(`${where}: label ${i} is ${v}; class ids must be >= 0`);
      if (v > max) max = v;
    }
    if (classNames !== undefined && numClasses !== undefined && classNames.length !== numClasses) {
      throw new ConfigError(`${where}: ${classNames.length} class names for numClasses ${numClasses}`);
    }
    numClasses ??= classNames?.length ?? max + 1;
    if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) {
      throw new ConfigError(`${where}: invalid numClasses ${numClasses} (expected 1 to ${MAX_CLASSES})`);
    }
    if (max >= numClasses) {
      const i = y.indexOf(max);
      throw new ConfigError(`${where}: label ${i} is ${max}, out of range for ${numClasses} classes [0, ${numClasses})`);
    }
  } else if (numClasses !== undefined || classNames !== undefined) {
    throw new DTypeError(`${where}: numClasses/classNames need int32 class labels, got ${labels.dtype} labels`);
  }
  const ds: {
    -readonly [K in keyof Dataset]: Dataset[K];
  } = { inputs, labels, length: n, featureShape: Object.freeze(inputs.shape.slice(1)) };
  if (numClasses !== undefined) ds.numClasses = numClasses;
  if (classNames !== undefined) ds.classNames = Object.freeze([...classNames]);
  if (options.featureNames !== undefined) ds.featureNames = Object.freeze([...options.featureNames]);
  if (options.role !== undefined) ds.role = options.role;
  if (options.source !== undefined) ds.source = options.source;
  return Object.freeze(ds);
}

/** The options that carry a dataset's metadata over to a dataset derived from it. */
export function metadataOf(ds: Dataset): DatasetOptions {
  const o: DatasetOptions = {};
  if (ds.numClasses !== undefined) o.numClasses = ds.numClasses;
  if (ds.classNames !== undefined) o.classNames = ds.classNames;
  if (ds.featureNames !== undefined) o.featureNames = ds.featureNames;
  if (ds.role !== undefined) o.role = ds.role;
  if (ds.source !== undefined) o.source = ds.source;
  return o;
}

/** The same data with another role (the tensors are shared, nothing is copied). */
export function withRole(ds: Dataset, role: DatasetRole | undefined): Dataset {
  const o = metadataOf(ds);
  if (role === undefined) delete o.role;
  else o.role = role;
  return createDataset(ds.inputs, ds.labels, o);
}

/**
 * Copies rows `indices` of a typed array holding `n` rows of `rowSize` values into a fresh array:
 * one `subarray`/`set` per row.
 */
export function copyRows(src: TypedArray, rowSize: number, indices: ArrayLike<number>, n: number, where: string): TypedArray {
  const out = typedArrayFor(dtypeOf(src), indices.length * rowSize);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw new ShapeError(`${where}: index ${i} is ${r}, out of range for ${n} rows`);
    }
    out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return out;
}

function dtypeOf(a: TypedArray): "float32" | "float64" | "int32" {
  return a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : "int32";
}

/** Rows `indices` of `t` (along its first dimension), as a new tensor; copies with typed arrays. */
export function takeRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  if (t.rank < 1) throw new ShapeError(`takeRows: expected a tensor with a row dimension, got shape ${fmtShape(t.shape)}`);
  const n = t.shape[0]!;
  const rowShape = t.shape.slice(1);
  const out = copyRows(hostValues(t), sizeOf(rowShape), indices, n, "takeRows");
  return hostTensor(out, [indices.length, ...rowShape], t.backend);
}

/**
 * The samples `indices` of a dataset, in that order (repeats allowed), with the same metadata;
 * `role` replaces the role when given.
 */
export function subset(ds: Dataset, indices: ArrayLike<number>, role?: DatasetRole): Dataset {
  const o = metadataOf(ds);
  if (role !== undefined) o.role = role;
  return createDataset(takeRows(ds.inputs, indices), takeRows(ds.labels, indices), o);
}

/** How many samples each class has (int32 labels only). */
export function classCounts(ds: Dataset): number[] {
  if (ds.labels.dtype !== "int32" || ds.numClasses === undefined) {
    throw new DTypeError(`classCounts: the dataset has no class labels (labels are ${ds.labels.dtype})`);
  }
  const counts = new Array<number>(ds.numClasses).fill(0);
  const y = hostValues(ds.labels);
  for (let i = 0; i < y.length; i++) counts[y[i]!]! += 1;
  return counts;
}

/** A one-line summary: `mnist: 10000 samples of [1,28,28], 10 classes`. */
export function describeDataset(ds: Dataset): string {
  const name = ds.source ?? "dataset";
  const role = ds.role === undefined ? "" : ` (${ds.role})`;
  const classes = ds.numClasses === undefined ? `${ds.labels.dtype} targets` : `${ds.numClasses} classes`;
  return `${name}${role}: ${ds.length} samples of ${fmtShape(ds.featureShape)}, ${classes}`;
}
