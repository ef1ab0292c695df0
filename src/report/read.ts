/**
 * Reading a run folder (docs/run-folder.md) for the report, leniently.
 *
 * A report is most wanted when a run went wrong, so nothing here throws on a bad or partial
 * folder: a missing file is listed in `missing`, and a damaged file or line becomes one entry in
 * `problems` that names the file and the line ("metrics.jsonl line 7: not valid JSON (...)").
 * Whatever can be read is kept. Fields are checked one by one, so a summary with one bad field
 * still gives the others.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseJson } from "../io/json.js";

/** One optimizer step: `{"type":"step",...}`. Absent or non-numeric fields are null. */
export interface StepRecord {
  epoch: number;
  step: number;
  loss: number | null;
  lr: number | null;
  gradNorm: number | null;
}

/** The end of one epoch: `{"type":"epoch",...}`; dev fields are null without a dev set. */
export interface EpochRecord {
  epoch: number;
  step: number | null;
  trainLoss: number | null;
  trainAccuracy: number | null;
  devLoss: number | null;
  devAccuracy: number | null;
  lr: number | null;
  seconds: number | null;
  samplesPerSecond: number | null;
}

/** A notable moment: `{"type":"event","message":"early stopping: ..."}`. */
export interface EventRecord {
  epoch: number | null;
  step: number | null;
  message: string;
}

/** A misclassified test sample; `image` is absent when the input is not an image. */
export interface Misclassified {
  index: number | null;
  label: number;
  predicted: number;
  image: { shape: number[]; data: number[] } | null;
}

/** The fields of summary.json that could be read; each is null when absent or malformed. */
export interface RunSummary {
  name: string | null;
  epochs: number | null;
  steps: number | null;
  stoppedEarly: boolean | null;
  bestEpoch: number | null;
  test: { loss: number | null; accuracy: number | null } | null;
  dev: { loss: number | null; accuracy: number | null } | null;
  classes: string[] | null;
  confusion: number[][] | null;
  misclassified: Misclassified[];
  modelSummary: string | null;
  seconds: number | null;
}

/** A training record (src/train/records.ts): norms per parameter, activation health per layer. */
export interface TrainingRecordLine {
  epoch: number;
  step: number;
  /** gradient norm per parameter tensor */
  grads: Record<string, number>;
  /** per activation layer index: its type and the fraction dead (ReLU family) or saturated */
  activations: Record<string, { type: string; dead: number | null; saturated: number | null }>;
}

/** diagnosis.json, written by `descent diagnose`: the verdicts and, when computed, the spectrum. */
export interface DiagnosisFile {
  findings: { code: string; severity: string; layer: string | null; evidence: string; remedies: string[] }[];
  errors: Record<string, number | null>;
  /** errors are error rates (else 1 − R²) */
  classification: boolean;
  criticalPoint: { class: string; lambdaMin: number | null; lambdaMax: number | null; gradNorm: number | null } | null;
  density: { grid: number[]; density: number[] } | null;
  notChecked: string[];
}

export interface RunData {
  /** The folder as given, resolved to an absolute path. */
  dir: string;
  /** The run's name: summary.name, else config.name, else the folder's name. */
  name: string;
  /** The parsed config.json, or null when missing or damaged. */
  config: unknown;
  steps: StepRecord[];
  epochs: EpochRecord[];
  events: EventRecord[];
  records: TrainingRecordLine[];
  summary: RunSummary | null;
  /** diagnosis.json when `descent diagnose` wrote one (it is optional: never listed as missing) */
  diagnosis: DiagnosisFile | null;
  /** Files of the contract that are not there: "summary.json", ... */
  missing: string[];
  /** What could not be read, each naming the file (and line): shown on the page. */
  problems: string[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads and parses one JSON file; records a missing file or a parse error. */
function readJsonFile(dir: string, file: string, data: Pick<RunData, "missing" | "problems">): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) {
    data.missing.push(file);
    return null;
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    data.problems.push(`${file}: cannot be read (${errorText(e)})`);
    return null;
  }
  try {
    return parseJson(text, { source: file });
  } catch (e) {
    data.problems.push(errorText(e));
    return null;
  }
}

