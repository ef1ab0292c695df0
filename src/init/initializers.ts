/**
 * Initializers: functions from a shape (and an explicit Generator) to a fresh tensor. The
 * variance-scaling ones read the fans from the shape the way PyTorch does
 * (`_calculate_fan_in_and_fan_out`): for a weight [out, in, ...kernel], with
 * r = prod(kernel) the receptive-field size,
 *
 *   fanIn = in · r,   fanOut = out · r
 *
 * so a Linear weight [out, in] has fanIn = in and a Conv2d weight [out, in/groups, kh, kw] has
 * fanIn = (in/groups)·kh·kw.
 *
 * Why scale by the fans: with unit-variance inputs, a layer's pre-activation has variance
 * fanIn·Var(W). Xavier/Glorot keeps the variance of activations and of gradients both near 1 for
 * tanh-like units (Var(W) = 2/(fanIn + fanOut)); He/Kaiming accounts for ReLU zeroing half of
 * its inputs (Var(W) = 2/fanIn). All-zero (or all-equal) weights never break the symmetry between
 * hidden units: every unit of a layer computes the same thing and gets the same gradient.
 *
 * The names carry an `Init` suffix where the plain word is already a tensor-creation function
 * (`zeros`, `uniform`...) in the public API.
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { full, rand, randn } from "../tensor/creation.js";
import { preview } from "../errors/values.js";

/** Options every initializer takes. */
export interface InitOptions {
  /** float32 by default */
  dtype?: FloatDType;
}

/** Options of the random initializers: the generator is always passed in. */
export interface RandomInitOptions extends InitOptions {
  rng: Generator;
}

/** The nonlinearities `calculateGain` knows (PyTorch's `calculate_gain`). */
export type Nonlinearity = "linear" | "conv2d" | "sigmoid" | "tanh" | "relu" | "leakyRelu" | "selu";

/** Which fan He initialization preserves: the forward activations (fanIn) or the gradients (fanOut). */
export type FanMode = "fanIn" | "fanOut";

/**
 * The fans of a weight shape: fanIn = shape[1]·r, fanOut = shape[0]·r with r the product of
 * the remaining (kernel) dims. A 1-D shape has fanIn = fanOut = its length (PyTorch refuses it;
 * we allow it so biases can be drawn with the same helpers).
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) throw new ShapeError(`computeFans: a scalar shape [] has no fans`);
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  let r = 1;
  for (const d of shape.slice(2)) r *= d;
  return { fanIn: shape[1]! * r, fanOut: shape[0]! * r };
}

/**
 * The recommended gain for a nonlinearity (PyTorch's values): linear, conv2d, sigmoid: 1;
 * tanh: 5/3; relu: √2; leakyRelu with negative slope a: √(2 / (1 + a²)); selu: 3/4.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv2d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leakyRelu": {
      const a = param ?? 0.01;
      if (!Number.isFinite(a)) throw new ConfigError(`calculateGain: invalid negative slope ${a} (expected a finite number)`);
      return Math.sqrt(2 / (1 + a * a));
    }
    case "selu":
      return 3 / 4;
    default:
      nonlinearity satisfies never;
      throw new ConfigError(`calculateGain: unknown nonlinearity ${preview(nonlinearity)}`);
  }
}

function fanOf(where: string, shape: readonly number[], mode: FanMode): number {
  const { fanIn, fanOut } = computeFans(shape);
  const fan = mode === "fanIn" ? fanIn : fanOut;
  if (!(fan > 0)) throw new ShapeError(`${where}: shape ${fmtShape(shape)} has ${mode} ${fan}; expected a positive fan`);
  return fan;
}

function checkFinite(where: string, name: string, v: number): void {
  if (!Number.isFinite(v)) throw new ConfigError(`${where}: invalid ${name} ${v} (expected a finite number)`);
}

/** All zeros: W = 0. (Never for the weights of hidden layers: see the file comment.) */
export function zerosInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return full(shape, 0, { dtype: options.dtype ?? "float32" });
}

/** Every element equal to `value`: W = c. */
export function constantInit(shape: readonly number[], options: InitOptions & { value: number }): Tensor {
  checkFinite("constantInit", "value", options.value);
  return full(shape, options.value, { dtype: options.dtype ?? "float32" });
}

