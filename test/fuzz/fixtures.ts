/**
 * Valid files of every format descent reads, made by a tiny real run, and the loader of each with
 * the consistency check of what it loaded: model files (model.json + model.safetensors), checkpoints
 * (resumed by fit), safetensors, IDX (plain and .gz, uint8 and float32), CSV (categorical, integer,
 * float; plain and .gz) and experiment configs. The hardening and mutation tests load damaged copies
 * of these files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { Generator } from "../../src/tensor/random.js";
import { buildSequential, type LayerSpec, type Sequential } from "../../src/nn/index.js";
import { crossEntropy } from "../../src/losses/index.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { createSchedule, withRunLength } from "../../src/schedules/create.js";
import { learningRateOf } from "../../src/schedules/schedules.js";
import { zeros } from "../../src/tensor/creation.js";
import { noGrad } from "../../src/autograd/mode.js";
import { Standardizer } from "../../src/data/standardize.js";
import { loadCsv, type CsvOptions } from "../../src/data/csv.js";
import { loadIdx, readIdx } from "../../src/data/idx.js";
import { hostValues, type Dataset } from "../../src/data/dataset.js";
import { saveModelFiles } from "../../src/io/modelfile.js";
import { readSafetensors } from "../../src/io/safetensors-file.js";
import { Checkpointing } from "../../src/train/callbacks.js";
import { EarlyStopping } from "../../src/train/callback.js";
import type { FitOptions } from "../../src/train/fit.js";
import { fit } from "../../src/train/fit-files.js";
import { loadConfigFile } from "../../src/train/config.js";
import { loadSavedModel } from "../../src/train/saved-model.js";
import { addContext } from "../../src/errors/errors.js";
import { blobs } from "../train/helpers.js";

export const SPECS: LayerSpec[] = [
  { type: "linear", outFeatures: 6 },
  { type: "batchNorm1d" },
  { type: "relu" },
  { type: "dropout", p: 0.2 },
  { type: "linear", outFeatures: 3 },
];
const INPUT = [4];
const train = blobs(24, { features: 4, classes: 3, role: "train" });
const dev = blobs(12, { features: 4, classes: 3, seed: 1, role: "dev" });

/** A fresh model, optimizer, schedule and callbacks, built the same way every time. */
export function setup(checkpointDir: string) {
  const modelRng = new Generator(5);
  const model = buildSequential(SPECS, { inputShape: INPUT, rng: modelRng });
  const schedule = createSchedule({ type: "cosine", tMax: 4 }, 0.01);
  const optimizer = createOptimizer("adam", model, { lr: learningRateOf(schedule, Math.ceil(train.length / 8)) });
  const callbacks = [new EarlyStopping({ patience: 3 }), new Checkpointing({ dir: checkpointDir, keepLast: 5 })];
  const options = (epochs: number, more: Partial<FitOptions> = {}): FitOptions => ({
    train, dev, loss: (o, y) => crossEntropy(o, y), optimizer, schedule, epochs, batchSize: 8, seed: 3, callbacks, modelRng, log: () => {}, ...more,
  });
  return { model, options };
}

export interface Fixtures {
  root: string;
  /** checkpoint files written by fit */
  checkpoint: string;
  /** a folder with model.json and model.safetensors */
  modelDir: string;
  idx: { images: string; labels: string; floatImages: string; imagesGz: string; labelsGz: string };
  csv: { categorical: string; integer: string; float: string; gz: string };
  config: string;
}

const idxBytes = (code: number, shape: number[], values: ArrayLike<number>, width: number): Uint8Array => {
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + values.length * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < values.length; i++) {
    if (width === 1) out[header + i] = values[i]!;
    else view.setFloat32(header + 4 * i, values[i]!, false);
  }
  return out;
};

/** Writes every fixture under `root` (a tiny training run of two epochs makes the checkpoints). */
export async function makeFixtures(root: string): Promise<Fixtures> {
  const ckDir = join(root, "checkpoints");
  const { model, options } = setup(ckDir);
  await fit(model, options(2));
  const modelDir = join(root, "model");
  const standardizer = Standardizer.fit(train);
  await saveModelFiles(modelDir, {
    architecture: { layers: model.specs(), inputShape: INPUT, classes: ["a", "b", "c"], standardizer: standardizer.toJSON() },
    stateDict: model.stateDict(),
  });

  const file = (name: string, data: string | Uint8Array): string => {
    const p = join(root, name);
    writeFileSync(p, data);
    return p;
  };
  mkdirSync(root, { recursive: true });
  const pixels = Array.from({ length: 6 * 16 }, (_, i) => (i * 37) % 256);
  const images = idxBytes(0x08, [6, 4, 4], pixels, 1);
  const labels = idxBytes(0x08, [6], [0, 1, 2, 0, 1, 2], 1);
  const idx = {
    images: file("images.idx", images),
    labels: file("labels.idx", labels),
    floatImages: file("float-images.idx", idxBytes(0x0d, [6, 4, 4], pixels.map((p) => p / 255), 4)),
    imagesGz: file("images.idx.gz", gzipSync(images)),
    labelsGz: file("labels.idx.gz", gzipSync(labels)),
  };
  const rows = Array.from({ length: 8 }, (_, i) => `${i * 0.5},${-i},${(i * 7) % 5},${["red", "green", "blue"][i % 3]}`);
  const categorical = ["a,b,c,label", ...rows].join("\n") + "\n";
  const csv = {
    categorical: file("data.csv", categorical),
    integer: file("int.csv", ["a,b,c,label", ...rows.map((r, i) => r.replace(/[a-z]+$/, String(i % 4)))].join("\n") + "\n"),
    float: file("float.csv", ["a,b,c,target", ...rows.map((r, i) => r.replace(/[a-z]+$/, String(i * 1.25)))].join("\n") + "\n"),
    gz: file("data.csv.gz", gzipSync(categorical)),
  };
  const config = file("config.json", JSON.stringify({
    data: { source: "csv", path: csv.categorical },
    model: { layers: [{ type: "linear", outFeatures: 5 }, { type: "relu" }, { type: "linear", outFeatures: 3 }] },
    optimizer: { name: "adam", lr: 0.01, betas: [0.9, 0.99] },
    schedule: { type: "warmup", warmupEpochs: 1, then: { type: "cosine", tMax: 3 } },
    augmentation: [],
    epochs: 3,
    batchSize: 4,
    earlyStopping: { patience: 2 },
  }, null, 2));
  return { root, checkpoint: join(ckDir, "epoch-2.ckpt"), modelDir, idx, csv, config };
}

