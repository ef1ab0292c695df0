/**
 * `descent evaluate RUN`, `descent predict RUN FILE` and `descent report RUN`: use a finished
 * run folder. evaluate re-creates the run's split (same data, same seed) and measures the saved
 * model on one part; predict classifies new samples; report regenerates report.html.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { tensor } from "../tensor/creation.js";
import { noGrad } from "../autograd/mode.js";
import { softmax } from "../ops/activations.js";
import { readIdx } from "../data/idx.js";
import { parseCsv } from "../data/csv.js";
import { writeRunReport } from "../report/index.js";
import { loadConfigFile } from "../train/config.js";
import { loadData, splitData } from "../train/experiment.js";
import { loadSavedModel } from "../train/saved-model.js";
import { evaluate, isClassification } from "../train/fit.js";
import { crossEntropy } from "../losses/index.js";
import { choiceFlag, numberFlag, runAction } from "./errors.js";
import { parseJson } from "../io/json.js";

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

/** The numbers of a JSON file of samples: an array, nested to any depth, of numbers only. */
function jsonSamples(file: string): Float32Array {
  // bounded (depth, size) before flat() recurses into it
  const json = parseJson(readFileSync(file, "utf8"), { source: file });
  if (!Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON array of samples, each an array of numbers (nested arrays are fine)`);
  const flat = json.flat(Infinity) as unknown[];
  const bad = flat.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) throw new ConfigError(`${file}: value ${bad} is ${JSON.stringify(flat[bad])}, not a finite number`);
  return Float32Array.from(flat as number[]);
}

export function registerInspect(program: Command): void {
  program
    .command("evaluate")
    .description("measure a trained run's model on its train, dev or test split")
    .argument("<run>", "a run folder")
    .option("--split <part>", "train, dev or test", "test")
    .addHelpText("after", "\nExamples:\n  $ npx descent evaluate runs/cnn-adam-2026-11-23T07-00-00\n  $ npx descent evaluate runs/exp1 --split dev")
    .action((run: string, flags: { split: string }) =>
      runAction(() => {
        choiceFlag("--split", flags.split, ["train", "dev", "test"]);
        const config = runConfig(run);
        requireModel(run);
        const saved = loadSavedModel(run);
        const all = loadData(config);
        const classification = isClassification(all);
        const parts = splitData(config, all);
        let ds = parts[flags.split as "train" | "dev" | "test"];
        if (saved.standardizer) ds = saved.standardizer.transform(ds);
        const ev = evaluate(saved.model, ds, { confusion: true, ...(classification ? { loss: (o, y) => crossEntropy(o, y) } : {}) });
        console.log(`${flags.split}: ${ds.length} samples`);
        if (ev.loss !== undefined) console.log(`loss: ${ev.loss.toFixed(4)}`);
        if (ev.confusion) {
          console.log("confusion matrix (rows: true class, columns: predicted):");
          for (const row of ev.confusion.counts) console.log(row.map((v) => String(v).padStart(5)).join(""));
        }
        if (ev.accuracy !== undefined) console.log(`${flags.split} accuracy: ${(100 * ev.accuracy).toFixed(1)}%`);
      }),
    );

  program
    .command("predict")
    .description("classify samples from a file with a trained run's model")
    .argument("<run>", "a run folder")
    .argument("<file>", "samples: an IDX images file (.gz too), a CSV of feature rows (no label column), or a JSON array")
    .option("--top <k>", "show the k most likely classes", "1")
    .addHelpText("after", "\nExamples:\n  $ npx descent predict runs/exp1 t10k-images-idx3-ubyte.gz\n  $ npx descent predict runs/exp1 samples.json")
    .action((run: string, file: string, flags: { top: string }) =>
      runAction(() => {
        const top = numberFlag("--top", flags.top, { integer: true, positive: true })!;
        requireModel(run);
        if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
        const saved = loadSavedModel(run);
        const shape = saved.inputShape;
        const size = shape.reduce((a, b) => a * b, 1);
        let values: Float32Array;
        if (/\.json$/i.test(file)) {
          values = jsonSamples(file);
        } else if (/\.csv(\.gz)?$/i.test(file)) {
          values = Float32Array.from(parseCsv(readFileSync(file, "utf8"), { file, label: -1, labelType: "float", header: false }).inputs.dataSync());
        } else {
          const idx = readIdx(file);
          values = Float32Array.from(idx.values, (v) => (idx.values instanceof Uint8Array ? v / 255 : v));
        }
        if (values.length % size !== 0) {
          throw new ConfigError(`${file}: ${values.length} values do not make whole samples of shape [${shape.join(",")}] (${size} values each)`);
        }
        const n = values.length / size;
        let x = tensor(values, { shape: [n, ...shape] });
        if (saved.standardizer) x = saved.standardizer.transformTensor(x);
        const probs = noGrad(() => softmax(saved.model.forward(x), 1)).dataSync();
        const c = probs.length / n;
        const k = Math.min(c, top);
        for (let i = 0; i < n; i++) {
          const row = Array.from(probs.subarray(i * c, (i + 1) * c)).map((p, j) => [j, p] as const).sort((a, b) => b[1] - a[1]).slice(0, k);
          console.log(`${i}: ${row.map(([j, p]) => `${saved.classes?.[j] ?? j} (${(100 * p).toFixed(1)}%)`).join(", ")}`);
        }
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
        runConfig(run);
        console.log(`wrote ${writeRunReport(run)}`);
      }),
    );
}
