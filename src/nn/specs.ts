/**
 * The layer family: ONE table, LAYERS, with an entry per layer type: the zod schema of its spec
 * (the JSON that describes it in a config or a model file), the builder that makes the layer from a
 * spec and the shape arriving at it, and the count of values the layer allocates (so a size read
 * from a file is compared before anything is allocated). LayerSpec, LAYER_TYPES, the validation,
 * buildSequential and the budget all read it: a new layer is one entry (and its class's toSpec).
 *
 * Input sizes (inFeatures, inChannels, numFeatures, normalizedShape, numChannels) may be left out:
 * the builder infers them from the shape that reaches the layer; when given, they are checked
 * against it. `validateLayerSpecs` checks specs read from JSON against the schemas and names the
 * layer index, the field, the value and what is allowed (`layer 3 (conv2d): kernelSize is "3x3"
 * (expected an integer or [h, w])`). Integer fields are bounded by MAX_LAYER_SIZE. Semantic checks
 * that need shapes (a kernel larger than its input) happen when the layer is built.
 */
import * as z from "zod";
import { ConfigError, ShapeError } from "../errors/errors.js";
import { preview } from "../errors/values.js";
import { validateInitSpec, type InitSpec } from "../init/initializers.js";
import type { FloatDType } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import { sizeOf } from "../tensor/shape.js";
import { ELU, LeakyReLU, PReLU, ReLU, Sigmoid, Softmax, Tanh } from "./activations.js";
import { AvgPool2d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Linear, MaxPool2d } from "./layers.js";
import type { Module } from "./module.js";
import { BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm } from "./normalization.js";

/**
 * The largest size (width, channel count, kernel, padding, ...) a spec may give. Far above any model
 * this library trains, it stops a damaged or hostile file (a layer claiming 2^28 outputs) before
 * anything is allocated; buildSequential then bounds the elements the whole model allocates.
 */
export const MAX_LAYER_SIZE = 1 << 20;

/** The kinds of field a spec has, each a zod schema with the words messages use for it. */
const TEXT = new Map<z.ZodType, string>();
const kind = <S extends z.ZodType>(schema: S, text: string): S => {
  TEXT.set(schema, text);
  return schema;
};
const int = kind(z.number().int(), "an integer");
const size = kind(z.number().int().min(1), "an integer >= 1");
const num = kind(z.number(), "a finite number");
const numOrNull = kind(z.number().nullable(), "a finite number or null");
const bool = kind(z.boolean(), "true or false");
const pairFrom = (min: number) => z.union([z.number().int().min(min), z.tuple([z.number().int().min(min), z.number().int().min(min)]).readonly()]);
const pair = kind(pairFrom(1), "an integer >= 1 or [h, w] of them");
const pairOrZero = kind(pairFrom(0), "an integer >= 0 or [h, w] of them");
const padding = kind(z.union([z.literal("same"), z.literal("valid"), pairFrom(0)]), 'an integer >= 0, [h, w] of them, "same" or "valid"');
const sizeList = kind(z.array(z.number().int().min(1)), "a list of integers >= 1");
const init = kind(
  z.custom<InitSpec>((v) => {
    try {
      validateInitSpec(v, "");
      return true;
    } catch {
      return false;
    }
  }),
  "an initializer",
);
/** Kinds whose integers are sizes, bounded by MAX_LAYER_SIZE. */
const SIZED = new Set<z.ZodType>([int, size, pair, pairOrZero, padding, sizeList]);

/** What a builder gets besides the spec. */
export interface BuildContext {
  /** the shape arriving at the layer, without the batch dim */
  readonly shape: readonly number[];
  readonly rng: Generator;
  readonly dtype: FloatDType;
  /** how errors name what comes before the layer: "layer 2 (relu) outputs [16,14,14]" */
  readonly before: string;
}

interface LayerEntry<S extends z.ZodType> {
  readonly schema: S;
  readonly build: (spec: z.infer<S>, ctx: BuildContext) => Module;
  /** the values (parameters and buffers) the layer allocates for input `shape` */
  readonly elements: (spec: z.infer<S>, shape: readonly number[]) => number;
}

const layer = <T extends string, F extends z.ZodRawShape>(
  type: T, fields: F, build: LayerEntry<z.ZodObject<{ type: z.ZodLiteral<T> } & F>>["build"],
  elements: LayerEntry<z.ZodObject<{ type: z.ZodLiteral<T> } & F>>["elements"] = () => 0,
): LayerEntry<z.ZodObject<{ type: z.ZodLiteral<T> } & F>> => ({ schema: z.strictObject({ type: z.literal(type), ...fields }), build, elements });

