/**
 * The experiment config: one JSON file describes a run (data, split, model, optimizer, schedule,
 * regularization, augmentation, epochs, batch size, seed, early stopping, checkpoints). It is
 * validated with a zod schema; an error names the field (`optimizer.lr`) and what is allowed.
 * Nested specs (layers, schedules, augmentations, optimizer options) are checked by the library's
 * own validators, whose messages are prefixed with the field they came from.
 * `resolveConfig` fills every default, so the config.json written to a run is complete.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError, DescentError } from "../errors/errors.js";
import { LAYER_TYPES, validateLayerSpecs, type LayerSpec } from "../nn/specs.js";
import { OPTIMIZER_NAMES } from "../optim/optimizer.js";
import { SCHEDULE_TYPES, type ScheduleSpec } from "../schedules/create.js";
import { parseAugmentSpecs, type AugmentSpec } from "../data/augment.js";

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
  split: z
    .strictObject({ train: part.optional(), dev: part.optional(), test: part.optional(), stratify: z.boolean().default(true) })
    .optional(),
  standardize: z.boolean().default(false),
  model: z.union([z.enum(["mlp", "cnn"]), z.strictObject({ layers: z.array(z.looseObject({ type: z.enum(LAYER_TYPES) })).min(1) })]).default("cnn"),
  optimizer: z
    .looseObject({ name: z.enum(OPTIMIZER_NAMES as unknown as [string, ...string[]]), lr: z.number().positive().optional() })
    .default({ name: "adam", lr: 1e-3 }),
  schedule: z.looseObject({ type: z.enum(SCHEDULE_TYPES as unknown as [string, ...string[]]) }).nullable().default(null),
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
    .strictObject({ everyEpochs: positiveInt.default(1), keepLast: positiveInt.default(3) })
    .default({ everyEpochs: 1, keepLast: 3 }),
  clipGradNorm: z.number().positive().nullable().default(null),
});

export type ExperimentConfigInput = z.input<typeof schema>;
type Parsed = z.output<typeof schema>;

/** A config with every default filled and every nested spec validated. */
export interface ExperimentConfig extends Omit<Parsed, "model" | "schedule" | "augmentation" | "optimizer"> {
  model: "mlp" | "cnn" | { layers: LayerSpec[] };
  optimizer: { name: (typeof OPTIMIZER_NAMES)[number]; lr: number; [option: string]: unknown };
  schedule: ScheduleSpec | null;
  augmentation: AugmentSpec[];
}

/** A learning rate that trains the presets well, per optimizer, when the config gives none. */
export const DEFAULT_LR: Readonly<Record<string, number>> = {
  sgd: 0.05, momentum: 0.01, nesterov: 0.01, momentumEma: 0.05, adagrad: 0.01, rmsprop: 1e-3, adam: 1e-3, adamw: 1e-3,
};

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("") || "(top level)";
}

/** Validates a config object; `where` names its source in messages (a file name). */
export function resolveConfig(input: unknown, where = "config"): ExperimentConfig {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let detail = issue.message;
    if (issue.code === "unrecognized_keys") detail = `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    throw new ConfigError(`${where}: ${issuePath(issue.path)}: ${detail}`);
  }
  const c = parsed.data;
  const nested = <T>(field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DescentError) throw new ConfigError(`${where}: ${field}: ${e.message}`);
      throw e;
    }
  };
  const model = typeof c.model === "string" ? c.model : { layers: nested("model.layers", () => validateLayerSpecs(c.model === "mlp" || c.model === "cnn" ? [] : c.model.layers, "model.layers")) };
  const augmentation = nested("augmentation", () => parseAugmentSpecs(c.augmentation, "augmentation"));
  const optimizer = { ...c.optimizer, lr: c.optimizer.lr ?? DEFAULT_LR[c.optimizer.name] ?? 1e-3 } as ExperimentConfig["optimizer"];
  return { ...c, model, augmentation, optimizer, schedule: c.schedule as ScheduleSpec | null };
}

/** Reads and validates a JSON config file. */
export function loadConfigFile(path: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`config ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config ${path}: not valid JSON (${(e as Error).message})`);
  }
  return resolveConfig(json, `config ${path}`);
}