/** W ~ U[low, high) (defaults U[0, 1)). */
export function uniformInit(shape: readonly number[], options: RandomInitOptions & { low?: number; high?: number }): Tensor {
  const { low = 0, high = 1 } = options;
  checkFinite("uniformInit", "low", low);
  checkFinite("uniformInit", "high", high);
  if (!(high >= low)) throw new ConfigError(`uniformInit: invalid range [${low}, ${high}) (expected low <= high)`);
  return rand(shape, { rng: options.rng, dtype: options.dtype ?? "float32", low, high });
}

/** W ~ N(mean, std²) (defaults N(0, 1)). */
export function normalInit(shape: readonly number[], options: RandomInitOptions & { mean?: number; std?: number }): Tensor {
  const { mean = 0, std = 1 } = options;
  checkFinite("normalInit", "mean", mean);
  if (!(std >= 0 && Number.isFinite(std))) throw new ConfigError(`normalInit: invalid std ${std} (expected std >= 0)`);
  return randn(shape, { rng: options.rng, dtype: options.dtype ?? "float32", mean, std });
}

/**
 * Xavier/Glorot uniform: W ~ U[−a, a] with a = gain · √(6 / (fanIn + fanOut)),
 * so Var(W) = gain² · 2 / (fanIn + fanOut).
 */
