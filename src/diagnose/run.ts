/**
 * `descent diagnose RUN` as a library call: read a run folder (config.json, metrics.jsonl, the
 * final model or the latest checkpoint), measure the model's errors on train, train-dev, dev and
 * test, gather the evidence and run the findings engine; at a plateau (or when asked) analyse the
 * critical point at the latest checkpoint, and with `escape` write a checkpoint moved along the
 * negative-curvature direction that `descent train --resume` continues from.
 *
 * What cannot be checked is said, with why (no checkpoint, a non-finite stop, no records), and a
 * damaged metrics line is skipped with a warning naming it: a partial run still gets a diagnosis.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator } from "../tensor/random.js";
import { takeRows, hostValues, type Dataset } from "../data/dataset.js";
import { Standardizer } from "../data/standardize.js";
import { buildSequential, type Sequential } from "../nn/sequential.js";
import { fileCheckpoints, readCheckpoint } from "../io/checkpoint-file.js";
import { writeFileAtomic } from "../io/atomic.js";
import { loadConfigFile, type ExperimentConfig } from "../train/config.js";
import { evaluate, isClassification, type LossFn, type TrainState } from "../train/fit.js";
import { mse } from "../losses/losses.js";
import { parseJson } from "../io/json.js";
import { configLoss, loadData, modelSpecs, penaltyOf, runParts, type RunParts } from "../train/experiment.js";
import { newestCheckpoint } from "../train/run-folder.js";
import { loadSavedModel } from "../train/saved-model.js";
import type { TrainingRecord } from "../train/records.js";
import { finding, type Finding } from "./codes.js";
import { findingsOf, sortFindings, type ErrorSet, type RunEvidence, type StepPoint } from "./findings.js";
import { analyzeCriticalPoint, type CriticalPointAnalysis } from "./critical.js";
import { lossFunctionOf } from "./operator.js";

export interface DiagnoseOptions {
  /** the human-level / Bayes error for the bias verdict, in [0, 1) */
  targetError?: number | undefined;
  /** analyse the critical point even without a plateau */
  hessian?: boolean;
  /** write checkpoints/escape.ckpt moved along the negative-curvature direction */
  escape?: boolean;
  /** samples of the training data for the Hessian (default 256) */
  hessianSamples?: number;
  /**
   * also estimate the trace (Hutchinson) and the spectral density (SLQ): ~170 more Hessian-vector
   * products (default: for models of at most SPECTRUM_AUTO_PARAMS parameters)
   */
  spectrum?: boolean | undefined;
}

/** Models up to this many parameters get the trace and spectral density without asking (BENCHMARKS.md has the cost). */
export const SPECTRUM_AUTO_PARAMS = 10_000;

export interface CriticalPointJson {
  class: string;
  gradNorm: number;
  lambdaMin: number;
  lambdaMax: number;
  topK?: number[];
  trace?: number;
  escape?: { step: number; lossBefore: number; lossAfter: number; checkpoint?: string };
}

export interface Diagnosis {
  findings: Finding[];
  /** error rates (classification), or 1 − R² (regression; raw MSE when the labels are constant) */
  errors: ErrorSet;
  classification: boolean;
  criticalPoint?: CriticalPointJson;
  /** the Hessian's spectral density, when computed */
  density?: { grid: number[]; density: number[] };
  /** what could not be checked, and why */
  notChecked: string[];
  /** problems with the run's files (damaged lines) */
  warnings: string[];
  /** the training records, for the report's charts */
  records: TrainingRecord[];
}

interface Metrics {
  steps: StepPoint[];
  epochs: { epoch: number; trainLoss: number }[];
  records: TrainingRecord[];
  events: string[];
  warnings: string[];
}

