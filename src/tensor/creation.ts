/**
 * Creation functions: from nested arrays or typed arrays, constant fills, ranges, the identity, and
 * random tensors drawn from an explicit seeded Generator. Values are always copied in, converted by
 * value to the requested dtype.
 */
import type { Backend } from "../backend/backend.js";
import { currentBackend } from "../backend/registry.js";
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import { dtypeOfArray, typedArrayFor, type DType, type TypedArray } from "./dtype.js";
import type { Generator } from "./random.js";
import { checkShape, sizeOf, type Shape } from "./shape.js";
import { Tensor, type NestedArray } from "./tensor.js";
import { rememberHostValues } from "./host.js";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
}

export interface RandomOptions extends CreateOptions {
  /** The generator to draw from. There is no global one: pass it. */
  rng: Generator;
}

/**
 * Makes a tensor owning `values` (not copied: callers pass fresh arrays). On a backend that reads
 * asynchronously the tensor remembers them as its host values (tensor/host.ts).
 */
export function fromValues(values: TypedArray, shape: Shape, options: CreateOptions = {}): Tensor {
  const backend = options.backend ?? currentBackend();
  const dtype = dtypeOfArray(values);
  if (dtype === "float64" && !backend.supportsFloat64) {
    throw new DTypeError(`the ${backend.name} backend has no float64; use float32 or the cpu backend`);
  }
  const t = new Tensor(backend, backend.upload(values), shape, dtype, options.requiresGrad ?? false);
  if (!backend.readSync) rememberHostValues(t, values);
  return t;
}

function convert(values: ArrayLike<number>, dtype: DType, where: string): TypedArray {
  const out = typedArrayFor(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v !== "number") throw new DTypeError(`${where}: element ${i} is ${typeof v}, not a number`);
    if (dtype === "int32" && !Number.isInteger(v)) {
      throw new DTypeError(`${where}: element ${i} is ${v}, which is not an integer (dtype int32)`);
    }
    out[i] = v;
  }
  return out;
}

function inferShape(data: NestedArray, where: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  // verify the nesting is rectangular
  const check = (x: NestedArray, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (Array.isArray(x)) throw new ShapeError(`${where}: ragged nested array at ${path} (expected a number)`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new ShapeError(
        `${where}: ragged nested array at ${path || "top"}: expected ${shape[dim]} elements, got ${Array.isArray(x) ? x.length : "a number"}`,
      );
    }
    x.forEach((y, i) => check(y, dim + 1, `${path}[${i}]`));
  };
  check(data, 0, "");
  return shape;
}

/**
 * A tensor from a number, nested arrays, or a typed array (with `shape`, default 1-D).
 * The dtype defaults to float32, or to the typed array's own dtype.
 */
export function tensor(data: NestedArray | TypedArray, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  const where = "tensor";
  if (ArrayBuffer.isView(data)) {
    const shape = options.shape ?? [data.length];
    checkShape(where, shape);
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`${where}: shape ${fmtShape(shape)} holds ${sizeOf(shape)} values, got ${data.length}`);
    }
    const dtype = options.dtype ?? dtypeOfArray(data);
    return fromValues(convert(data, dtype, where), shape, options);
  }
  const shape = inferShape(data, where);
  if (options.shape && sizeOf(options.shape) !== sizeOf(shape)) {
    throw new ShapeError(`${where}: shape ${fmtShape(options.shape)} does not fit data of shape ${fmtShape(shape)}`);
  }
  const flat: number[] = Array.isArray(data) ? ((data as unknown[]).flat(Infinity) as number[]) : [data];
  return fromValues(convert(flat, options.dtype ?? "float32", where), options.shape ?? shape, options);
}

