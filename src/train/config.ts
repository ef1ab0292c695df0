/**
 * The experiment config: one JSON file describes a run (data, split, model, loss, optimizer, schedule,
 * regularization, augmentation, epochs, batch size, seed, early stopping, checkpoints). It is
 * validated with a zod schema; an error names the field (`optimizer.lr`) and what is allowed.
 * Nested specs (layers, schedules, augmentations, optimizer options) are checked by the library's
 * own validators, whose messages are prefixed with the field they came from.
 * `resolveConfig` fills every default, so the config.json written to a run is complete; a config
 * file's relative data paths are read from the file's own folder and stored absolute.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import { ConfigError, DescentError } from "../errors/errors.js";
import { LAYER_TYPES, validateLayerSpecs, type LayerSpec } from "../nn/specs.js";
import { OPTIMIZERS, OPTIMIZER_NAMES, createOptimizer, type OptimizerName } from "../optim/optimizer.js";
import { Parameter } from "../nn/parameter.js";
import { zeros } from "../tensor/creation.js";
import { SCHEDULE_TYPES, createSchedule, withRunLength, type ScheduleSpec } from "../schedules/create.js";
import { parseAugmentSpecs, type AugmentSpec } from "../data/augment.js";
import { preview, withinDepth } from "../errors/values.js";
import { MAX_JSON_DEPTH, parseJson } from "../io/json.js";
import { LOSS_NAMES, checkLossSpec, type LossName, type LossSpec } from "../losses/create.js";

const positiveInt = z.number().int().positive();
const part = z.number().nonnegative();

const dataSchema = z.discriminatedUnion("source", [
  z.strictObject({ source: z.literal("mnist") }),
  z.strictObject({
    source: z.literal("idx"),
    images: z.string().min(1),
    labels: z.string().min(1),
    numClasses: positiveInt.optional(),
    classNames: z.array(z.string()).optional(),
  }),
  z.strictObject({
    source: z.literal("csv"),
    path: z.string().min(1),
    label: z.union([z.string(), z.number().int().nonnegative()]).optional(),
    labelType: z.enum(["categorical", "integer", "float"]).optional(),
    header: z.boolean().optional(),
    delimiter: z.string().length(1).optional(),
  }),
]);

const schema = z.strictObject({
  name: z.string().regex(/^[\w.-]+$/, "letters, digits, '.', '_' and '-' only").optional(),
  data: dataSchema.default({ source: "mnist" }),
  // with devData, `data` is split into train and train-dev (the split's dev part), and dev comes
  // from devData: the gap between train-dev and dev errors measures a data mismatch
  devData: dataSchema.optional(),
  testData: dataSchema.optional(),
  split: z
    .strictObject({ train: part.optional(), dev: part.optional(), test: part.optional(), stratify: z.boolean().default(true) })
    .optional(),
  standardize: z.boolean().default(false),
  model: z.union([z.enum(["mlp", "cnn"]), z.strictObject({ layers: z.array(z.looseObject({ type: z.enum(LAYER_TYPES) })).min(1) })]).default("cnn"),
  optimizer: z
    .looseObject({ name: z.enum(OPTIMIZER_NAMES as unknown as [string, ...string[]]), lr: z.number().positive().optional() })
    .default({ name: "adam", lr: 1e-3 }),
  schedule: z.looseObject({ type: z.enum(SCHEDULE_TYPES as unknown as [string, ...string[]]) }).nullable().default(null),
  loss: z.union([z.enum(LOSS_NAMES as [LossName, ...LossName[]]), z.looseObject({ type: z.enum(LOSS_NAMES as [LossName, ...LossName[]]) })]).nullable().default(null),
  regularization: z
    .strictObject({
      l1: z.number().nonnegative().default(0),
      l2: z.number().nonnegative().default(0),
      l2Form: z.enum(["plain", "perBatch"]).default("plain"),
    })
    .default({ l1: 0, l2: 0, l2Form: "plain" }),
  augmentation: z.array(z.looseObject({ type: z.string() })).default([]),
  epochs: positiveInt.default(12),
  batchSize: positiveInt.default(64),
  seed: z.number().int().default(1),
  dtype: z.enum(["float32", "float64"]).default("float32"),
  earlyStopping: z
    .union([
      z.literal(false),
      z.strictObject({
        monitor: z.enum(["devLoss", "devAccuracy", "trainLoss", "trainAccuracy"]).default("devLoss"),
        patience: z.number().int().nonnegative().default(3),
        minDelta: z.number().nonnegative().default(0),
        restoreBest: z.boolean().default(true),
      }),
    ])
    .default({ monitor: "devLoss", patience: 3, minDelta: 0, restoreBest: true }),
  checkpoint: z
    .strictObject({ everyEpochs: positiveInt.default(1), everySteps: positiveInt.nullable().default(null), keepLast: positiveInt.default(3) })
    .default({ everyEpochs: 1, everySteps: null, keepLast: 3 }),
  clipGradNorm: z.number().positive().nullable().default(null),
});

export type ExperimentConfigInput = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

/** A config with every default filled and every nested spec validated. */
export interface ExperimentConfig extends Omit<Parsed, "model" | "schedule" | "augmentation" | "optimizer" | "loss"> {
  /** the training loss (null: cross-entropy for class labels, mean squared error for numbers) */
  loss: LossSpec | null;
  model: "mlp" | "cnn" | { layers: LayerSpec[] };
  optimizer: { name: (typeof OPTIMIZER_NAMES)[number]; lr: number; [option: string]: unknown };
  schedule: ScheduleSpec | null;
  augmentation: AugmentSpec[];
}