/** The lines of metrics.jsonl by type; a damaged line is skipped with a warning naming it. */
export function readMetrics(path: string): Metrics {
  const out: Metrics = { steps: [], epochs: [], records: [], events: [], warnings: [] };
  if (!existsSync(path)) {
    out.warnings.push(`${path}: no such file (no metrics were written)`);
    return out;
  }
  readFileSync(path, "utf8").split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      // through the one guarded reader: bounded depth and size, no number that reads as Infinity
      v = parseJson(line, { source: `${path} line ${i + 1}` });
    } catch {
      out.warnings.push(`${path} line ${i + 1}: not valid JSON, skipped`);
      return;
    }
    const o = v as Record<string, unknown>;
    if (o === null || typeof o !== "object") {
      out.warnings.push(`${path} line ${i + 1}: not a JSON object, skipped`);
    } else if (o.type === "step" && typeof o.step === "number" && typeof o.loss === "number") {
      out.steps.push({ step: o.step, loss: o.loss, gradNorm: typeof o.gradNorm === "number" ? o.gradNorm : NaN });
    } else if (o.type === "record" && typeof o.step === "number" && o.params && typeof o.params === "object" && o.activations && typeof o.activations === "object") {
      out.records.push(o as unknown as TrainingRecord);
    } else if (o.type === "event" && typeof o.message === "string") {
      out.events.push(o.message);
    } else if (o.type === "epoch" && typeof o.epoch === "number" && typeof o.trainLoss === "number") {
      out.epochs.push({ epoch: o.epoch, trainLoss: o.trainLoss });
    } else {
      out.warnings.push(`${path} line ${i + 1}: not a step, epoch, record or event line, skipped`);
    }
  });
  return out;
}

interface LoadedModel {
  model: Sequential;
  standardizer: Standardizer | null;
  from: string;
}

function checkpointModel(config: ExperimentConfig, path: string, all: Dataset): LoadedModel {
  const ckpt = readCheckpoint(path);
  const classification = isClassification(all);
  const numOutputs = classification ? all.numClasses! : (all.labels.shape[1] ?? 1);
  const model = buildSequential(modelSpecs(config, numOutputs), { inputShape: [...all.featureShape], rng: new Generator(0), dtype: config.dtype });
  model.loadStateDict(ckpt.tensors.model ?? {});
  model.eval();
  const saved = ckpt.tensors.standardizer;
  return { model, standardizer: saved ? Standardizer.fromStateDict(saved, all.featureShape) : null, from: path };
}

/** Error rates (classification) or 1 − R² = MSE / Var(y_train) (regression) of a model on each part. */
async function errorsOf(m: LoadedModel, parts: RunParts, classification: boolean, notChecked: string[]): Promise<{ errors: ErrorSet; counts: NonNullable<RunEvidence["counts"]> }> {
  const std = (ds: Dataset) => (m.standardizer ? m.standardizer.transform(ds) : ds);
  let variance = 1;
  if (!classification) {
    const y = Array.from(hostValues(parts.train.labels));
    const mu = y.reduce((a, b) => a + b, 0) / Math.max(y.length, 1);
    variance = y.reduce((a, b) => a + (b - mu) ** 2, 0) / Math.max(y.length, 1);
    if (!(variance > 0)) {
      notChecked.push("bias and variance: the training labels are constant (no variance to explain), so errors are raw mean squared errors");
      variance = 1;
    }
  }
  // a regression's error is its mean squared error relative to the labels' variance, whatever it trained on
  const loss: LossFn = (out, y) => mse(out, y.rank === 1 ? y.reshape([-1, 1]) : y);
  const err = async (ds: Dataset): Promise<number | null> => {
    if (ds.length === 0) return null;
    const ev = await evaluate(m.model, std(ds), classification ? {} : { loss });
    return classification ? 1 - ev.accuracy! : ev.loss! / variance;
  };
  const errors: ErrorSet = { train: await err(parts.train), dev: await err(parts.dev) };
  const counts: NonNullable<RunEvidence["counts"]> = { train: parts.train.length, dev: parts.dev.length };
  if (parts.trainDev && parts.trainDev.length > 0) {
    errors.trainDev = (await err(parts.trainDev))!;
    counts.trainDev = parts.trainDev.length;
  }
  if (parts.test.length > 0) {
    errors.test = (await err(parts.test))!;
    counts.test = parts.test.length;
  }
  if (errors.dev === null) notChecked.push("variance: the run has no dev data");
  return { errors, counts: classification ? counts : { train: 0, dev: 0 } };
}

