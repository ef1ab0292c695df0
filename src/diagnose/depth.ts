/**
 * Optimization problem or too small a model (the study notes' shallow-versus-deep test): train a
 * shallower twin of a run's model (half of its hidden blocks removed, at least one, the last ones
 * before the output layer; a block is a weight layer and the activation, normalization and dropout
 * layers after it) with the same data,
 * optimizer, schedule, seed and number of epochs, without early stopping, and compare the final
 * training losses. A deeper network can represent everything the shallower one can, so when it
 * trains to a higher loss on the same budget, the optimization is what fails, not the model's size.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import type { LayerSpec } from "../nn/specs.js";
import { loadConfigFile } from "../train/config.js";
import { loadData, modelSpecs, runExperiment } from "../train/experiment.js";
import { isClassification } from "../train/fit.js";
import { readMetrics } from "./run.js";
import { finding, type Finding } from "./codes.js";

const WEIGHT_LAYERS = new Set(["linear", "conv2d"]);
const BLOCK_FOLLOWERS = new Set(["relu", "leakyRelu", "prelu", "elu", "sigmoid", "tanh", "batchNorm1d", "batchNorm2d", "layerNorm", "instanceNorm2d", "groupNorm", "dropout"]);

/** The weight layer at `start` and the activation/normalization/dropout layers after it. */
function blockEnd(specs: readonly LayerSpec[], start: number): number {
  let end = start + 1;
  while (end < specs.length && BLOCK_FOLLOWERS.has(specs[end]!.type)) end++;
  return end;
}

/**
 * The specs with half of their hidden blocks (at least one) removed, the last ones before the
 * output layer; null when the model has no hidden weight layer.
 */
export function shallowerTwin(specs: readonly LayerSpec[]): LayerSpec[] | null {
  const weights = specs.map((s, i) => (WEIGHT_LAYERS.has(s.type) ? i : -1)).filter((i) => i >= 0);
  const hidden = weights.slice(0, -1);
  if (hidden.length === 0) return null;
  const removed = new Set<number>();
  for (const start of hidden.slice(hidden.length - Math.max(1, Math.floor(hidden.length / 2)))) {
    for (let i = start; i < blockEnd(specs, start); i++) removed.add(i);
  }
  // input sizes are inferred again: a size written for a removed block's output no longer holds
  return specs.filter((_, i) => !removed.has(i)).map((s) => {
    const { inFeatures: _f, inChannels: _c, numFeatures: _n, ...rest } = s as LayerSpec & { inFeatures?: number; inChannels?: number; numFeatures?: number };
    return rest as LayerSpec;
  });
}

export interface DepthCheck {
  deepLoss: number;
  shallowLoss: number;
  epochs: number;
  removedLayers: number;
  finding: Finding | null;
}

/** Trains the shallower twin of the run in `dir` for the epochs the run trained and compares. */
export async function depthCheck(dir: string): Promise<DepthCheck> {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) throw new ConfigError(`${dir} is not a run folder (no config.json)`);
  const config = loadConfigFile(configPath);
  const all = loadData(config);
  const numOutputs = isClassification(all) ? all.numClasses! : (all.labels.shape[1] ?? 1);
  const specs = modelSpecs(config, numOutputs);
  const twin = shallowerTwin(specs);
  if (!twin) throw new ConfigError(`--depth-check: the model of ${dir} has no hidden layer to remove`);
  const epochLosses = readMetrics(join(dir, "metrics.jsonl")).epochs.map((e) => e.trainLoss);
  if (epochLosses.length === 0) throw new ConfigError(`--depth-check: ${dir} has no finished epoch to compare with`);
  const epochs = epochLosses.length;
  const out = mkdtempSync(join(tmpdir(), "descent-depth-check-"));
  try {
    const { name: _name, ...rest } = config;
    const result = await runExperiment(
      { ...rest, model: { layers: twin }, epochs, earlyStopping: false },
      { outDir: join(out, "twin"), log: () => {}, progress: false, report: false },
    );
    const shallowLoss = result.history.epochs.at(-1)!.trainLoss;
    const deepLoss = epochLosses[epochs - 1]!;
    const evidence = { deepTrainLoss: deepLoss, shallowTrainLoss: shallowLoss, epochs, removedLayers: specs.length - twin.length };
    return {
      deepLoss, shallowLoss, epochs, removedLayers: specs.length - twin.length,
      finding: deepLoss > shallowLoss ? finding("optimization-problem", "problem", evidence) : null,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
