/**
 * `descent conformance PATH [--out FILE] [--check]`: evaluates reference cases.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { runAction } from "./errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { formatCheckLine, runConformance } from "../conformance/runner.js";

export function registerConformance(program: Command): void {
  program
    .command("conformance")
    .description("evaluate conformance cases (a case file, or a folder searched recursively for *.json)")
    .argument("<path>", "a case file or a folder of cases")
    .option("--out <file>", "write { id: result } for every case to FILE")
    .option("--check", "compare each result with the case's expected values; exit 1 if any fails")
    .addHelpText(
      "after",
      `
Examples:
  $ descent conformance ../shared/conformance/cases --check
  $ descent conformance ../shared/conformance/cases/op --out results.json`,
    )
    .action((path: string, opts: { out?: string; check?: boolean }) =>
      runAction(async () => {
        if (!existsSync(path)) throw new ConfigError(`${path}: no such case file or folder`);
        const { results, lines } = await runConformance(path, { check: Boolean(opts.check) });
        if (Object.keys(results).length === 0 && lines.length === 0) throw new ConfigError(`${path}: no conformance cases (*.json) found`);
        if (opts.out) writeFileAtomic(opts.out, JSON.stringify(results, null, 1) + "\n");
        if (opts.check) {
          for (const line of lines) console.log(formatCheckLine(line));
          const failed = lines.filter((l) => !l.ok).length;
          console.log(`${lines.length - failed} passed, ${failed} failed`);
          if (failed > 0) process.exitCode = 1;
        } else if (!opts.out) {
          console.log(JSON.stringify(results, null, 1));
        }
      }),
    );
}