/** Per-feature ranges (max − min) of the raw training inputs. */
function featureRanges(train: Dataset): Float64Array {
  const x = hostValues(train.inputs);
  const f = train.length > 0 ? x.length / train.length : 0;
  const lo = new Float64Array(f).fill(Infinity), hi = new Float64Array(f).fill(-Infinity);
  for (let i = 0; i < x.length; i++) {
    const j = i % f;
    if (x[i]! < lo[j]!) lo[j] = x[i]!;
    if (x[i]! > hi[j]!) hi[j] = x[i]!;
  }
  return hi.map((h, j) => h - lo[j]!);
}

function layersOf(model: Sequential): RunEvidence["layers"] {
  const names = new Set(model.namedParameters().map(([n]) => n));
  return [...model].map((m, index) => {
    const weight = `${index}.weight`;
    return { index, type: m.typeName, ...((m.typeName === "Linear" || m.typeName === "Conv2d") && names.has(weight) ? { weight } : {}) };
  });
}

async function weightsOf(model: Sequential): Promise<NonNullable<RunEvidence["weights"]>> {
  const out: NonNullable<RunEvidence["weights"]> = {};
  for (const [n, p] of model.namedParameters()) out[n] = { shape: [...p.shape], values: await p.data() };
  return out;
}

function criticalFindings(cp: CriticalPointAnalysis, plateau: boolean): Finding[] {
  const evidence: Record<string, unknown> = { gradNorm: cp.gradNorm, lambdaMin: cp.lambdaMin, lambdaMax: cp.lambdaMax };
  if (cp.lineSearch) Object.assign(evidence, { lossBefore: cp.lineSearch.lossBefore, lossAfterStep: cp.lineSearch.lossAfter, step: cp.lineSearch.step });
  switch (cp.class) {
    case "saddle":
      return [finding("saddle-point", plateau ? "problem" : "warning", evidence)];
    case "maximum":
      return [finding("local-maximum", "problem", evidence)];
    case "minimum":
    case "degenerate":
      return [finding("local-minimum", "info", { ...evidence, flatDirections: cp.class === "degenerate" })];
    case "flat":
    case "none":
      return [];
    default:
      return cp.class satisfies never;
  }
}

/** Writes checkpoints/escape.ckpt: the latest checkpoint with the model moved to the escape point. */
async function writeEscape(dir: string, ckptPath: string, names: string[], tensors: Record<string, Tensor>): Promise<string> {
  const ckpt = readCheckpoint(ckptPath);
  const model = { ...(ckpt.tensors.model ?? {}) };
  for (const n of names) model[n] = tensors[n]!.cast(model[n]?.dtype ?? "float32");
  const st = ckpt.state as TrainState;
  const callbacks = { ...st.callbacks };
  // training continues: an early stop that the plateau caused no longer applies
  if (callbacks.earlyStopping) callbacks.earlyStopping = { ...callbacks.earlyStopping, wait: 0 };
  const path = join(dir, "checkpoints", "escape.ckpt");
  await fileCheckpoints.write(path, { tensors: { ...ckpt.tensors, model }, state: { ...st, stopReason: null, callbacks } });
  return path;
}

