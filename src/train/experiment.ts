/**
 * An experiment: a validated config turned into a complete training run with a run folder
 * (docs/run-folder.md). It loads and splits the data, fits a standardizer on the training part
 * when asked, builds the model, optimizer and schedule, trains with early stopping, checkpoints,
 * a metrics log and progress, then evaluates on the test part and writes the model files,
 * summary.json and report.html. `descent train` is a thin shell over `runExperiment`.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, DescentError, NonFiniteError } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import { writeFileAtomic } from "../io/atomic.js";
import { saveModelFiles } from "../io/modelfile.js";
import { readCheckpoint } from "../io/checkpoint.js";
import { loadMnist, DIGIT_CLASSES } from "../data/mnist.js";
import { loadIdx } from "../data/idx.js";
import { loadCsv } from "../data/csv.js";
import { split, type SplitResult } from "../data/split.js";
import { Standardizer } from "../data/standardize.js";
import { hostValues, type Dataset } from "../data/dataset.js";
import { buildSequential, presetSpecs, summary, type LayerSpec, type Sequential } from "../nn/index.js";
import { crossEntropy, mse, l1Penalty, l2Penalty } from "../losses/index.js";
import { createOptimizer, type OptimizerName } from "../optim/optimizer.js";
import { createSchedule } from "../schedules/create.js";
import { learningRateOf } from "../schedules/schedules.js";
import { add } from "../ops/elementwise.js";
import { withContext } from "../nn/module.js";
import { writeRunReport } from "../report/index.js";
import { Checkpointing, EarlyStopping, MetricsLog, ProgressDisplay, type Callback } from "./callbacks.js";
import { evaluate, fit, isClassification, type History, type LossFn, type Penalty, type TrainableModel } from "./fit.js";
import { loadConfigFile, resolveConfig, type ExperimentConfig } from "./config.js";

export interface RunOptions {
  /** the run folder (default runs/<name>-<timestamp>); an existing non-empty folder is refused */
  outDir?: string | undefined;
  /** continue the run in this folder from its latest checkpoint */
  resumeDir?: string | undefined;
  /** with resumeDir: the total number of epochs (default: the config's) */
  epochs?: number | undefined;
  /** messages for the user (default console.log) */
  log?: (line: string) => void;
  /** draw progress bars (default: when stderr is a TTY) */
  progress?: boolean;
  signal?: AbortSignal | undefined;
  /** write report.html (default true) */
  report?: boolean;
}

export interface RunResult {
  dir: string;
  config: ExperimentConfig;
  history: History;
  test: { loss: number | undefined; accuracy: number | undefined };
  summaryPath: string;
  interrupted: boolean;
}

/** The data set a config names, and a short description of its source. */
export function loadData(config: ExperimentConfig): Dataset {
  const d = config.data;
  switch (d.source) {
    case "mnist":
      return loadMnist();
    case "idx":
      return loadIdx({ images: d.images, labels: d.labels, ...(d.numClasses ? { numClasses: d.numClasses } : {}), ...(d.classNames ? { classNames: d.classNames } : {}) });
    case "csv": {
      const { path, ...rest } = d;
      return loadCsv(path, Object.fromEntries(Object.entries(rest).filter(([k, v]) => k !== "source" && v !== undefined)));
    }
    default:
      return d satisfies never;
  }
}

/** The layer specs of a config's model, with the output layer sized to the number of classes. */
export function modelSpecs(config: ExperimentConfig, numOutputs: number): LayerSpec[] {
  const specs = typeof config.model === "string" ? presetSpecs(config.model) : config.model.layers;
  if (typeof config.model !== "string") return specs;
  const last = specs[specs.length - 1];
  if (last?.type === "linear") specs[specs.length - 1] = { ...last, outFeatures: numOutputs };
  return specs;
}

/**
 * Builds the model and checks that it fits the data: a spec error or a last layer whose output is
 * not [numOutputs] per sample is a config error (exit 2), found before any training.
 */
