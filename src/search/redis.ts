/**
 * Trials on a BullMQ queue over Redis: the coordinator (`descent search --redis URL`) adds one job
 * per trial, with the job id `<study>-<trial>`, and waits for its result; `descent worker --redis
 * URL` processes on any machine take jobs one at a time, validate them (./job.ts: data only, no
 * code), train them and return the trial's record as the job's result.
 *
 * - A worker killed in the middle of a trial stops renewing its job's lock; after `stalledMs` the
 *   other workers' stalled-job check puts the job back on the queue (BullMQ's stalled jobs) and
 *   another worker runs it again. The coordinator records a trial when its job completes, once:
 *   the job id is unique, and the study ignores a second record of an id.
 * - A resumed coordinator finds the job of a trial that was handed out by its id: a job that
 *   completed meanwhile is collected, one still waiting or running is waited for.
 * - Pruning values live in one Redis hash per study (field `<epoch>:<trial>`), read ahead of each
 *   decision by the workers (see IntermediateStore).
 * - An unreachable Redis is an error naming the URL (the password hidden) within a few seconds.
 */
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { Job, Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import * as z from "zod";
import { ConfigError, DescentError } from "../errors/errors.js";
import { MemoryStore, type IntermediateStore } from "./pruners.js";
import { DEFAULT_QUEUE, executeTrialJob, parseTrialJob } from "./job.js";
import { trialLine } from "./progress.js";
import { failedRecord, TrialInterrupted, type TrialRecord } from "./trial.js";
import type { Executor, ExecutorContext } from "./search.js";

/** The URL with its password replaced by ***, for messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, "$1***@");
}

/** Connects to Redis, or fails within a few seconds with the URL named. */
export async function connectRedis(url: string): Promise<Redis> {
  const shown = redactRedisUrl(url);
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new ConfigError(`redis ${shown}: expected a URL like redis://[:password@]host:6379`);
  let connected = false;
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: 3000,
    // before the first connection: fail at once; after it, reconnect (a restart of Redis)
    retryStrategy: (times) => (connected ? Math.min(200 * times, 2000) : null),
  });
  // the cause (ECONNREFUSED, WRONGPASS) comes as an error event; connect() only says "closed"
  let cause: Error | null = null;
  client.on("error", (e: Error) => {
    cause ??= e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const why = (cause as Error | null)?.message || (e as Error).message || String(e);
    throw new DescentError(`cannot reach Redis at ${shown}: ${why}`);
  }
  connected = true;
  return client;
}

/** A study's pruning values in a Redis hash, with a local copy for synchronous decisions. */
export class RedisStore implements IntermediateStore {
  private readonly local = new MemoryStore();
  private readonly key: string;

  constructor(private readonly client: Redis, queue: string, studyId: string) {
    this.key = `${queue}:study:${studyId}:values`;
  }

  report(trial: number, epoch: number, value: number): void {
    this.local.report(trial, epoch, value);
    void this.client.multi().hset(this.key, `${epoch}:${trial}`, String(value)).expire(this.key, 30 * 24 * 3600).exec().catch(() => {});
  }

  valuesAt(epoch: number): ReadonlyMap<number, number> {
    return this.local.valuesAt(epoch);
  }

  refresh(epoch: number): void {
    void this.client.hgetall(this.key).then((all) => {
      const at = new Map<number, number>();
      for (const [field, v] of Object.entries(all)) {
        const [e, t] = field.split(":").map(Number);
        if (e === epoch && Number.isInteger(t)) at.set(t!, Number(v));
      }
      this.local.replace(epoch, at);
    }).catch(() => {});
  }
}

const recordSchema = z.looseObject({
  id: z.number().int(),
  status: z.enum(["complete", "pruned", "failed"]),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  round: z.number().int(),
  value: z.number().nullable(),
  values: z.array(z.number()),
  run: z.string().nullable(),
  worker: z.string(),
  seconds: z.number(),
  error: z.string().optional(),
});

