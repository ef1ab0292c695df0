/**
 * `descent train`: with no arguments, trains the default CNN on the bundled MNIST digits; with
 * --config, any experiment; with --resume, continues a stopped run exactly. Flags override the
 * config's common settings. Ctrl-C saves a checkpoint and says how to resume.
 */
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { OPTIMIZER_NAMES } from "../optim/optimizer.js";
import { LOSS_NAMES, parseLossSpec } from "../losses/create.js";
import { defaultExperiment, loadConfigFile, resolveConfig, type ExperimentConfigInput } from "../train/config.js";
import { runExperiment } from "../train/experiment.js";
import { choiceFlag, numberFlag, runAction } from "./errors.js";

interface TrainFlags {
  config?: string;
  model?: string;
  optimizer?: string;
  loss?: string;
  lr?: string;
  epochs?: string;
  batchSize?: string;
  seed?: string;
  out?: string;
  resume?: string;
  json?: boolean;
  progress: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train a model; with no arguments, the default CNN on the bundled MNIST digits")
    .option("--config <file>", "an experiment config (JSON): data, model, optimizer, schedule, ...")
    .option("--model <name>", "a preset model: mlp or cnn")
    .option("--optimizer <name>", OPTIMIZER_NAMES.join(", "))
    .option("--loss <name>", `the training loss: ${LOSS_NAMES.join(", ")} (default: crossEntropy for classes, mse for numbers)`)
    .option("--lr <number>", "learning rate")
    .option("--epochs <n>", "total number of epochs (also when resuming)")
    .option("--batch-size <n>", "samples per batch")
    .option("--seed <n>", "seed of the split, initialization, shuffling and augmentation")
    .option("--out <dir>", "the run folder (default runs/<name>)")
    .option("--resume <run>", "continue a stopped run from its latest checkpoint")
    .option("--json", "print a machine-readable summary (JSON) on stdout; messages go to stderr")
    .option("--no-progress", "no progress bars, one line per epoch")
    .addHelpText(
      "after",
      `
Examples:
  $ npx descent train                                   # default CNN on MNIST digits
  $ npx descent train --model mlp --optimizer sgd --lr 0.1 --epochs 5
  $ npx descent train --config exp.json --out runs/exp1
  $ npx descent train --model mlp --loss mse            # MSE on one-hot labels instead of cross-entropy
  $ npx descent train --resume runs/exp1 --epochs 20    # continue to 20 epochs in total`,
    )
    .action((flags: TrainFlags) => runAction(() => train(flags)));
}

async function train(flags: TrainFlags): Promise<void> {
  const log = flags.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const epochs = numberFlag("--epochs", flags.epochs, { integer: true, positive: true });
  // bars only on a terminal (a pipe or a file gets one line per epoch); never with --json
  const progress = flags.progress && !flags.json ? {} : { progress: false };
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    // printed by the run above its progress bars
    controller.abort("stopping after this batch (Ctrl-C again to quit at once)...");
  };
  process.on("SIGINT", onSigint);
  try {
    let result;
    if (flags.resume) {
      const extra = (["config", "model", "optimizer", "loss", "lr", "batchSize", "seed", "out"] as const)
        .filter((k) => flags[k] !== undefined)
        .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      if (extra.length > 0) {
        throw new ConfigError(`--resume continues a run with its own config, so ${extra.join(", ")} cannot be given with it (only --epochs, --json and --no-progress)`);
      }
      result = await runExperiment(undefined, { resumeDir: flags.resume, epochs, log, ...progress, signal: controller.signal });
    } else {
      // flags are checked first, so an error names the flag rather than the config it overrides
      choiceFlag("--model", flags.model, ["mlp", "cnn"]);
      choiceFlag("--optimizer", flags.optimizer, OPTIMIZER_NAMES);
      choiceFlag("--loss", flags.loss, LOSS_NAMES);
      const lr = numberFlag("--lr", flags.lr, { positive: true });
      const batchSize = numberFlag("--batch-size", flags.batchSize, { integer: true, positive: true });
      const seed = numberFlag("--seed", flags.seed, { integer: true });
      const base = flags.config ? loadConfigFile(flags.config) : resolveConfig(defaultExperiment(epochs));
      const overrides: ExperimentConfigInput = { ...base } as ExperimentConfigInput;
      if (flags.model) overrides.model = flags.model as "mlp" | "cnn";
      if (flags.optimizer || flags.lr) {
        const sameOptimizer = !flags.optimizer || flags.optimizer === base.optimizer.name;
        const optimizer: { name: string; lr?: number } = sameOptimizer ? { ...base.optimizer } : { name: flags.optimizer! };
        if (lr !== undefined) optimizer.lr = lr;
        overrides.optimizer = optimizer;
      }
      // --loss keeps the config's options of that loss, and drops another loss's
      if (flags.loss) overrides.loss = (base.loss !== null && parseLossSpec(base.loss).name === flags.loss ? base.loss : flags.loss) as ExperimentConfigInput["loss"];
      if (epochs !== undefined) overrides.epochs = epochs;
      if (batchSize !== undefined) overrides.batchSize = batchSize;
      if (seed !== undefined) overrides.seed = seed;
      const config = resolveConfig(overrides, flags.config ? `config ${flags.config}` : "flags");
      const configSource = flags.config ? `config ${flags.config}` : undefined;
      result = await runExperiment(config, { outDir: flags.out, configSource, log, ...progress, signal: controller.signal });
    }
    if (result.interrupted) {
      process.exitCode = 1;
      return;
    }
    const acc = result.test.accuracy;
    if (flags.json) {
      console.log(JSON.stringify({ run: result.dir, epochs: result.history.epochs.length, stopReason: result.history.stopReason, test: result.test }));
    } else {
      log(`run folder: ${result.dir} (report: ${result.dir}/report.html)`);
      log(acc !== undefined ? `test accuracy: ${(100 * acc).toFixed(1)}%` : `test loss: ${result.test.loss?.toPrecision(4)}`);
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}