/** `{ [k]: v }`, or `{}` when v is undefined (options with exactOptionalPropertyTypes). */
const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));

/** The size a spec gives, checked against the inferred one. */
function inferred(name: string, given: number | undefined, actual: number, before: string): number {
  if (given !== undefined && given !== actual) throw new ShapeError(`${name} is ${given}, but ${before} (${name} ${actual})`);
  return actual;
}

function channelsOf(type: string, shape: readonly number[], before: string, rank: number[]): number {
  if (!rank.includes(shape.length)) {
    const want = rank.map((r) => (r === 1 ? "[C]" : r === 2 ? "[C, L]" : "[C, H, W]")).join(" or ");
    throw new ShapeError(`${type} expects ${want} per example, but ${before}`);
  }
  return shape[0]!;
}

const kernelArea = (k: number | readonly number[]): number => (typeof k === "number" ? k * k : (k[0] ?? 1) * (k[1] ?? 1));
const batchNormFields = { numFeatures: size.optional(), momentum: numOrNull.optional(), eps: num.optional(), affine: bool.optional() };
const batchNormElements = (s: { affine?: boolean | undefined }, shape: readonly number[]) => (s.affine === false ? 2 : 4) * (shape[0] ?? 1) + 1;

/** Every layer type: its spec schema, its builder and what it allocates. */
export const LAYERS = {
  linear: layer(
    "linear",
    { outFeatures: size, inFeatures: size.optional(), bias: bool.optional(), weightInit: init.optional(), biasInit: init.optional() },
    (s, { shape, rng, dtype, before }) => {
      if (shape.length === 0) throw new ShapeError(`linear needs at least one input dim, but ${before}`);
      const inFeatures = inferred("inFeatures", s.inFeatures, shape[shape.length - 1]!, before);
      return new Linear({ inFeatures, outFeatures: s.outFeatures, rng, dtype, ...opt("bias", s.bias), ...opt("weightInit", s.weightInit), ...opt("biasInit", s.biasInit) });
    },
    (s, shape) => s.outFeatures * (shape[shape.length - 1] ?? 1) + (s.bias === false ? 0 : s.outFeatures),
  ),
  conv2d: layer(
    "conv2d",
    {
      outChannels: size, kernelSize: pair, inChannels: size.optional(), stride: pair.optional(), padding: padding.optional(), dilation: pair.optional(),
      groups: size.optional(), bias: bool.optional(), weightInit: init.optional(), biasInit: init.optional(),
    },
    (s, { shape, rng, dtype, before }) => {
      const inChannels = inferred("inChannels", s.inChannels, channelsOf("conv2d", shape, before, [3]), before);
      return new Conv2d({
        inChannels, outChannels: s.outChannels, kernelSize: s.kernelSize, rng, dtype, ...opt("stride", s.stride), ...opt("padding", s.padding),
        ...opt("dilation", s.dilation), ...opt("groups", s.groups), ...opt("bias", s.bias), ...opt("weightInit", s.weightInit), ...opt("biasInit", s.biasInit),
      });
    },
    (s, shape) => s.outChannels * Math.ceil((shape[0] ?? 1) / (s.groups ?? 1)) * kernelArea(s.kernelSize) + (s.bias === false ? 0 : s.outChannels),
  ),
  maxPool2d: layer(
    "maxPool2d", { kernelSize: pair, stride: pair.optional(), padding: pairOrZero.optional(), dilation: pair.optional() },
    (s) => new MaxPool2d({ kernelSize: s.kernelSize, ...opt("stride", s.stride), ...opt("padding", s.padding), ...opt("dilation", s.dilation) }),
  ),
  avgPool2d: layer(
    "avgPool2d", { kernelSize: pair, stride: pair.optional(), padding: pairOrZero.optional() },
    (s) => new AvgPool2d({ kernelSize: s.kernelSize, ...opt("stride", s.stride), ...opt("padding", s.padding) }),
  ),
  globalAvgPool2d: layer("globalAvgPool2d", {}, () => new GlobalAvgPool2d()),
  flatten: layer("flatten", { startDim: int.optional(), endDim: int.optional() }, (s) => new Flatten({ ...opt("startDim", s.startDim), ...opt("endDim", s.endDim) })),
  batchNorm1d: layer(
    "batchNorm1d", batchNormFields,
    (s, { shape, dtype, before }) => {
      const numFeatures = inferred("numFeatures", s.numFeatures, channelsOf("batchNorm1d", shape, before, [1, 2]), before);
      return new BatchNorm1d({ numFeatures, dtype, ...opt("momentum", s.momentum), ...opt("eps", s.eps), ...opt("affine", s.affine) });
    },
    batchNormElements,
  ),
  batchNorm2d: layer(
    "batchNorm2d", batchNormFields,
    (s, { shape, dtype, before }) => {
      const numFeatures = inferred("numFeatures", s.numFeatures, channelsOf("batchNorm2d", shape, before, [3]), before);
      return new BatchNorm2d({ numFeatures, dtype, ...opt("momentum", s.momentum), ...opt("eps", s.eps), ...opt("affine", s.affine) });
    },
    batchNormElements,
  ),
  layerNorm: layer(
    "layerNorm", { normalizedShape: sizeList.optional(), eps: num.optional(), elementwiseAffine: bool.optional() },
    (s, { shape, dtype }) => new LayerNorm({ normalizedShape: s.normalizedShape ?? [...shape], dtype, ...opt("eps", s.eps), ...opt("elementwiseAffine", s.elementwiseAffine) }),
    (s, shape) => (s.elementwiseAffine === false ? 0 : 2 * sizeOf(s.normalizedShape ?? shape)),
  ),
  instanceNorm2d: layer(
    "instanceNorm2d", { numFeatures: size.optional(), eps: num.optional(), affine: bool.optional() },
    (s, { shape, dtype, before }) => {
      const numFeatures = inferred("numFeatures", s.numFeatures, channelsOf("instanceNorm2d", shape, before, [3]), before);
      return new InstanceNorm2d({ numFeatures, dtype, ...opt("eps", s.eps), ...opt("affine", s.affine) });
    },
    (s, shape) => (s.affine === true ? 2 * (shape[0] ?? 1) : 0),
  ),
  groupNorm: layer(
    "groupNorm", { numGroups: size, numChannels: size.optional(), eps: num.optional(), affine: bool.optional() },
    (s, { shape, dtype, before }) => {
      const numChannels = inferred("numChannels", s.numChannels, channelsOf("groupNorm", shape, before, [1, 2, 3]), before);
      return new GroupNorm({ numGroups: s.numGroups, numChannels, dtype, ...opt("eps", s.eps), ...opt("affine", s.affine) });
    },
    (s, shape) => (s.affine === false ? 0 : 2 * (shape[0] ?? 1)),
  ),
  dropout: layer("dropout", { p: num.optional() }, (s, { rng }) => new Dropout({ rng, ...opt("p", s.p) })),
  relu: layer("relu", {}, () => new ReLU()),
  leakyRelu: layer("leakyRelu", { negativeSlope: num.optional() }, (s) => new LeakyReLU({ ...opt("negativeSlope", s.negativeSlope) })),
  prelu: layer(
    "prelu", { numParameters: size.optional(), init: num.optional() },
    (s, { dtype }) => new PReLU({ dtype, ...opt("numParameters", s.numParameters), ...opt("init", s.init) }),
    (s) => s.numParameters ?? 1,
  ),
  elu: layer("elu", { alpha: num.optional() }, (s) => new ELU({ ...opt("alpha", s.alpha) })),
  sigmoid: layer("sigmoid", {}, () => new Sigmoid()),
  tanh: layer("tanh", {}, () => new Tanh()),
  softmax: layer("softmax", { dim: int.optional() }, (s) => new Softmax({ ...opt("dim", s.dim) })),
};

