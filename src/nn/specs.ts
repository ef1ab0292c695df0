/**
 * LayerSpec: every layer described as JSON, so a model's architecture can be written to a config
 * or a model file and built again. Input sizes (inFeatures, inChannels, numFeatures,
 * normalizedShape, numChannels) may be left out: buildSequential infers them from the shape that
 * reaches the layer; when given, they are checked against it.
 *
 * `validateLayerSpecs` is a plain structural check (no zod) for specs read from JSON: it names the
 * layer index, the field, the value and what is allowed. Semantic checks that need shapes (a
 * kernel larger than its input, a Linear whose inFeatures disagrees with the layer before) happen
 * in buildSequential. Integer fields are bounded by MAX_LAYER_SIZE, so sizes read from a file are
 * refused before anything is allocated.
 */
import { ConfigError } from "../errors/errors.js";
import { validateInitSpec, type InitSpec } from "../init/initializers.js";
import type { Padding, Pair } from "../ops/conv.js";
import { preview } from "../errors/values.js";

export type LayerSpec =
  | { type: "linear"; outFeatures: number; inFeatures?: number; bias?: boolean; weightInit?: InitSpec; biasInit?: InitSpec }
  | {
      type: "conv2d"; outChannels: number; kernelSize: Pair; inChannels?: number; stride?: Pair; padding?: Padding;
      dilation?: Pair; groups?: number; bias?: boolean; weightInit?: InitSpec; biasInit?: InitSpec;
    }
  | { type: "maxPool2d"; kernelSize: Pair; stride?: Pair; padding?: Pair; dilation?: Pair }
  | { type: "avgPool2d"; kernelSize: Pair; stride?: Pair; padding?: Pair }
  | { type: "globalAvgPool2d" }
  | { type: "flatten"; startDim?: number; endDim?: number }
  | { type: "batchNorm1d"; numFeatures?: number; momentum?: number | null; eps?: number; affine?: boolean }
  | { type: "batchNorm2d"; numFeatures?: number; momentum?: number | null; eps?: number; affine?: boolean }
  | { type: "layerNorm"; normalizedShape?: number[]; eps?: number; elementwiseAffine?: boolean }
  | { type: "instanceNorm2d"; numFeatures?: number; eps?: number; affine?: boolean }
  | { type: "groupNorm"; numGroups: number; numChannels?: number; eps?: number; affine?: boolean }
  | { type: "dropout"; p?: number }
  | { type: "relu" }
  | { type: "leakyRelu"; negativeSlope?: number }
  | { type: "prelu"; numParameters?: number; init?: number }
  | { type: "elu"; alpha?: number }
  | { type: "sigmoid" }
  | { type: "tanh" }
  | { type: "softmax"; dim?: number };

export type LayerType = LayerSpec["type"];

/** Every layer type a spec may name. */
export const LAYER_TYPES = [
  "linear", "conv2d", "maxPool2d", "avgPool2d", "globalAvgPool2d", "flatten", "batchNorm1d", "batchNorm2d", "layerNorm",
  "instanceNorm2d", "groupNorm", "dropout", "relu", "leakyRelu", "prelu", "elu", "sigmoid", "tanh", "softmax",
] as const satisfies readonly LayerType[];

type FieldKind = "int" | "number" | "numberOrNull" | "bool" | "pair" | "padding" | "intList" | "init";