/**
 * What `descent train` runs without a config: the W2 CNN on the bundled digits, trained with a
 * recipe that reaches 97%+ test accuracy in a few minutes on 2 cores: Adam 1e-3 in batches of 32,
 * random crops with 2 pixels of padding (small shifts, which keep a digit a digit), a cosine
 * learning-rate decay over the run (its tMax left out, so it follows the epochs, also when a
 * resumed run is given more), and early stopping on the dev loss.
 */
export function defaultExperiment(epochs = 15): ExperimentConfigInput {
  return {
    model: "cnn",
    batchSize: 32,
    epochs,
    augmentation: [{ type: "randomCrop", padding: 2 }],
    schedule: { type: "cosine" },
    earlyStopping: { monitor: "devLoss", patience: 4 },
  };
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("") || "(top level)";
}

type Issue = z.core.$ZodIssue;

/** The value at `path` inside `input` (undefined where the path leads nowhere). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

const article = (type: string) => (type === "int" ? "an integer" : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const oneOf = (values: readonly unknown[]) => values.map(String).join(", ");

/**
 * A validation issue as a newcomer reads it: the field, what was given and what is allowed
 * (`epochs: expected a number, got "ten"`, `optimizer.name: "adamx" is not one of sgd, ...`).
 */
export function describeIssue(issue: Issue, input: unknown, base: readonly PropertyKey[] = []): { path: PropertyKey[]; detail: string } {
  const path = [...base, ...issue.path];
  const given = valueAt(input, path);
  switch (issue.code) {
    case "unrecognized_keys":
      return { path, detail: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}` };
    case "invalid_type":
      if (given === undefined) return { path, detail: `missing (expected ${article(issue.expected)})` };
      return { path, detail: `expected ${article(issue.expected)}, got ${preview(given)}` };
    case "invalid_value":
      if (given === undefined) return { path, detail: `missing (expected ${issue.values.length > 1 ? `one of ${oneOf(issue.values)}` : preview(issue.values[0])})` };
      if (issue.values.length > 1) return { path, detail: `${preview(given)} is not one of ${oneOf(issue.values)}` };
      return { path, detail: `expected ${preview(issue.values[0])}, got ${preview(given)}` };
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      if ("discriminator" in issue && Array.isArray(options)) {
        if (given === undefined) return { path, detail: `missing (expected one of ${oneOf(options)})` };
        return { path, detail: `${preview(given)} is not one of ${oneOf(options)}` };
      }
      // an alternative that rejects the kind of value given (a string where an object is expected)
      // only adds "or ..."; the one that takes this kind of value says what is wrong with it
      const rejectsKind = (errs: readonly Issue[]) => {
        const e = errs[0];
        if (errs.length !== 1 || !e || e.path.length !== 0) return undefined;
        if (e.code === "invalid_type") return article(e.expected);
        if (e.code === "invalid_value" && (e.values.length === 1 || !e.values.some((v) => typeof v === typeof given))) {
          return e.values.length > 1 ? `one of ${oneOf(e.values)}` : preview(e.values[0]);
        }
        return undefined;
      };
      const branches = issue.errors.filter((errs) => rejectsKind(errs) === undefined);
      const others = issue.errors.map(rejectsKind).filter((t): t is string => t !== undefined);
      if (branches.length === 1 && branches[0]!.length > 0) {
        const inner = describeIssue(branches[0]![0]!, input, path);
        const alt = others.length > 0 ? ` (or ${others.join(" or ")})` : "";
        return { path: inner.path, detail: `${inner.detail}${inner.path.length === path.length ? alt : ""}` };
      }
      if (branches.length === 0 && others.length > 0) return { path, detail: `expected ${others.join(" or ")}, got ${preview(given)}` };
      break;
    }
    case "too_small":
    case "too_big":
      if (issue.origin === "number" && typeof given === "number") {
        const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
        const op = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
        return { path, detail: `expected a number ${op} ${String(bound)}, got ${preview(given)}` };
      }
      break;
    default:
      break;
  }
  return { path, detail: issue.message };
}

/** Validates a config object; `where` names its source in messages (a file name). */
export function resolveConfig(input: unknown, where = "config"): ExperimentConfig {
  // zod, the nested validators and the messages all recurse into the value: bound it first
  if (!withinDepth(input, MAX_JSON_DEPTH)) throw new ConfigError(`${where}: nested deeper than ${MAX_JSON_DEPTH} levels (or cyclic)`);
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const { path, detail } = describeIssue(parsed.error.issues[0]!, input ?? {});
    throw new ConfigError(`${where}: ${issuePath(path)}: ${detail}`);
  }
  const c = parsed.data;
  const nested = <T>(field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DescentError) throw new ConfigError(`${where}: ${e.message.startsWith(`${field}`) ? "" : `${field}: `}${e.message}`);
      throw e;
    }
  };
  const model = typeof c.model === "string" ? c.model : { layers: nested("model.layers", () => validateLayerSpecs(c.model === "mlp" || c.model === "cnn" ? [] : c.model.layers, "model.layers")) };
  const augmentation = nested("augmentation", () => parseAugmentSpecs(c.augmentation, "augmentation"));
  const optimizer = { ...c.optimizer, lr: c.optimizer.lr ?? OPTIMIZERS[c.optimizer.name as OptimizerName].lr } as ExperimentConfig["optimizer"];
  // the optimizer's own options (betas, momentum, unknown names) are checked now too, on a stand-in parameter
  nested("optimizer", () => {
    const { name, ...options } = optimizer;
    createOptimizer(name as OptimizerName, { probe: new Parameter(zeros([1])) }, options as never);
  });
  // checks its options now, not after loading the data (a length it leaves out follows the epochs)
  if (c.loss !== null) nested("loss", () => checkLossSpec(c.loss as LossSpec));
  if (c.schedule) {
    // one source for the learning rate: the schedule starts from optimizer.lr, it does not restate it
    for (let s: Record<string, unknown> | undefined = c.schedule, at = "schedule"; s; s = s.then as Record<string, unknown> | undefined, at += ".then") {
      if (s.lr0 !== undefined) throw new ConfigError(`${where}: ${at}.lr0: give the learning rate once, as optimizer.lr (the schedule starts from it)`);
    }
    nested("schedule", () => createSchedule(withRunLength(c.schedule as ScheduleSpec, { epochs: c.epochs, stepsPerEpoch: 1 }), optimizer.lr));
  }
  return { ...c, model, augmentation, optimizer, schedule: c.schedule as ScheduleSpec | null, loss: c.loss as LossSpec | null };
}

/** Reads and validates a JSON config file. */
export function loadConfigFile(path: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" ? "permission denied" : (code ?? (e as Error).message);
    throw new ConfigError(`config ${path}: cannot read the file (${why})`);
  }
  const json = parseJson(text, { source: `config ${path}` });
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError(`config ${path}: expected a JSON object like { "model": "mlp", "epochs": 5 }, got ${preview(json)}`);
  }
  return resolveDataPaths(resolveConfig(json, `config ${path}`), dirname(resolve(path)));
}

/**
 * The config with its data files' relative paths made absolute against `dir` (the folder of the
 * config file that names them), so a run's config.json names the same files from any folder:
 * `data`, and `devData` and `testData` when given.
 */
export function resolveDataPaths(config: ExperimentConfig, dir: string): ExperimentConfig {
  const out: ExperimentConfig = { ...config, data: dataPathsIn(config.data, dir) };
  if (config.devData) out.devData = dataPathsIn(config.devData, dir);
  if (config.testData) out.testData = dataPathsIn(config.testData, dir);
  return out;
}

function dataPathsIn(d: ExperimentConfig["data"], dir: string): ExperimentConfig["data"] {
  switch (d.source) {
    case "mnist":
      return d;
    case "idx":
      return { ...d, images: resolve(dir, d.images), labels: resolve(dir, d.labels) };
    case "csv":
      return { ...d, path: resolve(dir, d.path) };
    default:
      return d satisfies never;
  }
}