export function xavierUniform(shape: readonly number[], options: RandomInitOptions & { gain?: number }): Tensor {
  const gain = options.gain ?? 1;
  checkFinite("xavierUniform", "gain", gain);
  const { fanIn, fanOut } = computeFans(shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return rand(shape, { rng: options.rng, dtype: options.dtype ?? "float32", low: -a, high: a });
}

/** Xavier/Glorot normal: W ~ N(0, σ²) with σ = gain · √(2 / (fanIn + fanOut)). */
export function xavierNormal(shape: readonly number[], options: RandomInitOptions & { gain?: number }): Tensor {
  const gain = options.gain ?? 1;
  checkFinite("xavierNormal", "gain", gain);
  const { fanIn, fanOut } = computeFans(shape);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return randn(shape, { rng: options.rng, dtype: options.dtype ?? "float32", std });
}

/** Options of He/Kaiming initialization (PyTorch's kaiming_uniform_ / kaiming_normal_). */
export interface HeOptions extends RandomInitOptions {
  /** "fanIn" (default) keeps the forward variance, "fanOut" the backward one */
  mode?: FanMode;
  /** default "relu" (PyTorch's default "leaky_relu" with a = 0 gives the same gain, √2) */
  nonlinearity?: Nonlinearity;
  /** the negative slope for nonlinearity "leakyRelu" (default 0) */
  a?: number;
  /** overrides the gain computed from the nonlinearity */
  gain?: number;
}

function heGain(where: string, options: HeOptions): number {
  if (options.gain !== undefined) {
    checkFinite(where, "gain", options.gain);
    return options.gain;
  }
  const nl = options.nonlinearity ?? (options.a !== undefined ? "leakyRelu" : "relu");
  return calculateGain(nl, nl === "leakyRelu" ? options.a ?? 0 : undefined);
}

/**
 * He/Kaiming uniform: W ~ U[−b, b] with b = gain · √(3 / fan); for ReLU (gain √2) that is
 * b = √(6 / fanIn). PyTorch's Linear/Conv2d default is this with nonlinearity leakyRelu and
 * a = √5: gain = √(2/6), so b = 1/√fanIn.
 */
export function heUniform(shape: readonly number[], options: HeOptions): Tensor {
  const fan = fanOf("heUniform", shape, options.mode ?? "fanIn");
  const b = heGain("heUniform", options) * Math.sqrt(3 / fan);
  return rand(shape, { rng: options.rng, dtype: options.dtype ?? "float32", low: -b, high: b });
}

/** He/Kaiming normal: W ~ N(0, σ²) with σ = gain / √fan; for ReLU σ = √(2 / fanIn). */
export function heNormal(shape: readonly number[], options: HeOptions): Tensor {
  const fan = fanOf("heNormal", shape, options.mode ?? "fanIn");
  const std = heGain("heNormal", options) / Math.sqrt(fan);
  return randn(shape, { rng: options.rng, dtype: options.dtype ?? "float32", std });
}

/** The names of the initializers, as configs spell them. */
export const INIT_NAMES = ["zeros", "constant", "uniform", "normal", "xavierUniform", "xavierNormal", "heUniform", "heNormal"] as const;
export type InitName = (typeof INIT_NAMES)[number];

/** An initializer as JSON: a name, or a name with its parameters. */
export type InitSpec =
  | InitName
  | { type: "zeros" }
  | { type: "constant"; value: number }
  | { type: "uniform"; low?: number; high?: number }
  | { type: "normal"; mean?: number; std?: number }
  | { type: "xavierUniform" | "xavierNormal"; gain?: number }
  | { type: "heUniform" | "heNormal"; mode?: FanMode; nonlinearity?: Nonlinearity; a?: number; gain?: number };

/**
 * A tensor of `shape` drawn as `spec` says. For a bias, pass the weight's shape as `fanShape`
 * so the variance-scaling schemes use the layer's fans.
 */
export function initialize(
  spec: InitSpec, shape: readonly number[], options: RandomInitOptions & { fanShape?: readonly number[] },
): Tensor {
  const s = typeof spec === "string" ? ({ type: spec } as Exclude<InitSpec, string>) : spec;
  const dtype = options.dtype ?? "float32";
  const rng = options.rng;
  const fanShape = options.fanShape ?? shape;
  const drawSymmetric = (bound: number): Tensor => rand(shape, { rng, dtype, low: -bound, high: bound });
  switch (s.type) {
    case "zeros":
      return zerosInit(shape, { dtype });
    case "constant":
      return constantInit(shape, { dtype, value: s.value });
    case "uniform":
      return uniformInit(shape, { rng, dtype, ...(s.low !== undefined && { low: s.low }), ...(s.high !== undefined && { high: s.high }) });
    case "normal":
      return normalInit(shape, { rng, dtype, ...(s.mean !== undefined && { mean: s.mean }), ...(s.std !== undefined && { std: s.std }) });
    case "xavierUniform": {
      const { fanIn, fanOut } = computeFans(fanShape);
      return drawSymmetric((s.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)));
    }
    case "xavierNormal": {
      const { fanIn, fanOut } = computeFans(fanShape);
      return randn(shape, { rng, dtype, std: (s.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)) });
    }
    case "heUniform":
    case "heNormal": {
      const he: HeOptions = { rng, ...(s.mode && { mode: s.mode }), ...(s.nonlinearity && { nonlinearity: s.nonlinearity }), ...(s.a !== undefined && { a: s.a }), ...(s.gain !== undefined && { gain: s.gain }) };
      const fan = fanOf(s.type, fanShape, he.mode ?? "fanIn");
      const gain = heGain(s.type, he);
      return s.type === "heUniform" ? drawSymmetric(gain * Math.sqrt(3 / fan)) : randn(shape, { rng, dtype, std: gain / Math.sqrt(fan) });
    }
    default:
      s satisfies never;
      throw new ConfigError(`initialize: unknown initializer ${preview(spec)} (expected one of ${INIT_NAMES.join(", ")})`);
  }
}

/** Checks an InitSpec read from JSON; returns it typed, or throws a ConfigError naming `where`. */
export function validateInitSpec(value: unknown, where: string): InitSpec {
  const type = typeof value === "string" ? value : typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !(INIT_NAMES as readonly string[]).includes(type)) {
    throw new ConfigError(`${where}: invalid initializer ${preview(value)} (expected one of ${INIT_NAMES.join(", ")})`);
  }
  if (type === "constant" && (typeof value !== "object" || typeof (value as { value?: unknown }).value !== "number")) {
    throw new ConfigError(`${where}: initializer "constant" needs a number "value"`);
  }
  return value as InitSpec;
}

/**
 * PyTorch's default for Linear and Conv2d, both weight and bias: U(−1/√fanIn, 1/√fanIn), with
 * fanIn read from the weight's shape (kaiming_uniform with a = √5 for the weight).
 */
export function defaultLayerInit(shape: readonly number[], options: RandomInitOptions & { fanShape?: readonly number[] }): Tensor {
  const fan = fanOf("defaultLayerInit", options.fanShape ?? shape, "fanIn");
  const b = 1 / Math.sqrt(fan);
  return rand(shape, { rng: options.rng, dtype: options.dtype ?? "float32", low: -b, high: b });
}