/** Parses metrics.jsonl line by line; a damaged line is named by its 1-based number and skipped. */
export function parseMetrics(
  text: string,
  problems: string[],
  file = "metrics.jsonl",
): { steps: StepRecord[]; epochs: EpochRecord[]; events: EventRecord[]; records: TrainingRecordLine[] } {
  const records: TrainingRecordLine[] = [];
  const steps: StepRecord[] = [];
  const epochs: EpochRecord[] = [];
  const events: EventRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const where = `${file} line ${i + 1}`;
    let rec: unknown;
    try {
      rec = parseJson(line, { source: where });
    } catch (e) {
      const tail = i === lines.length - 1 ? ", the last line: the run may have been cut off while writing it" : "";
      problems.push(`${errorText(e)}${tail}`);
      continue;
    }
    if (!isObject(rec)) {
      problems.push(`${where}: expected a JSON object, got ${Array.isArray(rec) ? "an array" : typeof rec}`);
      continue;
    }
    const type = rec["type"];
    if (type === "step") {
      const epoch = num(rec["epoch"]);
      const step = num(rec["step"]);
      if (epoch === null || step === null) {
        problems.push(`${where}: step record without numeric "epoch" and "step"`);
        continue;
      }
      steps.push({ epoch, step, loss: num(rec["loss"]), lr: num(rec["lr"]), gradNorm: num(rec["gradNorm"]) });
    } else if (type === "epoch") {
      const epoch = num(rec["epoch"]);
      if (epoch === null) {
        problems.push(`${where}: epoch record without a numeric "epoch"`);
        continue;
      }
      epochs.push({
        epoch,
        step: num(rec["step"]),
        trainLoss: num(rec["trainLoss"]),
        trainAccuracy: num(rec["trainAccuracy"]),
        devLoss: num(rec["devLoss"]),
        devAccuracy: num(rec["devAccuracy"]),
        lr: num(rec["lr"]),
        seconds: num(rec["seconds"]),
        samplesPerSecond: num(rec["samplesPerSecond"]),
      });
    } else if (type === "event") {
      const message = str(rec["message"]);
      if (message === null) {
        problems.push(`${where}: event record without a "message" string`);
        continue;
      }
      events.push({ epoch: num(rec["epoch"]), step: num(rec["step"]), message });
    } else if (type === "record") {
      const epoch = num(rec["epoch"]);
      const step = num(rec["step"]);
      const params = rec["params"], acts = rec["activations"];
      if (epoch === null || step === null || !isObject(params) || !isObject(acts)) {
        problems.push(`${where}: training record without numeric "epoch" and "step" and objects "params" and "activations"`);
        continue;
      }
      const grads: Record<string, number> = {};
      for (const [name, p] of Object.entries(params)) {
        const g = isObject(p) ? num(p["grad"]) : null;
        if (g !== null) grads[name] = g;
      }
      const activations: TrainingRecordLine["activations"] = {};
      for (const [index, a] of Object.entries(acts)) {
        if (isObject(a)) activations[index] = { type: str(a["type"]) ?? "?", dead: num(a["dead"]), saturated: num(a["saturated"]) };
      }
      records.push({ epoch, step, grads, activations });
    } else {
      problems.push(`${where}: unknown record type ${JSON.stringify(type)} (expected "step", "epoch", "record" or "event")`);
    }
  }
  return { steps, epochs, events, records };
}

function isNumberMatrix(v: unknown): v is number[][] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((row) => Array.isArray(row) && row.length === v.length && row.every((x) => typeof x === "number" && Number.isFinite(x)))
  );
}

function parseScore(v: unknown): { loss: number | null; accuracy: number | null } | null {
  return isObject(v) ? { loss: num(v["loss"]), accuracy: num(v["accuracy"]) } : null;
}

function parseMisclassified(v: unknown, problems: string[]): Misclassified[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push("summary.json: misclassified is not an array");
    return [];
  }
  const out: Misclassified[] = [];
  v.forEach((m, i) => {
    const label = isObject(m) ? num(m["label"]) : null;
    const predicted = isObject(m) ? num(m["predicted"]) : null;
    if (!isObject(m) || label === null || predicted === null) {
      problems.push(`summary.json: misclassified[${i}] lacks numeric "label" and "predicted"`);
      return;
    }
    let image: Misclassified["image"] = null;
    const img = m["image"];
    if (img !== undefined) {
      const shape = isObject(img) && Array.isArray(img["shape"]) ? img["shape"] : null;
      const data = isObject(img) && Array.isArray(img["data"]) ? img["data"] : null;
      const dims = shape?.filter((d): d is number => typeof d === "number" && Number.isInteger(d) && d > 0) ?? [];
      const size = dims.reduce((a, b) => a * b, 1);
      if (shape === null || data === null || dims.length !== shape.length || dims.length < 2 || data.length !== size) {
        problems.push(`summary.json: misclassified[${i}].image is not {shape, data} with data.length = product of shape`);
      } else {
        image = { shape: dims, data: data.map((x) => (typeof x === "number" && Number.isFinite(x) ? x : 0)) };
      }
    }
    out.push({ index: num(m["index"]), label, predicted, image });
  });
  return out;
}