/** Throws unless every value is finite. */
function expectFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) throw new Error(`inconsistent load: ${what} element ${i} is ${values[i]}`);
}

function checkDataset(ds: Dataset, what: string): void {
  expectFinite(hostValues(ds.inputs), `${what} inputs`);
  if (ds.numClasses !== undefined) {
    const y = hostValues(ds.labels);
    for (let i = 0; i < y.length; i++) if (!(y[i]! >= 0 && y[i]! < ds.numClasses)) throw new Error(`inconsistent load: ${what} label ${i} is ${y[i]}`);
    if (ds.classNames && ds.classNames.length !== ds.numClasses) throw new Error(`inconsistent load: ${what} has ${ds.classNames.length} names for ${ds.numClasses} classes`);
  } else {
    expectFinite(hostValues(ds.labels), `${what} targets`);
  }
}

function checkModel(model: Sequential, inputShape: number[], classes: string[] | null): void {
  const out = noGrad(() => model.forward(zeros([2, ...inputShape])));
  expectFinite(out.dataSync(), "model output");
  if (classes && out.shape[1] !== classes.length) throw new Error(`inconsistent load: ${classes.length} classes for outputs ${out.shape}`);
}

function loadModel(path: string): void {
  const saved = loadSavedModel(dirname(path));
  checkModel(saved.model, saved.inputShape, saved.classes);
}

/** The kinds of file, each with its loader; a loader throws on a refusal and checks what it loaded. */
export type Format = "model" | "modelWeights" | "checkpoint" | "safetensors" | "idx" | "idxFloat" | "idxGz" | "csv" | "csvInteger" | "csvFloat" | "csvGz" | "config";

export const LOADERS: Record<Format, (path: string, fx: Fixtures) => Promise<void> | void> = {
  model: (path) => loadModel(path),
  modelWeights: (path) => loadModel(path),
  checkpoint: async (path, fx) => {
    const { model, options } = setup(join(fx.root, "resumed-checkpoints"));
    const history = await fit(model, options(3, { resumeFrom: path }));
    for (const e of history.epochs) expectFinite([e.trainLoss, e.lr], `epoch ${e.epoch}`);
    checkModel(model as Sequential, INPUT, null);
  },
  safetensors: (path) => {
    for (const t of Object.values(readSafetensors(path).tensors)) t.dataSync();
  },
  idx: (path, fx) => checkDataset(loadIdx({ images: path, labels: fx.idx.labels }), "idx"),
  idxFloat: (path, fx) => checkDataset(loadIdx({ images: path, labels: fx.idx.labels }), "idx"),
  idxGz: (path) => {
    const a = readIdx(path);
    if (a.values.length !== a.shape.reduce((x, y) => x * y, 1)) throw new Error("inconsistent load: idx size");
  },
  csv: (path) => checkDataset(loadCsv(path), "csv"),
  csvInteger: (path) => checkDataset(loadCsv(path, { labelType: "integer" } satisfies CsvOptions), "csv"),
  csvFloat: (path) => checkDataset(loadCsv(path, { labelType: "float" }), "csv"),
  csvGz: (path) => checkDataset(loadCsv(path, { maxBytes: 1 << 20 }), "csv"),
  config: (path) => {
    const config = loadConfigFile(path);
    // the model needs the data's shape, so it is built by runExperiment, whose errors name the config
    // (issue 9, item 10); here a [3] input stands in for the data
    try {
    if (typeof config.model !== "string") buildSequential(config.model.layers, { inputShape: [3], rng: new Generator(0) });
    } catch (e) {
      throw addContext(e, `config ${path}: model`);
    }
    const { name, ...rest } = config.optimizer;
    createOptimizer(name, buildSequential([{ type: "linear", outFeatures: 2 }], { inputShape: [3], rng: new Generator(0) }), rest as never);
    if (config.schedule) {
      const s = createSchedule(withRunLength(config.schedule, { epochs: config.epochs, stepsPerEpoch: 1 }), config.optimizer.lr);
      for (let t = 0; t < config.epochs; t++) expectFinite([s.lrAt(t)], "schedule lr");
    }
  },
};

/** The file each format's mutations start from. */
export function sourceOf(format: Format, fx: Fixtures): string {
  switch (format) {
    case "model": return join(fx.modelDir, "model.json");
    case "modelWeights": return join(fx.modelDir, "model.safetensors");
    case "checkpoint": return fx.checkpoint;
    case "safetensors": return join(fx.modelDir, "model.safetensors");
    case "idx": return fx.idx.images;
    case "idxFloat": return fx.idx.floatImages;
    case "idxGz": return fx.idx.imagesGz;
    case "csv": return fx.csv.categorical;
    case "csvInteger": return fx.csv.integer;
    case "csvFloat": return fx.csv.float;
    case "csvGz": return fx.csv.gz;
    case "config": return fx.config;
    default: return format satisfies never;
  }
}