export type LayerType = keyof typeof LAYERS;

/** Every layer described as JSON: the union of the table's schemas. */
export type LayerSpec = { [T in LayerType]: z.infer<(typeof LAYERS)[T]["schema"]> }[LayerType];

/** Every layer type a spec may name. */
export const LAYER_TYPES = Object.keys(LAYERS) as LayerType[];

type AnyEntry = LayerEntry<z.ZodType<LayerSpec>>;

/** Builds the layer of a (validated) spec for the shape arriving at it. */
export function buildLayer(spec: LayerSpec, ctx: BuildContext): Module {
  return (LAYERS[spec.type] as unknown as AnyEntry).build(spec, ctx);
}

/** The number of values (parameters and buffers) the layer of `spec` allocates for input `shape`. */
export function specElements(spec: LayerSpec, shape: readonly number[]): number {
  return (LAYERS[spec.type] as unknown as AnyEntry).elements(spec, shape);
}

/** The largest absolute integer in a value (0 when it holds none). */
function largestInteger(v: unknown): number {
  let largest = 0;
  for (const x of Array.isArray(v) ? v : [v]) if (typeof x === "number") largest = Math.max(largest, Math.abs(x));
  return largest;
}

/** A schema issue on a spec as one line: the field, the value and what is allowed. */
function describeIssue(issue: z.core.$ZodIssue, spec: Record<string, unknown>, shape: Readonly<Record<string, z.ZodType>>, at: string): string {
  if (issue.code === "unrecognized_keys") {
    const allowed = Object.keys(shape).filter((k) => k !== "type");
    return `${at}: unknown field "${issue.keys[0]}" (allowed: ${allowed.length ? allowed.join(", ") : "none"})`;
  }
  const key = String(issue.path[0]);
  const value = spec[key];
  if (value === undefined) return `${at}: missing required field "${key}"`;
  const field = shape[key] instanceof z.ZodOptional ? (shape[key] as z.ZodOptional<z.ZodType>).unwrap() : shape[key]!;
  if (field === init) validateInitSpec(value, `${at}: ${key}`);
  return `${at}: ${key} is ${preview(value)} (expected ${TEXT.get(field) ?? issue.message})`;
}