/** Checks summary.json field by field; a malformed field is null and named in `problems`. */
export function parseSummary(v: unknown, problems: string[]): RunSummary | null {
  if (v === null) return null;
  if (!isObject(v)) {
    problems.push("summary.json: expected a JSON object");
    return null;
  }
  const classesRaw = v["classes"];
  const classes = Array.isArray(classesRaw) ? classesRaw.map((c) => String(c)) : null;
  const confusionRaw = v["confusion"];
  let confusion: number[][] | null = null;
  if (confusionRaw !== undefined && confusionRaw !== null) {
    if (isNumberMatrix(confusionRaw)) confusion = confusionRaw;
    else problems.push("summary.json: confusion is not a square matrix of numbers");
  }
  if (confusion !== null && classes !== null && classes.length !== confusion.length) {
    problems.push(`summary.json: ${classes.length} classes but a ${confusion.length}x${confusion.length} confusion matrix`);
  }
  const stopped = v["stoppedEarly"];
  return {
    name: str(v["name"]),
    epochs: num(v["epochs"]),
    steps: num(v["steps"]),
    stoppedEarly: typeof stopped === "boolean" ? stopped : null,
    bestEpoch: num(v["bestEpoch"]),
    test: parseScore(v["test"]),
    dev: parseScore(v["dev"]),
    classes,
    confusion,
    misclassified: parseMisclassified(v["misclassified"], problems),
    modelSummary: str(v["modelSummary"]),
    seconds: num(v["seconds"]),
  };
}

/** Reads whatever of config.json, metrics.jsonl and summary.json exists in `runDir`. Never throws for a bad folder. */
export function readRunFolder(runDir: string): RunData {
  const dir = resolve(runDir);
  const data: RunData = { dir, name: basename(dir), config: null, steps: [], epochs: [], events: [], records: [], summary: null, diagnosis: null, missing: [], problems: [] };
  if (!existsSync(dir)) {
    data.problems.push(`${dir}: the run folder does not exist`);
    data.missing.push("config.json", "metrics.jsonl", "summary.json");
    return data;
  }
  data.config = readJsonFile(dir, "config.json", data);
  if (data.config !== null && !isObject(data.config)) data.problems.push("config.json: expected a JSON object");

  const metricsPath = join(dir, "metrics.jsonl");
  if (existsSync(metricsPath)) {
    try {
      Object.assign(data, parseMetrics(readFileSync(metricsPath, "utf8"), data.problems));
    } catch (e) {
      data.problems.push(`metrics.jsonl: cannot be read (${errorText(e)})`);
    }
  } else {
    data.missing.push("metrics.jsonl");
  }

  data.summary = parseSummary(readJsonFile(dir, "summary.json", data), data.problems);
  if (existsSync(join(dir, "diagnosis.json"))) data.diagnosis = parseDiagnosis(readJsonFile(dir, "diagnosis.json", data), data.problems);
  const configName = isObject(data.config) ? str(data.config["name"]) : null;
  data.name = data.summary?.name ?? configName ?? data.name;
  return data;
}

/** Checks diagnosis.json leniently: what is malformed is left out and named in `problems`. */
export function parseDiagnosis(v: unknown, problems: string[]): DiagnosisFile | null {
  if (v === null) return null;
  if (!isObject(v) || !Array.isArray(v["findings"])) {
    problems.push("diagnosis.json: expected an object with a findings list");
    return null;
  }
  const findings: DiagnosisFile["findings"] = [];
  v["findings"].forEach((f, i) => {
    const code = isObject(f) ? str(f["code"]) : null;
    const severity = isObject(f) ? str(f["severity"]) : null;
    if (!isObject(f) || code === null || severity === null) {
      problems.push(`diagnosis.json: findings[${i}] lacks a "code" and a "severity"`);
      return;
    }
    const layer = isObject(f["layer"]) ? `layer ${num(f["layer"]["index"]) ?? "?"} ${str(f["layer"]["type"]) ?? ""}`.trim() : null;
    const value = (x: unknown): string =>
      typeof x === "number" ? String(Number(x.toPrecision(4))) : isObject(x) ? `{ ${Object.entries(x).map(([k, y]) => `${k} ${value(y)}`).join(", ")} }` : JSON.stringify(x);
    const evidence = isObject(f["evidence"]) ? Object.entries(f["evidence"]).map(([k, x]) => `${k} ${value(x)}`).join(", ") : "";
    const remedies = Array.isArray(f["remedies"]) ? f["remedies"].filter((r): r is string => typeof r === "string") : [];
    findings.push({ code, severity, layer, evidence, remedies });
  });
  const errors: Record<string, number | null> = {};
  if (isObject(v["errors"])) for (const [k, x] of Object.entries(v["errors"])) errors[k] = num(x);
  const cp = v["criticalPoint"];
  const density = v["density"];
  const numbers = (x: unknown): number[] | null => (Array.isArray(x) && x.every((e) => typeof e === "number" && Number.isFinite(e)) ? x : null);
  const grid = isObject(density) ? numbers(density["grid"]) : null;
  const values = isObject(density) ? numbers(density["density"]) : null;
  return {
    findings,
    errors,
    classification: v["classification"] === true,
    criticalPoint: isObject(cp) ? { class: str(cp["class"]) ?? "?", lambdaMin: num(cp["lambdaMin"]), lambdaMax: num(cp["lambdaMax"]), gradNorm: num(cp["gradNorm"]) } : null,
    density: grid && values && grid.length === values.length ? { grid, density: values } : null,
    notChecked: Array.isArray(v["notChecked"]) ? v["notChecked"].filter((n): n is string => typeof n === "string") : [],
  };
}
