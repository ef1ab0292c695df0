/**
 * An experiment: a validated config turned into a complete training run with a run folder
 * (docs/run-folder.md). It loads and splits the data, fits a standardizer on the training part
 * when asked, builds the model, optimizer and schedule, trains with early stopping, checkpoints,
 * a metrics log and progress, then evaluates on the test part and writes the model files,
 * summary.json and report.html. `descent train` is a thin shell over `runExperiment`.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, DescentError, NonFiniteError, withContext } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import { writeFileAtomic } from "../io/atomic.js";
import { saveModelFiles } from "../io/modelfile.js";
import { readCheckpoint } from "../io/checkpoint-file.js";
import { loadMnist, DIGIT_CLASSES } from "../data/mnist.js";
import { loadIdx } from "../data/idx.js";
import { loadCsv } from "../data/csv.js";
import { checkAugmentable } from "../data/augment.js";
import { split, type SplitResult } from "../data/split.js";
import { Standardizer } from "../data/standardize.js";
import { hostValues, type Dataset } from "../data/dataset.js";
import { buildSequential, presetSpecs, summary, type LayerSpec, type Sequential } from "../nn/index.js";
import { l1Penalty, l2Penalty } from "../losses/index.js";
import { createLoss, parseLossSpec } from "../losses/create.js";
import { createOptimizer, type OptimizerName } from "../optim/optimizer.js";
import { createSchedule, explicitLength, withRunLength, type ScheduleSpec } from "../schedules/create.js";
import { learningRateOf } from "../schedules/schedules.js";
import { add } from "../ops/elementwise.js";
import { writeRunReport } from "../report/index.js";
import { Checkpointing, MetricsLog, ProgressDisplay } from "./callbacks.js";
import { EarlyStopping, type Callback } from "./callback.js";
import { evaluate, isClassification, type History, type LossFn, type Penalty, type TrainableModel } from "./fit.js";
import { fit } from "./fit-files.js";
import { runFolderControl } from "./control-file.js";
import { trainingRecorder } from "./records.js";
import { loadConfigFile, resolveConfig, type ExperimentConfig } from "./config.js";
import { NON_FINITE_REASON, checkSomethingToDo, claimRunFolder, latestCheckpoint, lockRunFolder, refuseLiveRun } from "./run-folder.js";

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
  /** stops training after the batch in progress and saves a checkpoint; a string reason is shown as the message */
  signal?: AbortSignal | undefined;
  /** names the config in messages about its model, augmentation and optimizer (default "config") */
  configSource?: string | undefined;
  /** write report.html (default true) */
  report?: boolean;
  /** more callbacks for fit, after the run's own (a search trial's per-epoch hook) */
  callbacks?: readonly Callback[];
}

export interface RunResult {
  dir: string;
  config: ExperimentConfig;
  history: History;
  test: { loss: number | undefined; accuracy: number | undefined };
  summaryPath: string;
  interrupted: boolean;
}