/** The coordinator's side: `client` is connected (before the study folder was made). */
export async function redisExecutor(ctx: ExecutorContext, client: Redis, url: string, queueName: string, parallel: number): Promise<Executor> {
  const eventsClient = client.duplicate();
  const queue = new Queue(queueName, { connection: client });
  const events = new QueueEvents(queueName, { connection: eventsClient });
  await events.waitUntilReady();
  const store = new RedisStore(client, queueName, ctx.study.id);
  for (const t of ctx.finished) t.values.forEach((v, i) => store.report(t.id, i + 1, v));
  let closed: Promise<void> | null = null;
  // closing ends every wait (a stopped coordinator); the jobs stay on the queue for a --resume
  let stopWaiting!: () => void;
  const stopped = new Promise<never>((_, reject) => {
    stopWaiting = () => reject(new TrialInterrupted("the coordinator stopped waiting"));
  });
  stopped.catch(() => {});
  const close = () =>
    (closed ??= (async () => {
      stopWaiting();
      ctx.signal?.removeEventListener("abort", onAbort);
      await events.close();
      await queue.close();
      await Promise.all([client.quit().catch(() => {}), eventsClient.quit().catch(() => {})]);
    })());
  const onAbort = () => void close();
  ctx.signal?.addEventListener("abort", onAbort, { once: true });
  ctx.log(`trials go to queue "${queueName}" on ${redactRedisUrl(url)}; start workers with: npx descent worker --redis ${redactRedisUrl(url)}${queueName === DEFAULT_QUEUE ? "" : ` --queue ${queueName}`}`);
  return {
    slots: parallel,
    async run(task, job) {
      if (!job) throw new ConfigError("queue workers run train configs only");
      const jobId = `${ctx.study.id}-${task.id}`;
      const queued = (await Job.fromId(queue, jobId)) ?? (await queue.add("trial", job, { jobId, attempts: 3, removeOnComplete: false, removeOnFail: false }));
      let record: TrialRecord;
      try {
        const result = recordSchema.safeParse(await Promise.race([queued.waitUntilFinished(events), stopped]));
        record = result.success ? (result.data as TrialRecord) : failedRecord(task, `the worker sent back a malformed result (${result.error.issues[0]?.message})`);
      } catch (e) {
        if (closed) throw new TrialInterrupted(`trial ${task.id}: the coordinator stopped waiting`);
        record = failedRecord(task, `its queue job failed: ${(e as Error).message}`);
      }
      await queued.remove().catch(() => {});
      return record;
    },
    close,
  };
}

export interface WorkerOptions {
  redis: string;
  queue?: string;
  /** where trial run folders go: <out>/<study id>/trial-NNNN (default runs/worker) */
  out?: string;
  /** how long a dead worker's trial waits before it goes back on the queue, in ms (default 30000) */
  stalledMs?: number;
  log?: (line: string) => void;
  /** stop taking trials; the trial in progress goes back on the queue */
  signal?: AbortSignal;
}

/** Takes trials from the queue until the signal fires. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  const queueName = options.queue ?? DEFAULT_QUEUE;
  const out = resolve(options.out ?? join("runs", "worker"));
  const stalledMs = options.stalledMs ?? 30_000;
  if (!(Number.isInteger(stalledMs) && stalledMs >= 500)) throw new ConfigError(`worker: stalledMs must be an integer >= 500, got ${stalledMs}`);
  const client = await connectRedis(options.redis);
  const name = `${hostname()}:${process.pid}`;
  // BullMQ leaves connections it is given open: both are closed here at the end
  const workerClient = client.duplicate();
  const worker = new Worker(
    queueName,
    async (j) => {
      const job = parseTrialJob(j.data);
      log(`${name}: trial ${job.id} of study ${job.studyId} started (attempt ${j.attemptsMade + 1})`);
      const record = await executeTrialJob(job, new RedisStore(client, queueName, job.studyId), join(out, job.studyId), options.signal);
      log(`${name}: ${trialLine(record, job.metric)}`);
      return record;
    },
    { connection: workerClient, concurrency: 1, drainDelay: 1, lockDuration: stalledMs, stalledInterval: Math.max(250, Math.floor(stalledMs / 2)), maxStalledCount: 3 },
  );
  worker.on("failed", (j, err) => log(`${name}: job ${j?.id ?? "?"} failed: ${err.message}`));
  worker.on("error", (err) => log(`${name}: ${err.message}`));
  await worker.waitUntilReady();
  log(`${name}: waiting for trials on queue "${queueName}" at ${redactRedisUrl(options.redis)}`);
  await new Promise<void>((done) => {
    if (options.signal?.aborted) done();
    options.signal?.addEventListener("abort", () => done(), { once: true });
  });
  await worker.close();
  await Promise.all([client.quit().catch(() => {}), workerClient.quit().catch(() => {})]);
}
