/**
 * The `descent` command line. It only parses arguments, calls the library and prints; every
 * command lives in its own file and is registered here.
 */
import { Command } from "commander";
import { registerConformance } from "./conformance.js";
import { registerTrain } from "./train.js";
import { registerCompare } from "./compare.js";
import { registerInspect } from "./inspect.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("descent")
    .description("Deep learning in TypeScript: train, compare, search, diagnose and explain neural networks.")
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander's own usage errors exit 2 (bad usage); --help and --version exit 0
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerTrain(program);
  registerCompare(program);
  registerInspect(program);
  registerConformance(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
