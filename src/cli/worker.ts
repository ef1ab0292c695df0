/**
 * `descent worker --redis URL`: takes search trials from the queue, one at a time, on any machine,
 * and sends their results back; Ctrl-C (or SIGTERM) stops it, and the trial it was running goes
 * back on the queue for another worker.
 */
import type { Command } from "commander";
import { DEFAULT_QUEUE } from "../search/job.js";
import { runWorker } from "../search/index.js";
import { numberFlag, runAction } from "./errors.js";

interface WorkerFlags {
  redis: string;
  queue?: string;
  out?: string;
  stalledMs?: string;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("take hyperparameter-search trials from a Redis queue and run them")
    .requiredOption("--redis <url>", "the Redis of the queue (redis://[:password@]host:6379)")
    .option("--queue <name>", `the queue's name (default ${DEFAULT_QUEUE})`)
    .option("--out <dir>", "where trial run folders go (default runs/worker)")
    .option("--stalled-ms <ms>", "how long a dead worker's trial waits before another worker takes it (default 30000)")
    .addHelpText("after", "\nExample:\n  $ npx descent worker --redis redis://:secret@10.0.0.5:6379")
    .action((flags: WorkerFlags) =>
      runAction(async () => {
        const stalledMs = numberFlag("--stalled-ms", flags.stalledMs, { integer: true, positive: true });
        const controller = new AbortController();
        const stop = () => {
          console.log("stopping: the trial in progress goes back on the queue");
          controller.abort();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        await runWorker({
          redis: flags.redis, ...(flags.queue ? { queue: flags.queue } : {}), ...(flags.out ? { out: flags.out } : {}),
          ...(stalledMs !== undefined ? { stalledMs } : {}), signal: controller.signal,
        });
      }),
    );
}
