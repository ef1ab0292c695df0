/**
 * Predictions of a saved model (a run's model.json + model.safetensors) on new samples read from a
 * file: a JSON array of samples, CSV feature rows, or an IDX images file.
 *
 * Each sample must have the model's input shape. A JSON sample is checked level by level against
 * it, so a sample of the wrong size is a one-line error naming the sample, never cut up into other
 * samples; an IDX file's items must have that shape (a leading channel of 1 may be left out, as
 * MNIST files do); a CSV row must give one value per feature, or the columns are picked by the
 * model's feature names from a header. A file with no samples is an error too.
 */
import { readFileSync } from "node:fs";
import { ConfigError, FileFormatError } from "../errors/errors.js";
import { tensor } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/mode.js";
import { softmax } from "../ops/activations.js";
import { readIdx } from "../data/idx.js";
import { loadCsvFeatures } from "../data/csv.js";
import { parseJson } from "../io/json.js";
import type { SavedModel } from "./saved-model.js";

const shapeText = (shape: readonly number[]) => `[${shape.join(",")}]`;

/** What a JSON value is, briefly (never the whole of a large or deep value). */
function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v !== null && typeof v === "object") return "an object";
  return JSON.stringify(v) ?? String(v);
}

/** The samples of a JSON file, each checked against `shape`, row-major. */
function jsonSamples(file: string, shape: readonly number[]): { values: Float32Array; rows: number } {
  // bounded in depth and size before anything walks it
  const json = parseJson(readFileSync(file, "utf8"), { source: file });
  const expected = `each sample an array of shape ${shapeText(shape)}`;
  if (!Array.isArray(json)) throw new FileFormatError(`${file}: expected a JSON array of samples, ${expected}; got ${describe(json)}`);
  if (json.length === 0) throw new FileFormatError(`${file}: no samples (an empty array); expected ${expected}`);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(json.length * size);
  let k = 0;
  json.forEach((sample: unknown, i) => {
    const walk = (v: unknown, depth: number, at: string): void => {
      if (depth === shape.length) {
        if (typeof v !== "number" || !Number.isFinite(v)) throw new FileFormatError(`${file}: sample ${i}${at} is ${describe(v)}, not a finite number`);
        values[k++] = v;
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[depth]) {
        const where = depth === 0 ? "" : ` at ${at}`;
        throw new FileFormatError(`${file}: sample ${i}${where} is ${describe(v)}, expected an array of ${shape[depth]} (the model takes samples of shape ${shapeText(shape)})`);
      }
      v.forEach((e, j) => walk(e, depth + 1, `${at}[${j}]`));
    };
    walk(sample, 0, "");
  });
  return { values, rows: json.length };
}

/** The items of an IDX file, whose shape must be the model's (uint8 pixels scaled to [0, 1], as in training). */
function idxSamples(file: string, shape: readonly number[]): { values: Float32Array; rows: number } {
  const idx = readIdx(file);
  const item = idx.shape.slice(1);
  const squeezed = [...shape];
  while (squeezed.length > item.length && squeezed[0] === 1) squeezed.shift();
  if (item.length !== squeezed.length || item.some((d, i) => d !== squeezed[i])) {
    throw new FileFormatError(`${file}: the items have shape ${shapeText(item)}; the model takes samples of shape ${shapeText(shape)}`);
  }
  if (idx.shape[0] === 0) throw new FileFormatError(`${file}: no samples (0 items)`);
  const scale = idx.values instanceof Uint8Array ? 1 / 255 : 1;
  return { values: Float32Array.from(idx.values, (v) => v * scale), rows: idx.shape[0]! };
}

/**
 * The samples in `file` for a model taking `inputShape`, as one tensor [N, ...inputShape]. The
 * format follows the extension: .json, .csv (.csv.gz), anything else is read as IDX.
 */
export function readSamples(file: string, model: { inputShape: readonly number[]; featureNames?: readonly string[] | null }): Tensor {
  const shape = model.inputShape;
  const size = shape.reduce((a, b) => a * b, 1);
  const { values, rows } = /\.json$/i.test(file)
    ? jsonSamples(file, shape)
    : /\.csv(\.gz)?$/i.test(file)
      ? loadCsvFeatures(file, { size, featureNames: model.featureNames ?? undefined })
      : idxSamples(file, shape);
  return tensor(values, { shape: [rows, ...shape] });
}

export interface Prediction {
  /** a classifier's k most likely classes, most likely first */
  classes?: { name: string; probability: number }[];
  /** a regression model's outputs */
  outputs?: number[];
}

/**
 * The model's predictions for samples [N, ...inputShape]: the top `top` classes, or the outputs
 * (read with `await`: any backend).
 */
export async function predictSamples(saved: SavedModel, x: Tensor, top = 1): Promise<Prediction[]> {
  if (!Number.isInteger(top) || top < 1) throw new ConfigError(`predict: top must be a positive integer, got ${top}`);
  const input = saved.standardizer ? saved.standardizer.transformTensor(x) : x;
  const n = x.shape[0]!;
  const out = noGrad(() => {
    const y = saved.model.forward(input);
    return saved.classes ? softmax(y, 1) : y;
  });
  const v = await out.data();
  const c = v.length / n;
  if (!saved.classes) return Array.from({ length: n }, (_, i) => ({ outputs: Array.from(v.subarray(i * c, (i + 1) * c)) }));
  return Array.from({ length: n }, (_, i) => ({
    classes: Array.from(v.subarray(i * c, (i + 1) * c), (p, j) => ({ name: saved.classes![j] ?? String(j), probability: p }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, top),
  }));
}
