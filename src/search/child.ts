/**
 * A local worker process (`descent search --workers N` forks N of them): it takes one trial at a
 * time from the coordinator over IPC, validates it, trains it, and sends the record back. Its
 * pruning store is a copy of the coordinator's, refreshed on request (./pruners.ts).
 */
import { ConfigError } from "../errors/errors.js";
import { executeTrialJob, parseTrialJob } from "./job.js";
import { MemoryStore, type IntermediateStore } from "./pruners.js";
import { failedRecord } from "./trial.js";
import type { FromWorker, ToWorker } from "./ipc.js";

const send = (m: FromWorker) => process.send?.(m);
const local = new MemoryStore();
const store: IntermediateStore = {
  report(trial, epoch, value) {
    local.report(trial, epoch, value);
    send({ type: "report", trial, epoch, value });
  },
  valuesAt: (epoch) => local.valuesAt(epoch),
  refresh: (epoch) => send({ type: "refresh", epoch }),
};

process.on("message", (raw: ToWorker) => {
  if (raw.type === "values") {
    local.replace(raw.epoch, new Map(raw.values));
    return;
  }
  const data = raw.job as unknown as { id?: unknown; params?: unknown; round?: unknown };
  let job;
  try {
    job = parseTrialJob(raw.job);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const task = { id: Number(data.id), params: (data.params ?? {}) as Record<string, number>, round: Number(data.round ?? 0) };
    send({ type: "done", record: failedRecord(task, e.message) });
    return;
  }
  void executeTrialJob(job, store, raw.runsDir).then((record) => send({ type: "done", record }));
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
