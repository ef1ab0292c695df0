/**
 * Model files: a saved model is two files side by side.
 *
 *   <name>.json           the architecture, one JSON object:
 *                         { "format": "descent-model/1", "layers": [...LayerSpec...], "inputShape": [...],
 *                           "classes"?: [...], "features"?: [...], "standardizer"?: {...},
 *                           "createdBy": "descent <version>" }
 *   <name>.safetensors    the state dict: parameters and buffers keyed by dotted names
 *
 * The weights are written first and the architecture last, each atomically, so a complete
 * `<name>.json` means the weights beside it are complete too. Reading checks the format tag before
 * anything else: a file from an older or newer descent, or from something else entirely, is refused
 * with the found and the supported version. Turning `layers` into a Module is src/nn's business.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, FileFormatError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "./atomic.js";
import { preview } from "../errors/values.js";
import { parseJson } from "./json.js";
import { readSafetensors } from "./safetensors-file.js";
import { encodeSafetensorsAsync } from "./safetensors.js";
import { DESCENT_VERSION } from "./version.js";

/** The architecture format this descent writes and reads. */
export const MODEL_FORMAT = "descent-model/1";

export interface ModelArchitecture {
  format: string;
  /** LayerSpec JSON, as src/nn writes it. */
  layers: unknown[];
  inputShape?: number[];
  classes?: unknown[];
  /** the input features' names (a model trained on a CSV file) */
  features?: unknown[];
  standardizer?: unknown;
  createdBy?: string;
  [key: string]: unknown;
}

export interface ModelFiles {
  architecture: ModelArchitecture;
  stateDict: Record<string, Tensor>;
}

/**
 * Writes `<dir>/<name>.safetensors` and then `<dir>/<name>.json`, both atomically, creating `dir`.
 * `format` and `createdBy` are filled in; the architecture must be an object with a `layers` array.
 * The weights are read with `await` (any backend). Returns the two paths.
 */
export async function saveModelFiles(
  dir: string,
  model: { architecture: object; stateDict: Record<string, Tensor> },
  name = "model",
): Promise<{ architecturePath: string; weightsPath: string }> {
  const arch = model.architecture as Record<string, unknown>;
  if (typeof arch !== "object" || arch === null || Array.isArray(arch)) {
    throw new ConfigError(`saveModelFiles: the architecture must be an object, got ${Array.isArray(arch) ? "an array" : String(arch)}`);
  }
  if (!Array.isArray(arch["layers"])) throw new ConfigError(`saveModelFiles: the architecture has no "layers" array`);
  if (arch["format"] !== undefined && arch["format"] !== MODEL_FORMAT) {
    throw new ConfigError(`saveModelFiles: the architecture says format ${JSON.stringify(arch["format"])}; this descent writes "${MODEL_FORMAT}"`);
  }
  const json = JSON.stringify({ format: MODEL_FORMAT, ...arch, createdBy: arch["createdBy"] ?? `descent ${DESCENT_VERSION}` }, null, 2);
  const weights = await encodeSafetensorsAsync(model.stateDict);
  mkdirSync(dir, { recursive: true });
  const weightsPath = join(dir, `${name}.safetensors`);
  const architecturePath = join(dir, `${name}.json`);
  writeFileAtomic(weightsPath, weights);
  writeFileAtomic(architecturePath, `${json}\n`);
  return { architecturePath, weightsPath };
}

/** Reads `<dir>/<name>.json` and `<dir>/<name>.safetensors`, checking the format version first. */
export function loadModelFiles(dir: string, name = "model"): ModelFiles {
  const architecturePath = join(dir, `${name}.json`);
  const architecture = readArchitecture(architecturePath);
  const { tensors } = readSafetensors(join(dir, `${name}.safetensors`));
  return { architecture, stateDict: tensors };
}

/** Reads and validates an architecture file alone. */
export function readArchitecture(path: string): ModelArchitecture {
  const fail = (what: string): never => {
    throw new FileFormatError(`${path}: ${what}`);
  };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return fail(`cannot read the model architecture: ${(e as Error).message}`);
  }
  const parsed = parseJson(text, { source: path });
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return fail(`expected a JSON object (a descent model architecture), found ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed}`);
  }
  const arch = parsed as Record<string, unknown>;
  const format = arch["format"];
  if (typeof format !== "string") {
    return fail(`not a descent model file: no "format" string (this descent reads "${MODEL_FORMAT}")`);
  }
  const m = /^descent-model\/(\d+)$/.exec(format);
  if (m === null) fail(`unknown model format "${format}" (this descent reads "${MODEL_FORMAT}")`);
  const found = Number(m![1]);
  const supported = Number(MODEL_FORMAT.split("/")[1]);
  if (found > supported) {
    fail(`model format "${format}" is newer than this descent supports ("${MODEL_FORMAT}"): upgrade descent to load it`);
  }
  if (found < supported) {
    fail(`model format "${format}" is from an older descent; this version reads "${MODEL_FORMAT}" only`);
  }
  if (!Array.isArray(arch["layers"])) fail(`the architecture has no "layers" array`);
  const inputShape = arch["inputShape"];
  if (inputShape !== undefined && !(Array.isArray(inputShape) && inputShape.every((d) => Number.isInteger(d) && d >= 0))) {
    fail(`"inputShape" must be an array of non-negative integers, found ${preview(inputShape)}`);
  }
  const classes = arch["classes"];
  if (classes !== undefined && !Array.isArray(classes)) {
    fail(`"classes" must be an array, found ${preview(classes)}`);
  }
  return arch as ModelArchitecture;
}