/** The fields each type allows (required ones marked), for the structural check. */
const FIELDS: { [T in LayerType]: Record<string, [FieldKind, boolean]> } = {
  linear: { outFeatures: ["int", true], inFeatures: ["int", false], bias: ["bool", false], weightInit: ["init", false], biasInit: ["init", false] },
  conv2d: {
    outChannels: ["int", true], kernelSize: ["pair", true], inChannels: ["int", false], stride: ["pair", false],
    padding: ["padding", false], dilation: ["pair", false], groups: ["int", false], bias: ["bool", false],
    weightInit: ["init", false], biasInit: ["init", false],
  },
  maxPool2d: { kernelSize: ["pair", true], stride: ["pair", false], padding: ["pair", false], dilation: ["pair", false] },
  avgPool2d: { kernelSize: ["pair", true], stride: ["pair", false], padding: ["pair", false] },
  globalAvgPool2d: {},
  flatten: { startDim: ["int", false], endDim: ["int", false] },
  batchNorm1d: { numFeatures: ["int", false], momentum: ["numberOrNull", false], eps: ["number", false], affine: ["bool", false] },
  batchNorm2d: { numFeatures: ["int", false], momentum: ["numberOrNull", false], eps: ["number", false], affine: ["bool", false] },
  layerNorm: { normalizedShape: ["intList", false], eps: ["number", false], elementwiseAffine: ["bool", false] },
  instanceNorm2d: { numFeatures: ["int", false], eps: ["number", false], affine: ["bool", false] },
  groupNorm: { numGroups: ["int", true], numChannels: ["int", false], eps: ["number", false], affine: ["bool", false] },
  dropout: { p: ["number", false] },
  relu: {},
  leakyRelu: { negativeSlope: ["number", false] },
  prelu: { numParameters: ["int", false], init: ["number", false] },
  elu: { alpha: ["number", false] },
  sigmoid: {},
  tanh: {},
  softmax: { dim: ["int", false] },
};

function fieldOk(kind: FieldKind, v: unknown, where: string): boolean {
  const isInt = (x: unknown) => typeof x === "number" && Number.isInteger(x);
  switch (kind) {
    case "int":
      return isInt(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "numberOrNull":
      return v === null || (typeof v === "number" && Number.isFinite(v));
    case "bool":
      return typeof v === "boolean";
    case "pair":
      return isInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isInt));
    case "padding":
      return v === "same" || v === "valid" || isInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isInt));
    case "intList":
      return Array.isArray(v) && v.every(isInt);
    case "init":
      validateInitSpec(v, where);
      return true;
    default:
      kind satisfies never;
      return false;
  }
}

/**
 * The largest size (width, channel count, kernel, padding, ...) a spec may give. Far above any model
 * this library trains, it stops a damaged or hostile file (a layer claiming 2^28 outputs) before
 * anything is allocated; buildSequential then bounds the elements the whole model allocates.
 */
export const MAX_LAYER_SIZE = 1 << 20;

/** The largest absolute integer in an integer-valued field (0 for other kinds). */
function largestInteger(kind: FieldKind, v: unknown): number {
  if (kind !== "int" && kind !== "pair" && kind !== "padding" && kind !== "intList") return 0;
  let largest = 0;
  for (const x of Array.isArray(v) ? v : [v]) if (typeof x === "number") largest = Math.max(largest, Math.abs(x));
  return largest;
}

const KIND_TEXT: Record<FieldKind, string> = {
  int: "an integer", number: "a finite number", numberOrNull: "a finite number or null", bool: "true or false", pair: "an integer or [h, w]",
  padding: 'an integer, [h, w], "same" or "valid"', intList: "a list of integers", init: "an initializer",
};

/**
 * Checks that `value` is a list of LayerSpec objects: known types, required fields present, no
 * unknown fields, every field of the right kind. Returns the list typed; throws a ConfigError
 * like `layer 3 (conv2d): kernelSize is "3x3" (expected an integer or [h, w])`.
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
    const fields = FIELDS[type as LayerType];
    const at = `${where}: layer ${i} (${type})`;
    for (const [k, v] of Object.entries(spec)) {
      if (k === "type") continue;
      const f = fields[k];
      if (!f) {
        const allowed = Object.keys(fields);
        throw new ConfigError(`${at}: unknown field "${k}" (allowed: ${allowed.length ? allowed.join(", ") : "none"})`);
      }
      if (v === undefined) continue;
      if (!fieldOk(f[0], v, `${at}: ${k}`)) throw new ConfigError(`${at}: ${k} is ${preview(v)} (expected ${KIND_TEXT[f[0]]})`);
      const size = largestInteger(f[0], v);
      if (size > MAX_LAYER_SIZE) throw new ConfigError(`${at}: ${k} is ${size}, over the limit of ${MAX_LAYER_SIZE} for a layer size`);
    }
    for (const [k, [, required]] of Object.entries(fields)) {
      if (required && (spec as Record<string, unknown>)[k] === undefined) throw new ConfigError(`${at}: missing required field "${k}"`);
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