/** A tensor of one value and shape [] (a scalar). */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return full([], value, options);
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  checkShape("full", shape);
  const dtype = options.dtype ?? "float32";
  if (dtype === "int32" && !Number.isInteger(value)) throw new DTypeError(`full: ${value} is not an integer (dtype int32)`);
  const backend = options.backend ?? currentBackend();
  if (dtype === "float64" && !backend.supportsFloat64) {
    throw new DTypeError(`the ${backend.name} backend has no float64; use float32 or the cpu backend`);
  }
  return new Tensor(backend, backend.fill(sizeOf(shape), value, dtype), shape, dtype, options.requiresGrad ?? false);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

function likeOptions(t: Tensor, options: CreateOptions): CreateOptions {
  return { dtype: t.dtype, backend: t.backend, ...options };
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 0, likeOptions(t, options));
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 1, likeOptions(t, options));
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, likeOptions(t, options));
}

/** Values start, start+step, ... below stop (like torch.arange). */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ConfigError(`arange: invalid step ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = options.dtype ?? "float32";
  const out = typedArrayFor(dtype, n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return fromValues(out, [n], options);
}

/** `steps` values evenly spaced from start to end, both included. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ConfigError(`linspace: invalid steps ${steps}`);
  const out = typedArrayFor(options.dtype ?? "float32", steps);
  const d = steps > 1 ? (end - start) / (steps - 1) : 0;
  // NOTE: the second half counts back from `end` (as PyTorch does) so the last value is exact;
  // one step gives [start] (PyTorch and NumPy), so that case keeps the first half.
  const half = steps === 1 ? 1 : Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + d * i : end - d * (steps - 1 - i);
  return fromValues(out, [steps], options);
}

/** The n x m identity (m defaults to n). */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  checkShape("eye", [n, m]);
  const out = typedArrayFor(options.dtype ?? "float32", n * m);
  for (let i = 0; i < Math.min(n, m); i++) out[i * m + i] = 1;
  return fromValues(out, [n, m], options);
}

function floatDType(where: string, options: CreateOptions): DType {
  const dtype = options.dtype ?? "float32";
  if (dtype === "int32") throw new DTypeError(`${where}: dtype must be float32 or float64, got int32 (use randint)`);
  return dtype;
}

/**
 * The generator a random creator (or a layer drawing its first weights) draws from. Called from
 * plain JavaScript without options, the destructuring would fail with a bare TypeError; this
 * names the call, what is missing and how to pass it.
 */
export function generatorOf(where: string, options: { rng?: Generator } | undefined): Generator {
  const rng = (options as { rng?: Partial<Generator> | null } | undefined)?.rng;
  if (typeof rng?.uniform !== "function") {
    throw new ConfigError(`${where}: options.rng must be a Generator (there is no global one: pass { rng: new Generator(seed) })`);
  }
  return rng as Generator;
}

/** Uniform on [low, high). */
export function rand(shape: Shape, options: RandomOptions & { low?: number; high?: number }): Tensor {
  checkShape("rand", shape);
  const rng = generatorOf("rand", options);
  const { low = 0, high = 1 } = options;
  const out = typedArrayFor(floatDType("rand", options), sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    // NOTE: in float32, a draw just below `high` can round up to it; drawing again keeps [low, high).
    do out[i] = low + (high - low) * rng.uniform();
    while (out[i]! >= high && high > low);
  }
  return fromValues(out, shape, options);
}

/** Normal with the given mean and standard deviation (default 0 and 1). */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number }): Tensor {
  checkShape("randn", shape);
  const rng = generatorOf("randn", options);
  const { mean = 0, std = 1 } = options;
  const out = typedArrayFor(floatDType("randn", options), sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
  return fromValues(out, shape, options);
}

/** Uniform integers in [low, high), int32 unless asked otherwise. */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions): Tensor {
  checkShape("randint", shape);
  const rng = generatorOf("randint", options);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ConfigError(`randint: invalid range [${low}, ${high}) (expected integers with low < high)`);
  }
  const out = typedArrayFor(options.dtype ?? "int32", sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = low + rng.int(high - low);
  return fromValues(out, shape, options);
}
