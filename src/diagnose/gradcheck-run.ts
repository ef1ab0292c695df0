/**
 * `descent gradcheck RUN | --config FILE` as a library call: the model of a run (its final model,
 * else its latest checkpoint) or a config's freshly initialized model, checked on a mini-batch of
 * its training data with the run's loss and regularization.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import { takeRows } from "../data/dataset.js";
import { Standardizer } from "../data/standardize.js";
import { buildSequential } from "../nn/sequential.js";
import { loadConfigFile } from "../train/config.js";
import { isClassification } from "../train/fit.js";
import { configLoss, loadData, modelSpecs, penaltyOf, runParts } from "../train/experiment.js";
import { newestCheckpoint } from "../train/run-folder.js";
import { loadSavedModel } from "../train/saved-model.js";
import { readCheckpoint } from "../io/checkpoint-file.js";
import { gradcheckModel, type ModelGradcheck, type ModelGradcheckOptions } from "./gradcheck-model.js";

export type GradcheckSource = { run: string } | { config: string };

export interface RunGradcheck extends ModelGradcheck {
  /** where the model came from */
  model: string;
  batch: number;
}

export async function gradcheckRun(source: GradcheckSource, options: ModelGradcheckOptions & { samples?: number } = {}): Promise<RunGradcheck> {
  const samples = options.samples ?? 8;
  if (!Number.isInteger(samples) || samples < 1) throw new ConfigError(`--samples: ${samples} is not a positive integer`);
  let configPath: string;
  if ("run" in source) {
    if (!existsSync(source.run)) throw new ConfigError(`${source.run}: no such run folder`);
    configPath = join(source.run, "config.json");
    if (!existsSync(configPath)) throw new ConfigError(`${source.run} is not a run folder (no config.json)`);
  } else {
    configPath = source.config;
  }
  const config = loadConfigFile(configPath);
  const all = loadData(config);
  const classification = isClassification(all);
  const { train } = runParts(config, all);
  const numOutputs = classification ? all.numClasses! : (all.labels.shape[1] ?? 1);
  let model, standardizer: Standardizer | null = null, from: string;
  if ("run" in source && existsSync(join(source.run, "model.json"))) {
    const saved = loadSavedModel(source.run);
    ({ model, standardizer } = saved);
    from = join(source.run, "model.safetensors");
  } else {
    model = buildSequential(modelSpecs(config, numOutputs), { inputShape: [...all.featureShape], rng: new Generator(config.seed), dtype: config.dtype });
    from = `${configPath} (initialized with seed ${config.seed})`;
    if ("run" in source) {
      const path = newestCheckpoint(source.run);
      if (path === null) throw new ConfigError(`gradcheck ${source.run}: the run has no model.json and no checkpoint to check`);
      const ckpt = readCheckpoint(path);
      model.loadStateDict(ckpt.tensors.model ?? {});
      if (ckpt.tensors.standardizer) standardizer = Standardizer.fromStateDict(ckpt.tensors.standardizer, all.featureShape);
      from = path;
    } else if (config.standardize) {
      standardizer = Standardizer.fit(train);
    }
  }
  const n = Math.min(samples, train.length);
  if (n === 0) throw new ConfigError(`${configPath}: the training part has no samples`);
  const ds = standardizer ? standardizer.transform(train) : train;
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const check = await gradcheckModel(model, configLoss(config, all), takeRows(ds.inputs, rows), takeRows(ds.labels, rows), penaltyOf(config), options);
  return { ...check, model: from, batch: n };
}
