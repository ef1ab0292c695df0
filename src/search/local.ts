/**
 * `--workers N`: N local worker processes (./child.ts, forked with an IPC channel), one trial at a
 * time each, so N CPU-bound trials train in parallel on N cores. The coordinator keeps the
 * pruning store and answers the workers' requests for it. A worker that dies in the middle of a
 * trial is replaced and the trial handed out again (it resumes from its run's last checkpoint);
 * after three deaths on the same trial, the trial is recorded as failed.
 *
 * When the workers take every core, each runs V8 single-threaded (`workerFlags`): a Node process
 * otherwise adds garbage-collection and compiler threads (a lone trial keeps 1.2 cores busy), and
 * N workers' extra threads then take the cores their neighbours train on. Measured on 2 cores,
 * 8 trials (BENCHMARKS.md): 2 workers with their own helper threads 11.5-11.9 s, single-threaded
 * 9.6-10.0 s; one worker alone keeps its helper threads, which make it faster (14.5 s vs 17 s).
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors/errors.js";
import { relaxedSimdFlags } from "../backend/node-flags.js";
import { fusedMultiplyAdd } from "../backend/cpu/simd/gemm-simd.js";
import { MemoryStore } from "./pruners.js";
import { failedRecord, TrialInterrupted, type TrialRecord, type TrialTask } from "./trial.js";
import type { TrialJob } from "./job.js";
import type { FromWorker, ToWorker } from "./ipc.js";
import type { Executor, ExecutorContext } from "./search.js";

const MAX_ATTEMPTS = 3;

/**
 * V8 flags for each of `workers` worker processes: relaxed SIMD where this process has it (so a
 * trial's products round as the coordinator's do), single-threaded once they fill the cores.
 */
export function workerFlags(workers: number, cores: number = availableParallelism()): string[] {
  const flags = [...process.execArgv];
  if (fusedMultiplyAdd()) for (const f of relaxedSimdFlags()) if (!flags.includes(f)) flags.push(f);
  return workers >= cores ? [...flags, "--single-threaded"] : flags;
}

interface Slot {
  proc: ChildProcess;
  busy: { task: TrialTask; job: TrialJob; attempts: number; resolve: (r: TrialRecord) => void; reject: (e: unknown) => void } | null;
}

export function localExecutor(ctx: ExecutorContext, workers: number): Executor {
  const entry = fileURLToPath(new URL("./child.js", import.meta.url));
  if (!existsSync(entry)) throw new ConfigError(`local workers run the built package: ${entry} is missing (npm run build)`);
  const store = new MemoryStore();
  const flags = workerFlags(workers);
  for (const t of ctx.finished) t.values.forEach((v, i) => store.report(t.id, i + 1, v));
  const runsDir = join(ctx.dir, "trials");
  const slots: Slot[] = [];
  const waiting: NonNullable<Slot["busy"]>[] = [];
  let closing = false;

  const start = (slot: Slot) => {
    if (slot.busy) return;
    const next = waiting.shift();
    if (!next) return;
    slot.busy = next;
    slot.proc.send({ type: "trial", job: next.job, runsDir } satisfies ToWorker);
  };

  const spawn = (): Slot => {
    const proc = fork(entry, [], { stdio: ["ignore", "ignore", "inherit", "ipc"], serialization: "advanced", execArgv: flags });
    const slot: Slot = { proc, busy: null };
    proc.on("message", (m: FromWorker) => {
      switch (m.type) {
        case "ready":
          start(slot);
          break;
        case "report":
          store.report(m.trial, m.epoch, m.value);
          break;
        case "refresh":
          proc.send({ type: "values", epoch: m.epoch, values: [...store.valuesAt(m.epoch)] } satisfies ToWorker);
          break;
        case "done": {
          const busy = slot.busy;
          slot.busy = null;
          busy?.resolve(m.record);
          start(slot);
          break;
        }
        default:
          m satisfies never;
      }
    });
    proc.on("exit", (code, signal) => {
      const i = slots.indexOf(slot);
      const busy = slot.busy;
      if (closing) {
        busy?.reject(new TrialInterrupted(`trial ${busy.task.id}: its worker was stopped`));
        return;
      }
      if (busy) {
        const why = `its worker process ${proc.pid} exited (${signal ?? `code ${code}`})`;
        if (busy.attempts >= MAX_ATTEMPTS) busy.resolve(failedRecord(busy.task, `${why}, ${MAX_ATTEMPTS} times`));
        else waiting.unshift({ ...busy, attempts: busy.attempts + 1 });
        ctx.log(`trial ${busy.task.id}: ${why}; ${busy.attempts >= MAX_ATTEMPTS ? "giving up" : "handing it out again"}`);
      }
      if (i >= 0) slots[i] = spawn();
    });
    return slot;
  };

  const stopAll = () => {
    closing = true;
    for (const s of slots) s.proc.kill("SIGTERM");
  };
  ctx.signal?.addEventListener("abort", stopAll, { once: true });
  for (let i = 0; i < workers; i++) slots.push(spawn());
  return {
    slots: workers,
    run: (task, job) =>
      new Promise<TrialRecord>((resolve, reject) => {
        if (!job) throw new ConfigError("local workers run train configs only");
        waiting.push({ task, job, attempts: 1, resolve, reject });
        const idle = slots.find((s) => s.busy === null && s.proc.connected);
        if (idle) start(idle);
      }),
    close: async () => {
      ctx.signal?.removeEventListener("abort", stopAll);
      const exited = slots.map((s) => (s.proc.exitCode !== null || s.proc.signalCode !== null ? Promise.resolve() : new Promise<void>((done) => s.proc.once("exit", () => done()))));
      stopAll();
      await Promise.all(exited);
    },
  };
}
