/**
 * The search spec: a base train config, a space of paths into it with a distribution each, a
 * strategy, a budget, the metric to optimize and its direction, a seed, and an optional pruner.
 * It is validated with zod, and an error is one line naming the field, as for the train config:
 * `search spec: space["optimizer.lr"].low: expected a number > 0, got 0`.
 *
 * Beyond the schema, each path must lead somewhere in the resolved base config, and the base with
 * each parameter at its extremes (every choice) must still be a valid train config, so a typo
 * (`optimizer.betaX`, `regularization.l3`) is caught here and not in the middle of the study.
 * `resolveSearchSpec` fills every default; the result is what study.json holds.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import { ConfigError } from "../errors/errors.js";
import { describeIssue, resolveConfig, resolveDataPaths, type ExperimentConfig } from "../train/config.js";
import { parseJson } from "../io/json.js";
import { ADAM_BETAS } from "../optim/alias.js";
import { MONITORS, type Monitor } from "../train/callback.js";
import { parsePath, pathHasContainer, withValueAtPath } from "./paths.js";
import { gridValues, type Distribution, type Params, type Space } from "./space.js";

export const STRATEGIES = ["grid", "random", "coarseToFine", "tpe"] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The epoch metrics a trial of a train config can be judged by: those a callback can monitor. */
export const TRIAL_METRICS = MONITORS;
export type TrialMetric = Monitor;

const positiveInt = z.number().int().positive();
const finite = z.number().finite();
const points = positiveInt.optional();

const distributionSchema = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("uniform"), low: finite, high: finite, points }),
    z.strictObject({ type: z.literal("log"), low: finite.positive(), high: finite.positive(), points }),
    z.strictObject({ type: z.literal("oneMinusLog"), low: finite.nonnegative().lt(1), high: finite.nonnegative().lt(1), points }),
    z.strictObject({ type: z.literal("int"), low: z.number().int(), high: z.number().int(), points }),
    z.strictObject({
      type: z.literal("choice"),
      values: z.array(z.union([finite, z.string(), z.boolean()])).min(1, "an empty choice: give at least one value"),
    }),
  ])
  .superRefine((d, ctx) => {
    if ("low" in d && d.low > d.high) ctx.addIssue({ code: "custom", path: ["low"], message: `low ${d.low} is above high ${d.high}` });
  });

const prunerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({
    type: z.literal("asha"),
    /** the first rung, in epochs */
    minEpochs: positiveInt.default(1),
    /** eta: a third (eta = 3) of the trials at a rung go on to the next, eta times as many epochs in */
    reductionFactor: z.number().int().min(2).default(3),
  }),
  z.strictObject({
    type: z.literal("median"),
    /** epochs before the rule applies */
    warmupEpochs: z.number().int().nonnegative().default(1),
    /** other trials that must have reported at an epoch before a trial is judged there */
    minTrials: positiveInt.default(3),
  }),
]);

const schema = z.strictObject({
  base: z.record(z.string(), z.unknown()).optional(),
  space: z.record(z.string(), distributionSchema),
  strategy: z.enum(STRATEGIES).default("random"),
  trials: positiveInt.optional(),
  epochs: positiveInt.optional(),
  metric: z.string().min(1).default("devAccuracy"),
  direction: z.enum(["minimize", "maximize"]).optional(),
  seed: z.number().int().default(1),
  pruner: prunerSchema.default({ type: "none" }),
  gridPoints: z.number().int().min(1).default(3),
  coarseToFine: z
    .strictObject({
      rounds: z.number().int().min(2).default(3),
      /** the fraction of the trials so far whose box the next round samples */
      keep: z.number().gt(0).lte(1).default(0.25),
      /** the box grows by this fraction of the previous box's width on each side */
      margin: z.number().nonnegative().default(0.1),
    })
    .default({ rounds: 3, keep: 0.25, margin: 0.1 }),
  tpe: z
    .strictObject({
      /** random trials before the densities are used */
      startupTrials: positiveInt.default(6),
      /** the fraction of trials in the "good" group */
      gamma: z.number().gt(0).lt(1).default(0.25),
      /** draws from the good density scored per trial */
      candidates: positiveInt.default(24),
    })
    .default({ startupTrials: 6, gamma: 0.25, candidates: 24 }),
});

export type SearchSpecInput = z.input<typeof schema>;
export type PrunerSpec = z.output<typeof prunerSchema>;
export type Direction = "minimize" | "maximize";

/** A spec with every default filled; `base` resolved (null when trials call an objective function). */
export interface SearchSpec extends Omit<z.output<typeof schema>, "base" | "space" | "direction" | "trials"> {
  base: ExperimentConfig | null;
  space: Space;
  direction: Direction;
  /** the number of trials (for grid: the number of grid points) */
  trials: number;
}

/** A field path as the user wrote it: space keys in quotes, because they contain dots. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  path.forEach((p, i) => {
    if (typeof p === "number") out += `[${p}]`;
    else if (i > 0 && path[i - 1] === "space") out += `[${JSON.stringify(p)}]`;
    else out += `${i ? "." : ""}${String(p)}`;
  });
  return out || "(top level)";
}

/** The number of points of a grid over the space. */
export function gridSize(space: Space, defaultPoints: number): number {
  return Object.values(space).reduce((n, d) => n * gridValues(d, defaultPoints).length, 1);
}

/** The notes' names `optimizer.beta1` / `optimizer.beta2` are `optimizer.betas[0]` / `[1]` of Adam and AdamW. */
const BETA_ALIAS = /^optimizer\.beta([12])$/;

