/**
 * Comparisons: one model and one seed, trained several times with one thing varied (the optimizer,
 * the learning-rate schedule, the weight initializer, the batch size or the loss), each run in its own
 * folder, and one report overlaying their curves. Same seed means the same split, the same batch
 * order and, unless the initializer is what varies, the same initial weights.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../errors/errors.js";
import type { LayerSpec } from "../nn/specs.js";
import type { InitSpec } from "../init/index.js";
import { writeCompareReport } from "../report/index.js";
import type { ScheduleSpec } from "../schedules/create.js";
import { resolveConfig, type ExperimentConfig } from "./config.js";
import { modelSpecs, runExperiment, type RunResult } from "./experiment.js";

export type Varied = "optimizers" | "schedules" | "inits" | "batchSizes" | "losses";

/** Named schedules for comparisons, each a reasonable spec over a run of `epochs`. */
export function namedSchedule(name: string, epochs: number): ScheduleSpec | null {
  switch (name) {
    case "constant": return null;
    case "exponential": return { type: "exponential", gamma: 0.95 };
    case "inverseTime": return { type: "inverseTime", decayRate: 1 };
    case "step": return { type: "step", stepSize: Math.max(1, Math.floor(epochs / 3)), gamma: 0.5 };
    case "cosine": return { type: "cosine" };
    case "warmupCosine": return { type: "warmupCosine", warmupEpochs: Math.max(1, Math.floor(epochs / 5)) };
    default:
      throw new ConfigError(`Unknown schedule "${name}" (expected constant, exponential, inverseTime, step, cosine or warmupCosine)`);
  }
}

/** The base config with one setting changed to `value`. */
export function variant(base: ExperimentConfig, varied: Varied, value: string): ExperimentConfig {
  switch (varied) {
    case "optimizers":
      // the optimizer's own default learning rate (OPTIMIZERS), as train gives it
      return resolveConfig({ ...base, optimizer: { name: value } }, `--optimizers ${value}`);
    case "schedules":
      try {
        return { ...base, schedule: namedSchedule(value, base.epochs) };
      } catch (e) {
        throw e instanceof ConfigError ? new ConfigError(`--schedules: ${e.message}`) : e;
      }
    case "losses":
      return resolveConfig({ ...base, loss: value }, `--losses ${value}`);
    case "batchSizes": {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--batch-sizes: "${value}" is not a positive integer`);
      return { ...base, batchSize: n };
    }
    case "inits": {
      const init = value as InitSpec;
      const layers = modelSpecs(base, 10).map((l): LayerSpec => (l.type === "linear" || l.type === "conv2d" ? { ...l, weightInit: init } : l));
      return resolveConfig({ ...base, model: { layers } }, `--inits ${value}`);
    }
    default:
      return varied satisfies never;
  }
}

export interface CompareOptions {
  /** the folder holding one run folder per variant and compare.html */
  outDir: string;
  log?: (line: string) => void;
  progress?: boolean;
}

export interface ComparisonResult {
  dir: string;
  reportPath: string;
  runs: { label: string; result: RunResult }[];
}

export async function runComparison(base: ExperimentConfig, varied: Varied, values: readonly string[], options: CompareOptions): Promise<ComparisonResult> {
  if (values.length === 0) throw new ConfigError(`compare: give at least one value to compare`);
  if (new Set(values).size !== values.length) throw new ConfigError(`compare: ${values.join(",")} repeats a value`);
  const say = options.log ?? ((line: string) => console.log(line));
  const dir = resolve(options.outDir);
  const configs = values.map((v) => variant(base, varied, v)); // validate every variant before training any
  for (const value of values) {
    if (existsSync(join(dir, value, "config.json"))) {
      throw new ConfigError(`${dir} already holds a comparison run ${value}: choose another --out (runs are never overwritten)`);
    }
  }
  const runs: { label: string; result: RunResult }[] = [];
  for (const [i, value] of values.entries()) {
    say(`\n== ${varied.replace(/s$/, "")} ${value} (${i + 1}/${values.length}) ==`);
    const result = await runExperiment(configs[i]!, { outDir: join(dir, value), log: say, ...(options.progress !== undefined ? { progress: options.progress } : {}) });
    runs.push({ label: value, result });
    if (result.test.accuracy !== undefined) say(`${value}: test accuracy ${(100 * result.test.accuracy).toFixed(1)}%`);
  }
  const reportPath = writeCompareReport(join(dir, "compare.html"), runs.map((r) => ({ label: r.label, dir: r.result.dir })), `Comparing ${varied}`);
  return { dir, reportPath, runs };
}
