/**
 * `descent compare`: one model and seed, several optimizers (or schedules, initializers, batch
 * sizes, losses) trained side by side; one report overlays their curves.
 */
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { defaultExperiment, loadConfigFile, resolveConfig } from "../train/config.js";
import { runComparison, type Varied } from "../train/compare.js";
import { runStamp } from "../train/experiment.js";
import { choiceFlag, numberFlag, runAction } from "./errors.js";
import { LOSS_NAMES } from "../losses/create.js";

interface CompareFlags {
  optimizers?: string;
  schedules?: string;
  inits?: string;
  batchSizes?: string;
  losses?: string;
  config?: string;
  model?: string;
  epochs?: string;
  seed?: string;
  out?: string;
  progress: boolean;
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("train one model several times, varying one setting, and overlay the curves in one report")
    .option("--optimizers <list>", "comma-separated optimizers, e.g. sgd,momentum,rmsprop,adam")
    .option("--schedules <list>", "comma-separated schedules: constant,exponential,inverseTime,step,cosine,warmupCosine")
    .option("--inits <list>", "comma-separated weight initializers, e.g. zeros,xavierUniform,heNormal")
    .option("--batch-sizes <list>", "comma-separated batch sizes, e.g. 8000,64,1 (batch, mini-batch, stochastic)")
    .option("--losses <list>", `comma-separated losses: ${LOSS_NAMES.join(", ")}`)
    .option("--config <file>", "the base experiment config (default: what descent train runs without one, the default CNN recipe on MNIST)")
    .option("--model <name>", "a preset model: mlp or cnn")
    .option("--epochs <n>", "epochs per run")
    .option("--seed <n>", "the seed shared by every run")
    .option("--out <dir>", "folder for the runs and compare.html (default runs/compare-<what>-<time>)")
    .option("--no-progress", "no progress bars")
    .addHelpText(
      "after",
      `
Examples:
  $ npx descent compare --optimizers sgd,momentum,rmsprop,adam --epochs 3
  $ npx descent compare --schedules constant,exponential,cosine --model mlp --epochs 5
  $ npx descent compare --inits zeros,xavierUniform,heUniform --model mlp --epochs 2
  $ npx descent compare --losses crossEntropy,mse --model mlp --epochs 3`,
    )
    .action((flags: CompareFlags) => runAction(() => compare(flags)));
}

async function compare(flags: CompareFlags): Promise<void> {
  const choices: [Varied, string | undefined][] = [
    ["optimizers", flags.optimizers], ["schedules", flags.schedules], ["inits", flags.inits], ["batchSizes", flags.batchSizes], ["losses", flags.losses],
  ];
  const given = choices.filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw new ConfigError("compare: give exactly one of --optimizers, --schedules, --inits, --batch-sizes, --losses");
  const [varied, list] = given[0]! as [Varied, string];
  const values = list.split(",").map((s) => s.trim()).filter(Boolean);
  choiceFlag("--model", flags.model, ["mlp", "cnn"]);
  const epochs = numberFlag("--epochs", flags.epochs, { integer: true, positive: true });
  const seed = numberFlag("--seed", flags.seed, { integer: true });
  // the same starting point as descent train: the config, or the default recipe
  const base = flags.config ? loadConfigFile(flags.config) : resolveConfig(defaultExperiment(epochs));
  const config = resolveConfig(
    { ...base, ...(flags.model ? { model: flags.model } : {}), ...(epochs ? { epochs } : {}), ...(seed !== undefined ? { seed } : {}), name: undefined },
    "flags",
  );
  const out = flags.out ?? `runs/compare-${varied}-${runStamp()}`;
  const result = await runComparison(config, varied, values, { outDir: out, ...(flags.progress ? {} : { progress: false }) });
  console.log(`\ncompare report: ${result.reportPath}`);
  for (const r of result.runs) {
    const acc = r.result.test.accuracy;
    console.log(`${r.label.padEnd(14)} test accuracy ${acc === undefined ? "-" : `${(100 * acc).toFixed(1)}%`}  (${r.result.history.epochs.length} epoch${r.result.history.epochs.length === 1 ? "" : "s"})`);
  }
}