function buildModel(
  specs: LayerSpec[], inputShape: number[], numOutputs: number, classification: boolean, rng: Generator, config: ExperimentConfig,
): Sequential {
  let model: Sequential;
  try {
    model = buildSequential(specs, { inputShape, rng, dtype: config.dtype });
  } catch (e) {
    if (e instanceof DescentError) throw new ConfigError(`model: ${e.message}`);
    throw e;
  }
  const out = model.outputShape(inputShape);
  if (out.length !== 1 || out[0] !== numOutputs) {
    const what = classification ? `${numOutputs} class scores` : `${numOutputs} output${numOutputs === 1 ? "" : "s"}`;
    const hint = out.length > 1 ? " (add a flatten layer before the last linear layer?)" : "";
    throw new ConfigError(`model: the last layer gives [${out.join(", ")}] per sample; the data needs [${numOutputs}] (${what})${hint}`);
  }
  return model;
}

/** The time now as a folder-name part: 2026-11-23T07-00-00. */
export function runStamp(): string {
  return new Date().toISOString().replace(/[:]/g, "-").replace(/\..+$/, "");
}

function defaultName(config: ExperimentConfig): string {
  const model = typeof config.model === "string" ? config.model : "model";
  return config.name ?? `${model}-${config.optimizer.name}-${runStamp()}`;
}

/**
 * A config's train / dev / test split of its data: the config's sizes (8,000 / 1,000 / 1,000 for
 * the bundled digits when it gives none), its seed, stratified for classification. The same
 * config always gives the same split, so `descent evaluate` re-creates a run's parts exactly.
 */
export function splitData(config: ExperimentConfig, all: Dataset): SplitResult {
  const defaults = config.data.source === "mnist" && !config.split ? { train: 8000, dev: 1000, test: 1000 } : {};
  const stratify = isClassification(all) && (config.split?.stratify ?? true);
  return split(all, { ...defaults, ...(config.split ?? {}), seed: config.seed, stratify });
}

/** Refuses a folder that already holds a run: a run is never overwritten. */
function checkRunDirFree(dir: string): void {
  if (existsSync(dir) && existsSync(join(dir, "config.json"))) {
    throw new ConfigError(`run folder ${dir} already holds a run: choose another --out, or continue it with --resume ${dir}`);
  }
}

/** The newest checkpoint of a run: interrupted.ckpt if newer, else the highest epoch-N.ckpt. */
export function latestCheckpoint(dir: string): string {
  const ckDir = join(dir, "checkpoints");
  const candidates: string[] = [];
  if (existsSync(ckDir)) {
    for (const f of readdirSync(ckDir)) if (f === "interrupted.ckpt" || /^(epoch|step)-\d+\.ckpt$/.test(f)) candidates.push(join(ckDir, f));
  }
  if (candidates.length === 0) throw new ConfigError(`run ${dir} has no checkpoint to resume from (looked in ${ckDir})`);
  return candidates.map((p) => ({ p, t: statSync(p).mtimeMs })).sort((a, b) => b.t - a.t)[0]!.p;
}


function penaltyOf(config: ExperimentConfig): Penalty | undefined {
  const { l1, l2, l2Form } = config.regularization;
  if (l1 === 0 && l2 === 0) return undefined;
  return (model, m) => {
    const mod = model as Sequential;
    const terms = [];
    if (l1 > 0) terms.push(l1Penalty(mod, l1));
    if (l2 > 0) terms.push(l2Penalty(mod, l2, l2Form === "perBatch" ? { form: "perBatch", batchSize: m } : {}));
    return terms.reduce((a, b) => add(a, b));
  };
}