/** The data set a config names (its `data` source, or another of the same schema). */
export function loadData(config: ExperimentConfig, d: ExperimentConfig["data"] = config.data): Dataset {
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

/**
 * The training loss of a config for its data: the config's `loss`, or by the labels' type
 * (cross-entropy for classes, mean squared error for numbers). With `layers` (the model's specs),
 * a loss that takes probabilities is refused unless the model ends in a sigmoid or softmax.
 */
export function configLoss(config: ExperimentConfig, all: Dataset, layers?: readonly LayerSpec[]): LossFn {
  const classification = isClassification(all);
  const outputs = classification ? all.numClasses! : (all.labels.shape[1] ?? 1);
  const loss = createLoss(config.loss, { classification, outputs, dtype: config.dtype });
  const last = layers?.at(-1)?.type;
  if (config.loss !== null && parseLossSpec(config.loss).name === "binaryCrossEntropy" && last !== undefined && last !== "sigmoid" && last !== "softmax") {
    throw new ConfigError(`loss binaryCrossEntropy takes probabilities, but the model ends in ${last}: end it with a sigmoid or softmax layer, or use binaryCrossEntropyWithLogits`);
  }
  return loss;
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

export interface RunParts {
  train: Dataset;
  /** the split's dev part when the config has devData (else null: dev is the split's) */
  trainDev: Dataset | null;
  dev: Dataset;
  test: Dataset;
  describe: string;
}

/**
 * The parts a run trains and is measured on: the split of `data`, except that with `devData` the
 * split's dev part becomes train-dev and dev is devData, and with `testData` test is testData.
 */
export function runParts(config: ExperimentConfig, all: Dataset): RunParts {
  const parts = splitData(config, all);
  const other = (field: "devData" | "testData"): Dataset => {
    const ds = loadData(config, config[field]!);
    const shape = (d: Dataset) => `[${d.featureShape.join(", ")}]`;
    if (shape(ds) !== shape(all)) throw new ConfigError(`${field}: samples of shape ${shape(ds)}, but data has ${shape(all)}`);
    if (ds.numClasses !== all.numClasses) throw new ConfigError(`${field}: ${ds.numClasses ?? "no"} classes, but data has ${all.numClasses ?? "none"}`);
    return ds;
  };
  const dev = config.devData ? other("devData") : parts.dev;
  const test = config.testData ? other("testData") : parts.test;
  const extra = [config.devData ? `; train-dev ${parts.dev.length}, dev ${dev.length} from devData` : "", config.testData ? `; test ${test.length} from testData` : ""].join("");
  return { train: parts.train, trainDev: config.devData ? parts.dev : null, dev, test, describe: parts.describe + extra };
}

/**
 * A schedule that gives its own length must cover the run: a resumed run given epochs past it
 * would follow the schedule past its end (a cosine back up from its minimum), and a oneCycle
 * shorter than the run stops it mid-way. A length left out follows the run (withRunLength).
 */
function checkScheduleLength(spec: ScheduleSpec, epochs: number, stepsPerEpoch: number, resumeDir: string | undefined): void {
  const length = explicitLength(spec);
  if (!length) return;
  const needed = length.unit === "step" ? epochs * stepsPerEpoch : epochs;
  const ends = spec.type === "oneCycle" || (spec.type === "warmup" && spec.then.type === "oneCycle");
  if (needed <= length.value || (!resumeDir && !ends)) return;
  const unit = `${length.unit}${needed === 1 ? "" : "s"}`;
  const where = resumeDir ? `--resume ${resumeDir}: ` : "";
  const file = resumeDir ? `"schedule" in ${join(resumeDir, "config.json")}` : `the config's "schedule"`;
  throw new ConfigError(
    `${where}the schedule's ${length.key} is ${length.value} ${length.unit}s, but the run needs ${needed} ${unit}; ` +
      `to train this long, set ${length.key} to ${needed} or more in ${file}, or remove it (then the schedule follows the run's epochs)`,
  );
}

/** The weight penalty a config asks for (added to the loss each step), or undefined. */
export function penaltyOf(config: ExperimentConfig): Penalty | undefined {
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
    refuseLiveRun(dir, "--resume");
    resumeFrom = latestCheckpoint(dir, options.resumeDir);
    config = loadConfigFile(join(dir, "config.json"));
    if (options.epochs !== undefined) config = { ...config, epochs: options.epochs };
    checkSomethingToDo(options.resumeDir, resumeFrom, config.epochs);
  } else {
    config = input && typeof input === "object" && "data" in input && "optimizer" in input && "epochs" in input
      ? (input as ExperimentConfig)
      : resolveConfig(input);
    if (options.epochs !== undefined) config = { ...config, epochs: options.epochs };
    dir = resolve(options.outDir ?? join("runs", defaultName(config)));
    refuseLiveRun(dir, "--out");
    claimRunFolder(dir, false); // refused before the data is read: a file, a folder that is not a run, a run
  }
  const name = config.name ?? dir.split(/[\\/]/).pop()!;
  const started = performance.now();

  // data
  const all = loadData(config);
  const classification = isClassification(all);
  // the model is built (and checked against the data) before anything is printed or trained
  const modelRng = new Generator(config.seed);
  const numOutputs = classification ? all.numClasses! : (all.labels.shape[1] ?? 1);
  const source = options.configSource ?? (options.resumeDir ? `config ${join(dir, "config.json")}` : "config");
  const model = withContext(source, () => buildModel(modelSpecs(config, numOutputs), [...all.featureShape], numOutputs, classification, modelRng, config));
  if (config.augmentation.length > 0) withContext(source, () => checkAugmentable(all.featureShape, "augmentation"));
  const parts = runParts(config, all);
  say(parts.describe);
  let { train, dev, test } = parts;
  let standardizer: Standardizer | null = null;
  if (config.standardize) {
    // a resumed run uses the statistics its checkpoint saved, never a refit
    const saved = resumeFrom ? readCheckpoint(resumeFrom).tensors.standardizer : undefined;
    const fitOrRestore = () => (saved ? Standardizer.fromStateDict(saved, train.featureShape) : Standardizer.fit(train));
    standardizer = saved ? withContext(resumeFrom!, fitOrRestore) : fitOrRestore();
    [train, dev, test] = [standardizer.transform(train), standardizer.transform(dev), standardizer.transform(test)];
  }

  // loss, optimizer, schedule
  const summaryText = summary(model, [...train.featureShape]);
  say(summaryText);
  const lossFn = withContext(source, () => configLoss(config, all, model.specs()));
  // the learning rate has one source: optimizer.lr, or the schedule that starts from it, fed into the
  // optimizer; a schedule's length left out follows the run (withRunLength)
  const stepsPerEpoch = Math.ceil(train.length / config.batchSize);
  if (config.schedule) checkScheduleLength(config.schedule, config.epochs, stepsPerEpoch, options.resumeDir);
  const schedule = config.schedule ? createSchedule(withRunLength(config.schedule, { epochs: config.epochs, stepsPerEpoch }), config.optimizer.lr) : undefined;
  const { name: optName, ...optOptions } = config.optimizer;
  const lr = schedule ? learningRateOf(schedule, stepsPerEpoch) : config.optimizer.lr;
  let optimizer;
  try {
    optimizer = createOptimizer(optName as OptimizerName, model, { ...optOptions, lr } as never);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(`${source}: optimizer: ${e.message}`) : e;
  }

  // the run folder is made only now, so a config whose data, model, augmentation or schedule
  // fails leaves nothing behind; a resumed run's config.json (its new epochs) is written once its
  // checkpoint has loaded, so a resume that fails leaves the run as it was
  const writeConfig = () => writeFileAtomic(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  // one process at a time in a run folder: a second train there would interleave both runs' files
  const unlock = lockRunFolder(dir, options.resumeDir ? "--resume" : "--out");
  try {
    if (options.resumeDir) {
      say(`resuming ${dir} from ${resumeFrom}`);
    } else {
      if (claimRunFolder(dir, true) === "unstarted") say(`run folder ${dir}: its run stopped before its first checkpoint; starting over there`);
      mkdirSync(join(dir, "checkpoints"), { recursive: true });
      writeConfig();
    }

    // callbacks
    const metrics = new MetricsLog(join(dir, "metrics.jsonl"));
    const progress = new ProgressDisplay({ ...(options.progress !== undefined ? { tty: options.progress } : {}), log: say });
    const callbacks: Callback[] = [metrics, progress, trainingRecorder(model, train, config.batchSize, (r) => metrics.record({ ...r }))];
    if (options.resumeDir) callbacks.push({ name: "runConfig", onTrainBegin: writeConfig });
    if (config.earlyStopping !== false && dev.length > 0) callbacks.push(new EarlyStopping(config.earlyStopping));
    // steering by hand (descent serve): commands from control.jsonl, replayed on resume
    const steering = runFolderControl(dir, metrics, { resuming: resumeFrom !== undefined, signal: options.signal, warn: say });
    callbacks.push(steering.control);
    callbacks.push(...(options.callbacks ?? []));
    callbacks.push(new Checkpointing({ dir: join(dir, "checkpoints"), everyEpochs: config.checkpoint.everyEpochs, everySteps: config.checkpoint.everySteps, keepLast: config.checkpoint.keepLast, monitor: dev.length > 0 ? "devLoss" : null }));

    const onAbort = () => progress.message(typeof options.signal?.reason === "string" ? options.signal.reason : "stopping after this batch...");
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    let history: History;
    try {
      history = await fit(model as TrainableModel, {
        train, dev: dev.length > 0 ? dev : undefined, loss: lossFn, optimizer, schedule, epochs: config.epochs,
        batchSize: config.batchSize, seed: config.seed, augment: config.augmentation, regularization: penaltyOf(config),
        clipGradNorm: config.clipGradNorm ?? undefined,
        checkpointExtras: standardizer ? { standardizer: standardizer.stateDict() } : undefined,
        callbacks, modelRng, resumeFrom, signal: steering.signal,
        interruptCheckpoint: join(dir, "checkpoints", "interrupted.ckpt"), log: (l) => progress.message(l),
      });
    } catch (e) {
      if (e instanceof NonFiniteError) metrics.event(metrics.position.epoch, metrics.position.step, `stopped: ${e.message}`, NON_FINITE_REASON);
      throw e;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
    if (history.stopReason) metrics.event(history.epochs.length - 1, history.epochs.at(-1)?.step ?? 0, history.stopReason);
    if (history.interrupted) {
      say(`interrupted: saved ${join(dir, "checkpoints", "interrupted.ckpt")}; continue with: npx descent train --resume ${dir}`);
      return { dir, config, history, test: { loss: undefined, accuracy: undefined }, summaryPath: "", interrupted: true };
    }
    if (history.stopReason) say(history.stopReason);

    // test evaluation and the run's files
    const ev = await evaluate(model as TrainableModel, test, { loss: lossFn, confusion: true });
    const classNames = all.classNames ?? (classification ? DIGIT_CLASSES.slice(0, all.numClasses) : undefined);
    await saveModelFiles(dir, {
      architecture: {
        layers: model.specs(), inputShape: [...train.featureShape],
        ...(classNames ? { classes: [...classNames] } : {}),
        ...(all.featureNames ? { features: [...all.featureNames] } : {}),
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
  } finally {
    unlock();
  }
}