/**
 * Checks that `value` is a list of LayerSpec objects against the table's schemas: known types,
 * required fields present, no unknown fields, every field of the right kind, sizes within
 * MAX_LAYER_SIZE. Returns the list typed; throws a ConfigError like
 * `layer 3 (conv2d): kernelSize is "3x3" (expected an integer or [h, w])`.
 */
export function validateLayerSpecs(value: unknown, where = "layers"): LayerSpec[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where}: expected a list of layer specs, got ${typeof value}`);
  value.forEach((spec: unknown, i) => {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      throw new ConfigError(`${where}: layer ${i} is ${preview(spec)}, expected an object with a "type"`);
    }
    const type = (spec as { type?: unknown }).type;
    if (typeof type !== "string" || !(LAYER_TYPES as readonly string[]).includes(type)) {
      throw new ConfigError(`${where}: layer ${i} has type ${preview(type)} (expected one of ${LAYER_TYPES.join(", ")})`);
    }
    const schema = LAYERS[type as LayerType].schema as unknown as z.ZodObject<Record<string, z.ZodType>>;
    const at = `${where}: layer ${i} (${type})`;
    const record = spec as Record<string, unknown>;
    const parsed = schema.safeParse(spec);
    if (!parsed.success) throw new ConfigError(describeIssue(parsed.error.issues[0]!, record, schema.shape, at));
    for (const [k, field] of Object.entries(schema.shape)) {
      const base = field instanceof z.ZodOptional ? (field as z.ZodOptional<z.ZodType>).unwrap() : field;
      const size = SIZED.has(base) ? largestInteger(record[k]) : 0;
      if (size > MAX_LAYER_SIZE) throw new ConfigError(`${at}: ${k} is ${size}, over the limit of ${MAX_LAYER_SIZE} for a layer size`);
    }
  });
  return value as LayerSpec[];
}

/**
 * The CLI's preset architectures:
 *  - "mlp": flatten, 784-256-128-10 with ReLU (workload W1, for [1, 28, 28] inputs);
 *  - "cnn": conv3x3x16 same + ReLU + maxpool2, conv3x3x32 same + ReLU + maxpool2, flatten,
 *    dense 10 (workload W2).
 */
export function presetSpecs(name: "mlp" | "cnn"): LayerSpec[] {
  switch (name) {
    case "mlp":
      return [
        { type: "flatten" },
        { type: "linear", outFeatures: 256 }, { type: "relu" },
        { type: "linear", outFeatures: 128 }, { type: "relu" },
        { type: "linear", outFeatures: 10 },
      ];
    case "cnn":
      return [
        { type: "conv2d", outChannels: 16, kernelSize: 3, padding: "same" }, { type: "relu" }, { type: "maxPool2d", kernelSize: 2 },
        { type: "conv2d", outChannels: 32, kernelSize: 3, padding: "same" }, { type: "relu" }, { type: "maxPool2d", kernelSize: 2 },
        { type: "flatten" },
        { type: "linear", outFeatures: 10 },
      ];
    default:
      name satisfies never;
      throw new ConfigError(`presetSpecs: unknown preset ${preview(name)} (expected "mlp" or "cnn")`);
  }
}