function misclassified(test: Dataset, predictions: Int32Array | undefined, limit = 64) {
  if (!predictions) return [];
  const shape = test.featureShape;
  const isImage = shape.length === 3 && shape[0] === 1 || shape.length === 2;
  const [h, w] = shape.length === 3 ? [shape[1]!, shape[2]!] : [shape[0]!, shape[1] ?? 1];
  const x = hostValues(test.inputs);
  const y = hostValues(test.labels);
  const rowSize = x.length / Math.max(test.length, 1);
  const out = [];
  for (let i = 0; i < test.length && out.length < limit; i++) {
    if (predictions[i] === y[i]) continue;
    const item: { index: number; label: number; predicted: number; image?: { shape: number[]; data: number[] } } = {
      index: i, label: y[i]!, predicted: predictions[i]!,
    };
    if (isImage) item.image = { shape: [h, w], data: Array.from(x.subarray(i * rowSize, (i + 1) * rowSize), (v) => Math.round(v * 1000) / 1000) };
    out.push(item);
  }
  return out;
}

export async function runExperiment(input: ExperimentConfig | unknown, options: RunOptions = {}): Promise<RunResult> {
  const say = options.log ?? ((line: string) => console.log(line));
  let config: ExperimentConfig;
  let dir: string;
  let resumeFrom: string | undefined;
  if (options.resumeDir) {
    dir = resolve(options.resumeDir);
    const configPath = join(dir, "config.json");
    if (!existsSync(configPath)) throw new ConfigError(`--resume ${options.resumeDir}: no config.json there (is it a run folder?)`);
    config = loadConfigFile(configPath);
    if (options.epochs !== undefined) config = { ...config, epochs: options.epochs };
    resumeFrom = latestCheckpoint(dir);
    say(`resuming ${dir} from ${resumeFrom}`);
  } else {
    config = input && typeof input === "object" && "data" in input && "optimizer" in input && "epochs" in input
      ? (input as ExperimentConfig)
      : resolveConfig(input);
    if (options.epochs !== undefined) config = { ...config, epochs: options.epochs };
    dir = resolve(options.outDir ?? join("runs", defaultName(config)));
    checkRunDirFree(dir);
  }
  const name = config.name ?? dir.split(/[\\/]/).pop()!;
  const started = performance.now();

  // data
  const all = loadData(config);
  const classification = isClassification(all);
  // the model is built (and checked against the data) before anything is printed or trained
  const modelRng = new Generator(config.seed);
  const numOutputs = classification ? all.numClasses! : (all.labels.shape[1] ?? 1);
  const model = buildModel(modelSpecs(config, numOutputs), [...all.featureShape], numOutputs, classification, modelRng, config);
  const parts = splitData(config, all);
  say(parts.describe);
  let { train, dev, test } = parts;
  let standardizer: Standardizer | null = null;
  if (config.standardize) {
    // a resumed run uses the statistics its checkpoint saved, never a refit
    const saved = resumeFrom ? readCheckpoint(resumeFrom).tensors.standardizer : undefined;
    try {
      standardizer = saved ? Standardizer.fromStateDict(saved, train.featureShape) : Standardizer.fit(train);
    } catch (e) {
      throw saved ? withContext(e, resumeFrom!) : e;
    }
    [train, dev, test] = [standardizer.transform(train), standardizer.transform(dev), standardizer.transform(test)];
  }

  // loss, optimizer, schedule
  const summaryText = summary(model, [...train.featureShape]);
  say(summaryText);
  const lossFn: LossFn = classification ? (out, y) => crossEntropy(out, y) : (out, y) => mse(out, y.rank === 1 ? y.reshape([-1, 1]) : y);
  // the learning rate has one source: optimizer.lr, or the schedule that starts from it, fed into the optimizer
  const schedule = config.schedule ? createSchedule(config.schedule, config.optimizer.lr) : undefined;
  const { name: optName, ...optOptions } = config.optimizer;
  const lr = schedule ? learningRateOf(schedule, Math.ceil(train.length / config.batchSize)) : config.optimizer.lr;
  let optimizer;
  try {
    optimizer = createOptimizer(optName as OptimizerName, model, { ...optOptions, lr } as never);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(`config optimizer: ${e.message}`) : e;
  }

  // the run folder is made only now, so a config whose data or model fails leaves nothing behind
  if (!options.resumeDir) checkRunDirFree(dir);
  mkdirSync(join(dir, "checkpoints"), { recursive: true });
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");

  // callbacks
  const metrics = new MetricsLog(join(dir, "metrics.jsonl"));
  const progress = new ProgressDisplay({ ...(options.progress !== undefined ? { tty: options.progress } : {}), log: say });
  const callbacks: Callback[] = [metrics, progress];
  if (config.earlyStopping !== false && dev.length > 0) callbacks.push(new EarlyStopping(config.earlyStopping));
  callbacks.push(new Checkpointing({ dir: join(dir, "checkpoints"), everyEpochs: config.checkpoint.everyEpochs, everySteps: config.checkpoint.everySteps, keepLast: config.checkpoint.keepLast, monitor: dev.length > 0 ? "devLoss" : null }));

  let history: History;
  try {
    history = await fit(model as TrainableModel, {
      train, dev: dev.length > 0 ? dev : undefined, loss: lossFn, optimizer, schedule, epochs: config.epochs,
      batchSize: config.batchSize, seed: config.seed, augment: config.augmentation, regularization: penaltyOf(config),
      clipGradNorm: config.clipGradNorm ?? undefined,
      checkpointExtras: standardizer ? { standardizer: standardizer.stateDict() } : undefined,
      callbacks, modelRng, resumeFrom, signal: options.signal,
      interruptCheckpoint: join(dir, "checkpoints", "interrupted.ckpt"), log: (l) => progress.message(l),
    });
  } catch (e) {
    progress.onTrainEnd();
    if (e instanceof NonFiniteError) metrics.event(-1, -1, `stopped: ${e.message}`);
    throw e;
  }
  if (history.stopReason) metrics.event(history.epochs.length - 1, history.epochs.at(-1)?.step ?? 0, history.stopReason);
  if (history.interrupted) {
    say(`interrupted: saved ${join(dir, "checkpoints", "interrupted.ckpt")}; continue with: npx descent train --resume ${dir}`);
    return { dir, config, history, test: { loss: undefined, accuracy: undefined }, summaryPath: "", interrupted: true };
  }
  if (history.stopReason) say(history.stopReason);

  // test evaluation and the run's files
  const ev = evaluate(model as TrainableModel, test, { loss: lossFn, confusion: true });
  const classNames = all.classNames ?? (classification ? DIGIT_CLASSES.slice(0, all.numClasses) : undefined);
  saveModelFiles(dir, {
    architecture: {
      layers: model.specs(), inputShape: [...train.featureShape],
      ...(classNames ? { classes: [...classNames] } : {}),
      ...(standardizer ? { standardizer: standardizer.toJSON() } : {}),
    },
    stateDict: model.stateDict(),
  });
  const devEpoch = history.epochs.find((e) => e.epoch === history.finalEpoch);
  const summaryJson = {
    name,
    epochs: history.epochs.length,
    steps: history.epochs.at(-1)?.step ?? 0,
    stoppedEarly: history.stopReason !== null,
    bestEpoch: history.finalEpoch,
    test: { loss: ev.loss ?? null, accuracy: ev.accuracy ?? null },
    dev: devEpoch ? { loss: devEpoch.devLoss ?? null, accuracy: devEpoch.devAccuracy ?? null } : null,
    classes: classNames ? [...classNames] : null,
    confusion: ev.confusion?.counts ?? null,
    misclassified: misclassified(test, ev.predictions),
    modelSummary: summaryText,
    seconds: (performance.now() - started) / 1000,
  };
  const summaryPath = join(dir, "summary.json");
  writeFileAtomic(summaryPath, JSON.stringify(summaryJson) + "\n");
  if (options.report ?? true) writeRunReport(dir);
  return { dir, config, history, test: { loss: ev.loss, accuracy: ev.accuracy }, summaryPath, interrupted: false };
}
