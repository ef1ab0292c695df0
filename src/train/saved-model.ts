/**
 * A trained model as saved in a run folder (model.json + model.safetensors): rebuilt from its
 * layer specs and loaded with its weights, together with its class names and the standardizer
 * fitted on its training data, so predictions see inputs exactly as training did.
 *
 * Both files are untrusted input. Everything in them is checked against everything else before it
 * is used, and every refusal is a FileFormatError naming the file: the input shape (positive sizes
 * within the library's bounds), the layers (built against a budget of the values the weights file
 * actually holds, so a layer claiming 2^28 outputs is refused before anything is allocated), the
 * weights (the model's shapes, and finite values), the class names (strings, distinct, one per
 * output) and the standardizer (fitted on this input shape).
 */
import { DescentError, FileFormatError } from "../errors/errors.js";
import { preview } from "../errors/values.js";
import { Generator } from "../tensor/random.js";
import { sizeOf } from "../tensor/shape.js";
import { refuseNonFinite } from "../io/finite.js";
import { loadModelFiles } from "../io/modelfile.js";
import { buildSequential, type Sequential } from "../nn/sequential.js";
import { MAX_LAYER_SIZE, validateLayerSpecs } from "../nn/specs.js";
import { Standardizer } from "../data/standardize.js";

export interface SavedModel {
  model: Sequential;
  inputShape: number[];
  classes: string[] | null;
  /** the names of the input features (a model trained on a CSV file), in input order */
  featureNames: string[] | null;
  standardizer: Standardizer | null;
}

/** The most dimensions a sample may have in a model file. */
const MAX_INPUT_RANK = 8;

export function loadSavedModel(dir: string, name = "model"): SavedModel {
  const { architecture, stateDict } = loadModelFiles(dir, name);
  const where = `${dir}/${name}.json`;
  const weights = `${dir}/${name}.safetensors`;
  const fail = (what: string): never => {
    throw new FileFormatError(`${where}: ${what}`);
  };
  const inFile = <T>(file: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FileFormatError || !(e instanceof DescentError)) throw e;
      throw new FileFormatError(`${file}: ${e.message}`);
    }
  };

  const layers = inFile(where, () => validateLayerSpecs(architecture.layers, "layers"));
  const shape = architecture.inputShape;
  if (shape === undefined) fail(`no "inputShape"`);
  const inputShape = shape!;
  if (inputShape.length === 0 || inputShape.length > MAX_INPUT_RANK || !inputShape.every((d) => d >= 1 && d <= MAX_LAYER_SIZE)) {
    fail(`"inputShape" must be 1 to ${MAX_INPUT_RANK} sizes from 1 to ${MAX_LAYER_SIZE}, found ${preview(inputShape)}`);
  }

  refuseNonFinite(stateDict, weights);
  const tensors = Object.values(stateDict);
  const held = tensors.reduce((n, t) => n + t.size, 0);
  const dtype = tensors[0]?.dtype === "float64" ? "float64" : "float32";
  const model = inFile(where, () =>
    buildSequential(layers, { inputShape, rng: new Generator(0), dtype, maxElements: held, budgetReason: `the ${held} values ${weights} holds` }),
  );
  inFile(weights, () => model.loadStateDict(stateDict));
  model.eval();

  const output = inFile(where, () => model.outputShape(inputShape));
  const classes = architecture.classes === undefined ? null : checkClasses(architecture.classes, output, fail);
  const standardizer = architecture.standardizer === undefined || architecture.standardizer === null
    ? null
    : inFile(where, () => Standardizer.fromJSON(architecture.standardizer));
  if (standardizer && (standardizer.featureShape.length !== inputShape.length || standardizer.featureShape.some((d, i) => d !== inputShape[i]))) {
    fail(`the standardizer was fitted on samples of [${standardizer.featureShape.join(",")}], but "inputShape" is [${inputShape.join(",")}]`);
  }
  const size = sizeOf(inputShape);
  const features = architecture["features"];
  if (features !== undefined && !(Array.isArray(features) && features.length === size && features.every((f) => typeof f === "string"))) {
    fail(`"features": expected ${size} feature names (one per input value), found ${preview(features)}`);
  }
  return { model, inputShape, classes, featureNames: (features as string[] | undefined) ?? null, standardizer };
}

/** Class names: distinct strings, one per output of a model whose output is one score per class. */
function checkClasses(classes: unknown[], output: number[], fail: (what: string) => never): string[] {
  const bad = classes.findIndex((c) => typeof c !== "string");
  if (bad >= 0) fail(`"classes"[${bad}] is ${preview(classes[bad])}; class names must be strings`);
  const names = classes as string[];
  if (new Set(names).size !== names.length) fail(`"classes" repeats a name (${preview(names)})`);
  if (output.length !== 1 || sizeOf(output) !== names.length) {
    fail(`"classes" names ${names.length} classes, but the model outputs [${output.join(",")}] per sample`);
  }
  return names;
}
