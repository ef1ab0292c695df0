/**
 * `descent search`: a hyperparameter search over a train config (the spec: src/search/spec.ts).
 * Trials run in this process, in --workers N local processes, or on a Redis queue (--redis URL)
 * for `descent worker`s anywhere; --resume continues a stopped or crashed study. Ctrl-C stops
 * handing out trials; running ones stop at their next batch and continue on --resume.
 */
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { DEFAULT_QUEUE } from "../search/job.js";
import { loadSearchSpec } from "../search/spec.js";
import { search } from "../search/search.js";
import { numberFlag, runAction } from "./errors.js";

interface SearchFlags {
  config?: string;
  out?: string;
  resume?: string;
  workers?: string;
  redis?: string;
  queue?: string;
  parallel?: string;
  progress: boolean;
}

export function registerSearch(program: Command): void {
  program
    .command("search")
    .description("search hyperparameters: grid, random, coarse-to-fine or TPE, with pruning, on local or Redis workers")
    .option("--config <file>", "the search spec (JSON): base train config, space, strategy, trials, metric, ...")
    .option("--out <dir>", "the study folder (default runs/search-<time>)")
    .option("--resume <study>", "continue a stopped or crashed study")
    .option("--workers <n>", "run trials in n local worker processes")
    .option("--redis <url>", "put trials on a queue at this Redis (redis://[:password@]host:6379) for `descent worker`s")
    .option("--queue <name>", `the queue's name (default ${DEFAULT_QUEUE})`)
    .option("--parallel <n>", "with --redis: trials on the queue at once (default 4)")
    .option("--no-progress", "no progress bar, one line per trial")
    .addHelpText(
      "after",
      `
Examples:
  $ npx descent search --config search.json --out runs/search-1
  $ npx descent search --config search.json --workers 2
  $ npx descent search --config search.json --redis redis://127.0.0.1:6379
  $ npx descent search --resume runs/search-1

The study folder holds trials.jsonl, report.html and best.json, the best trial's train config:
retrain it with descent train --config runs/search-1/best.json.`,
    )
    .action((flags: SearchFlags) => runAction(() => runSearch(flags)));
}

async function runSearch(flags: SearchFlags): Promise<void> {
  const workers = numberFlag("--workers", flags.workers, { integer: true, positive: true });
  const parallel = numberFlag("--parallel", flags.parallel, { integer: true, positive: true });
  if (flags.resume && (flags.config || flags.out)) throw new ConfigError("--resume continues a study with its own spec: --config and --out cannot be given with it");
  if (!flags.resume && !flags.config) throw new ConfigError("give --config <search spec> (or --resume <study folder>)");
  const spec = flags.config ? loadSearchSpec(flags.config) : undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    console.log("\nstopping: no more trials are handed out; running trials stop at their next batch (Ctrl-C again to quit at once)...");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const study = await search(spec, {
      ...(flags.out ? { out: flags.out } : {}), ...(flags.resume ? { resume: flags.resume } : {}),
      ...(workers !== undefined ? { workers } : {}), ...(flags.redis ? { redis: flags.redis } : {}),
      ...(flags.queue ? { queue: flags.queue } : {}), ...(parallel !== undefined ? { parallel } : {}),
      progress: flags.progress && Boolean(process.stderr.isTTY), signal: controller.signal,
    });
    console.log(`study folder: ${study.dir} (report: ${study.dir}/report.html)`);
    if (study.best) console.log(`best: trial ${study.best.id}, ${study.spec.metric} ${study.best.value}${study.spec.base ? `; retrain with: npx descent train --config ${study.dir}/best.json` : ""}`);
    if (study.interrupted) process.exitCode = 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
