/**
 * A trained model as saved in a run folder (model.json + model.safetensors): rebuilt from its
 * layer specs and loaded with its weights, together with its class names and the standardizer
 * fitted on its training data, so predictions see inputs exactly as training did.
 */
import { join } from "node:path";
import { ConfigError, FileFormatError, withContext } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { loadModelFiles } from "../io/modelfile.js";
import { buildSequential, type Sequential } from "../nn/sequential.js";
import { validateLayerSpecs } from "../nn/specs.js";
import { Standardizer } from "../data/standardize.js";

export interface SavedModel {
  model: Sequential;
  inputShape: number[];
  classes: string[] | null;
  /** the names of the input features (a model trained on a CSV file), in input order */
  featureNames: string[] | null;
  standardizer: Standardizer | null;
}

export function loadSavedModel(dir: string, name = "model"): SavedModel {
  const { architecture, stateDict } = loadModelFiles(dir, name);
  const where = join(dir, `${name}.json`);
  const layers = validateLayerSpecs(architecture.layers, `${where}: layers`);
  const inputShape = architecture.inputShape as number[] | undefined;
  if (!inputShape) throw new ConfigError(`${where}: no inputShape`);
  const dtype = Object.values(stateDict)[0]?.dtype === "float64" ? "float64" : "float32";
  const model = withContext(where, () => buildSequential(layers, { inputShape, rng: new Generator(0), dtype }));
  withContext(join(dir, `${name}.safetensors`), () => model.loadStateDict(stateDict as Record<string, Tensor>), FileFormatError);
  model.eval();
  const arch = architecture as { classes?: string[]; features?: unknown; standardizer?: unknown };
  const size = inputShape.reduce((a, b) => a * b, 1);
  const features = arch.features;
  if (features !== undefined && !(Array.isArray(features) && features.length === size && features.every((f) => typeof f === "string"))) {
    throw new ConfigError(`${where}: features: expected ${size} feature names (one per input value)`);
  }
  return {
    model,
    inputShape,
    classes: arch.classes ?? null,
    featureNames: (features as string[] | undefined) ?? null,
    standardizer: arch.standardizer ? Standardizer.fromJSON(arch.standardizer) : null,
  };
}