export async function diagnoseRun(dir: string, options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const target = options.targetError;
  if (target !== undefined && !(target >= 0 && target < 1)) throw new ConfigError(`--target-error: ${target} is outside [0, 1)`);
  if (!existsSync(dir)) throw new ConfigError(`${dir}: no such run folder`);
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) throw new ConfigError(`${dir} is not a run folder (no config.json)`);
  const config = loadConfigFile(configPath);
  const metrics = readMetrics(join(dir, "metrics.jsonl"));
  const notChecked: string[] = [];
  const nonFinite = metrics.events.find((m) => /non-finite|became (NaN|Infinity|-Infinity)/.test(m)) ?? null;

  const all = loadData(config);
  const classification = isClassification(all);
  const parts = runParts(config, all);
  const ckptPath = newestCheckpoint(dir);
  let final: LoadedModel | null = null;
  if (existsSync(join(dir, "model.json"))) {
    const saved = loadSavedModel(dir);
    final = { model: saved.model, standardizer: saved.standardizer, from: join(dir, "model.safetensors") };
  } else if (ckptPath) {
    final = checkpointModel(config, ckptPath, all);
  }
  if (nonFinite) notChecked.push("the final weights: training stopped on a non-finite loss, so the errors and weights are those of the last checkpoint");
  if (!final) notChecked.push("errors, weights and the Hessian: the run has no model and no checkpoint (it stopped before its first one)");
  if (metrics.records.length === 0) notChecked.push("gradient and activation health: metrics.jsonl has no training records");

  const errorsAndCounts = final ? await errorsOf(final, parts, classification, notChecked) : null;
  const errors: ErrorSet = errorsAndCounts?.errors ?? { train: null, dev: null };
  if (target !== undefined) errors.target = target;
  else if (!classification && errors.train !== null) notChecked.push("the noise floor: the bias verdict compares 1 − R² with 0; give --target-error with the 1 − R² a perfect model would reach on noisy labels");
  const evidence: RunEvidence = {
    steps: metrics.steps, records: metrics.records, nonFinite, errors, classification,
    layers: final ? layersOf(final.model) : [],
    ...(errorsAndCounts && classification ? { counts: errorsAndCounts.counts } : {}),
    ...(final ? { weights: await weightsOf(final.model) } : {}),
    ...(config.standardize ? {} : { featureRanges: featureRanges(parts.train) }),
  };
  const { findings, plateau } = findingsOf(evidence);
  const diagnosis: Diagnosis = { findings, errors, classification, notChecked, warnings: metrics.warnings, records: metrics.records };

  if (plateau || options.hessian || options.escape) {
    const at = ckptPath ? checkpointModel(config, ckptPath, all) : final;
    if (!at) {
      if (options.escape) throw new ConfigError(`--escape: ${dir} has no checkpoint to move`);
      notChecked.push("the critical point: no checkpoint or model to analyse");
    } else {
      const n = Math.min(options.hessianSamples ?? 256, parts.train.length);
      const rows = Int32Array.from({ length: n }, (_, i) => i);
      const train = at.standardizer ? at.standardizer.transform(parts.train) : parts.train;
      const f = await lossFunctionOf(at.model, configLoss(config, all), takeRows(train.inputs, rows), takeRows(train.labels, rows), penaltyOf(config));
      const spectrum = options.spectrum ?? f.size <= SPECTRUM_AUTO_PARAMS;
      if (!spectrum) notChecked.push(`the trace and spectral density: ${f.size} parameters make them slow (about 170 more Hessian-vector products); ask with --spectrum`);
      const cp = await analyzeCriticalPoint(f, { spectrum });
      if (!cp.converged) notChecked.push(`exact extreme eigenvalues: Lanczos stopped after ${cp.lanczosSteps} steps before λmin and λmax met their tolerance; they are estimates (Ritz values)`);
      const json: CriticalPointJson = { class: cp.class, gradNorm: cp.gradNorm, lambdaMin: cp.lambdaMin, lambdaMax: cp.lambdaMax, topK: cp.topK };
      if (cp.trace !== undefined) json.trace = cp.trace;
      if (cp.lineSearch) json.escape = { step: cp.lineSearch.step, lossBefore: cp.lineSearch.lossBefore, lossAfter: cp.lineSearch.lossAfter };
      if (options.escape) {
        if (!cp.escapePoint || !ckptPath || !json.escape) {
          throw new ConfigError(`--escape: the point at ${ckptPath ?? at.from} is no saddle (${cp.class}: λmin ${cp.lambdaMin.toPrecision(4)}, λmax ${cp.lambdaMax.toPrecision(4)}, gradient norm ${cp.gradNorm.toPrecision(3)})`);
        }
        json.escape.checkpoint = await writeEscape(dir, ckptPath, f.names, f.tensorsAt(cp.escapePoint));
      }
      diagnosis.criticalPoint = json;
      if (cp.density) diagnosis.density = { grid: Array.from(cp.density.grid), density: Array.from(cp.density.density) };
      diagnosis.findings = sortFindings([...diagnosis.findings, ...criticalFindings(cp, plateau)]);
    }
  }
  return diagnosis;
}

/** Writes RUN/diagnosis.json (atomically): the verdicts, errors, critical point, spectrum and what was not checked. */
export function writeDiagnosis(dir: string, d: Diagnosis): string {
  const path = join(dir, "diagnosis.json");
  const { findings, errors, classification, criticalPoint, density, notChecked } = d;
  writeFileAtomic(path, JSON.stringify({ findings, errors, classification, ...(criticalPoint ? { criticalPoint } : {}), ...(density ? { density } : {}), notChecked }) + "\n");
  return path;
}
