/**
 * `descent evaluate RUN`, `descent predict RUN FILE` and `descent report RUN`: use a finished
 * run folder. evaluate re-creates the run's split (same data, same seed) and measures the saved
 * model on one part; predict classifies new samples; report regenerates report.html.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { writeRunReport } from "../report/index.js";
import { writeStudyReport } from "../report/study.js";
import { loadConfigFile } from "../train/config.js";
import { configLoss, loadData, splitData } from "../train/experiment.js";
import { loadSavedModel } from "../train/saved-model.js";
import { predictSamples, readSamples } from "../train/predict.js";
import { evaluate } from "../train/fit.js";
import { choiceFlag, numberFlag, runAction } from "./errors.js";

function runConfig(run: string) {
  const path = join(run, "config.json");
  if (!existsSync(path)) throw new ConfigError(`${run} is not a run folder (no config.json)`);
  return loadConfigFile(path);
}

/** A run that has no model files yet (still training, interrupted or failed) cannot be used. */
function requireModel(run: string): void {
  if (!existsSync(run)) throw new ConfigError(`${run}: no such run folder`);
  if (!existsSync(join(run, "model.json"))) {
    throw new ConfigError(`${run} has no trained model (no model.json): the run did not finish; continue it with descent train --resume ${run}`);
  }
}

export function registerInspect(program: Command): void {
  program
    .command("evaluate")
    .description("measure a trained run's model on its train, dev or test split")
    .argument("<run>", "a run folder")
    .option("--split <part>", "train, dev or test", "test")
    .addHelpText("after", "\nExamples:\n  $ npx descent evaluate runs/cnn-adam-2026-11-23T07-00-00\n  $ npx descent evaluate runs/exp1 --split dev")
    .action((run: string, flags: { split: string }) =>
      runAction(async () => {
        choiceFlag("--split", flags.split, ["train", "dev", "test"]);
        const config = runConfig(run);
        requireModel(run);
        const saved = loadSavedModel(run);
        const all = loadData(config);
        const parts = splitData(config, all);
        let ds = parts[flags.split as "train" | "dev" | "test"];
        if (saved.standardizer) ds = saved.standardizer.transform(ds);
        const ev = await evaluate(saved.model, ds, { confusion: true, loss: configLoss(config, all) });
        console.log(`${flags.split}: ${ds.length} samples`);
        if (ev.loss !== undefined) console.log(`loss: ${ev.loss.toFixed(4)}`);
        if (ev.confusion) {
          console.log("confusion matrix (rows: true class, columns: predicted):");
          for (const line of ev.confusion.toText(saved.classes ?? all.classNames)) console.log(line);
        }
        if (ev.accuracy !== undefined) console.log(`${flags.split} accuracy: ${(100 * ev.accuracy).toFixed(1)}%`);
      }),
    );

  program
    .command("predict")
    .description("classify samples from a file with a trained run's model (or print a regression model's outputs)")
    .argument("<run>", "a run folder")
    .argument("<file>", "samples: a JSON array of samples of the model's input shape, CSV feature rows (with a header, the model's feature columns are picked by name), or an IDX images file (.gz too)")
    .option("--top <k>", "show the k most likely classes", "1")
    .addHelpText("after", "\nExamples:\n  $ npx descent predict runs/exp1 t10k-images-idx3-ubyte.gz\n  $ npx descent predict runs/exp1 samples.json\n  $ npx descent predict runs/iris new-flowers.csv --top 2")
    .action((run: string, file: string, flags: { top: string }) =>
      runAction(async () => {
        const top = numberFlag("--top", flags.top, { integer: true, positive: true })!;
        requireModel(run);
        if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
        const saved = loadSavedModel(run);
        const predictions = await predictSamples(saved, readSamples(file, saved), top);
        predictions.forEach((p, i) => {
          const shown = p.classes ? p.classes.map((c) => `${c.name} (${(100 * c.probability).toFixed(1)}%)`) : p.outputs!.map((v) => v.toPrecision(6));
          console.log(`${i}: ${shown.join(", ")}`);
        });
      }),
    );

  program
    .command("report")
    .description("regenerate a run's self-contained HTML report (report.html)")
    .argument("<run>", "a run folder")
    .addHelpText("after", "\nExample:\n  $ npx descent report runs/exp1")
    .action((run: string) =>
      runAction(() => {
        if (!existsSync(run)) throw new ConfigError(`${run}: no such run folder`);
        if (existsSync(join(run, "study.json"))) {
          console.log(`wrote ${writeStudyReport(run)}`);
          return;
        }
        runConfig(run);
        console.log(`wrote ${writeRunReport(run)}`);
      }),
    );
}