/** The config with one parameter's value at its path. */
function applyParam(config: ExperimentConfig, path: string, value: unknown): ExperimentConfig {
  const alias = BETA_ALIAS.exec(path);
  if (alias && (config.optimizer.name === "adam" || config.optimizer.name === "adamw")) {
    const betas = [...((config.optimizer.betas as [number, number] | undefined) ?? ADAM_BETAS)];
    betas[Number(alias[1]) - 1] = value as number;
    return withValueAtPath(config, ["optimizer", "betas"], betas);
  }
  return withValueAtPath(config, parsePath(path)!, value);
}

/** Applies a trial's values onto the base config (values at paths), with the spec's epochs. */
export function trialConfig(spec: SearchSpec, params: Params, where = "trial"): ExperimentConfig {
  if (!spec.base) throw new ConfigError(`${where}: the spec has no base train config`);
  let config = spec.base;
  for (const [path, value] of Object.entries(params)) config = applyParam(config, path, value);
  return resolveConfig(config, where);
}

/** Validates a search spec; `where` names its source in messages (a file name). */
export function resolveSearchSpec(input: unknown, where = "search spec", options: { objective?: boolean } = {}): SearchSpec {
  // a resolved spec (base null: an objective's) reads back as itself
  const given = input !== null && typeof input === "object" && (input as { base?: unknown }).base === null ? { ...input, base: undefined } : input;
  const parsed = schema.safeParse(given ?? {});
  const fail = (path: readonly PropertyKey[], detail: string): never => {
    throw new ConfigError(`${where}: ${fieldPath(path)}: ${detail}`);
  };
  if (!parsed.success) {
    const { path, detail } = describeIssue(parsed.error.issues[0]!, given ?? {});
    return fail(path, detail);
  }
  const s = parsed.data;
  const names = Object.keys(s.space);
  if (names.length === 0) fail(["space"], "empty (name at least one parameter, e.g. \"optimizer.lr\")");
  for (const name of names) if (parsePath(name) === null) fail(["space", name], "not a path into the config (like optimizer.lr or model.layers[1].outFeatures)");

  let base: ExperimentConfig | null = null;
  if (s.base === undefined) {
    if (!options.objective) fail(["base"], "missing (a train config to search around; only a search over an objective function goes without)");
    if (s.pruner.type !== "none" && s.epochs === undefined) fail(["epochs"], "missing (a pruner needs the number of epochs an objective reports)");
  } else {
    const baseInput = s.epochs !== undefined ? { ...s.base, epochs: s.epochs } : s.base;
    try {
      base = resolveConfig(baseInput, `${where}: base`);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(e.message);
      throw e;
    }
    if (!(TRIAL_METRICS as readonly string[]).includes(s.metric)) fail(["metric"], `${JSON.stringify(s.metric)} is not one of ${TRIAL_METRICS.join(", ")}`);
    if (s.metric.startsWith("dev") && base.split?.dev === 0) fail(["metric"], `${s.metric} needs a dev set, and base.split.dev is 0`);
    for (const name of names) checkPath(base, name, s.space[name] as Distribution, (detail) => fail(["space", name], detail));
  }

  const space = s.space as Space;
  let trials: number;
  if (s.strategy === "grid") {
    const size = gridSize(space, s.gridPoints);
    if (s.trials !== undefined && s.trials < size) fail(["trials"], `${s.trials} is fewer than the grid's ${size} points (leave trials out, or lower gridPoints)`);
    trials = size;
  } else {
    if (s.trials === undefined) fail(["trials"], "missing (expected a positive integer: the number of trials)");
    trials = s.trials!;
    if (s.strategy === "coarseToFine" && trials < 2 * s.coarseToFine.rounds) {
      fail(["trials"], `${trials} trials cannot fill ${s.coarseToFine.rounds} coarse-to-fine rounds (at least 2 each: give ${2 * s.coarseToFine.rounds} or more)`);
    }
  }
  const direction: Direction = s.direction ?? (/accuracy/i.test(s.metric) ? "maximize" : "minimize");
  return { ...s, base, space, direction, trials };
}

/** A path must lead into the base config, and the base must stay valid at the path's extremes. */
function checkPath(base: ExperimentConfig, name: string, d: Distribution, fail: (detail: string) => never): void {
  const parts = parsePath(name)!;
  if (!pathHasContainer(base, parts)) {
    const parent = name.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    fail(parent === name ? "unknown path" : `unknown path: the base config has no ${parent}${typeof base.model === "string" && name.startsWith("model.") ? ` (the model is the preset "${base.model}"; give model.layers to search inside it)` : ""}`);
  }
  for (const value of gridValues(d, 2)) {
    try {
      resolveConfig(applyParam(base, name, value), "base");
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      fail(`with ${name} = ${JSON.stringify(value)} the base config is invalid (${e.message.replace(/^base: /, "")})`);
    }
  }
}

/**
 * Reads and validates a search spec file. Data paths in its base config are relative to the spec
 * file's folder (as a train config's are to its own) and are stored absolute in the study.
 */
export function loadSearchSpec(path: string, options: { objective?: boolean } = {}): SearchSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`search spec ${path}: cannot read the file (${code === "ENOENT" ? "no such file" : (code ?? (e as Error).message)})`);
  }
  const json = parseJson(text, { source: `search spec ${path}` });
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ConfigError(`search spec ${path}: expected a JSON object with "base" and "space"`);
  const spec = resolveSearchSpec(json, `search spec ${path}`, options);
  return spec.base ? { ...spec, base: resolveDataPaths(spec.base, dirname(resolve(path))) } : spec;
}
