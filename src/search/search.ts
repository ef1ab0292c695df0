/**
 * `search(spec, options)`: runs a study. The coordinator asks the strategy for trials, hands them
 * to an executor and records each one as it ends, in the study folder (./study.ts):
 *
 * - in this process, one trial after another (the default; also for a user's objective function);
 * - `workers: N`: N local worker processes (./local.ts);
 * - `redis: URL`: a BullMQ queue; `descent worker` processes anywhere take the trials (./redis.ts).
 *
 * Every trial is written to suggested.jsonl before it is handed out and to trials.jsonl when it
 * ends, so `resume` knows what finished (never run again), what was handed out and not finished
 * (handed out again with the same values; a queue job that finished meanwhile is just collected),
 * and where the strategy goes on. Samplers are functions of the trial id and the finished trials,
 * so the resumed study suggests what the uninterrupted one would have.
 */
import { join, resolve } from "node:path";
import { ConfigError } from "../errors/errors.js";
import { runStamp } from "../train/experiment.js";
import { writeStudyReport } from "../report/study.js";
import { MemoryStore, TrialReporter } from "./pruners.js";
import { createSampler, rankTrials } from "./samplers.js";
import { resolveSearchSpec, trialConfig, type SearchSpec, type SearchSpecInput } from "./spec.js";
import { StudyProgress } from "./progress.js";
import { appendRound, appendSuggested, appendTrial, checkStudyDirFree, createStudy, readRounds, readStudyFile, readSuggested, readTrials, writeBest, type StudyFile } from "./study.js";
import { DEFAULT_QUEUE, executeTrialJob, type TrialJob } from "./job.js";
import { failedRecord, runTrial, TrialInterrupted, type Objective, type TrialRecord, type TrialTask } from "./trial.js";

/** Runs trials somewhere: in this process, in worker processes, on a queue. */
export interface Executor {
  /** trials it runs at once */
  readonly slots: number;
  /** resolves with the trial's record (failures included); rejects only with TrialInterrupted */
  run(task: TrialTask, job: TrialJob | null): Promise<TrialRecord>;
  close(): Promise<void>;
}

export interface ExecutorContext {
  study: StudyFile;
  dir: string;
  finished: readonly TrialRecord[];
  signal?: AbortSignal | undefined;
  log: (line: string) => void;
}

export interface SearchOptions {
  /** the study folder (default runs/search-<timestamp>); one holding a study is refused */
  out?: string;
  /** continue the study in this folder (the spec argument is then ignored) */
  resume?: string;
  /** a training function to search over instead of the spec's base config (runs in this process) */
  objective?: Objective;
  /** run trials in this many local worker processes (even 1: a process of its own) */
  workers?: number;
  /** put trials on a BullMQ queue on this Redis (redis://[:password@]host:port) for `descent worker`s */
  redis?: string;
  /** the queue's name (default "descent-trials") */
  queue?: string;
  /** with redis: trials on the queue at once (default 4) */
  parallel?: number;
  /** messages (default console.log) */
  log?: (line: string) => void;
  /** a progress bar (default: when stderr is a TTY) */
  progress?: boolean;
  /** write report.html at the end (default true) */
  report?: boolean;
  /** stop handing out trials; running trials stop at their next batch and resume later */
  signal?: AbortSignal;
}

export interface Study {
  dir: string;
  id: string;
  spec: SearchSpec;
  /** every finished trial, by id */
  trials: TrialRecord[];
  best: TrialRecord | null;
  /** stopped by the signal before the budget was spent */
  interrupted: boolean;
}

/** Runs trials one after another in this process. */
function inlineExecutor(ctx: ExecutorContext, objective: Objective | undefined): Executor {
  const spec = ctx.study.spec;
  const store = new MemoryStore();
  for (const t of ctx.finished) t.values.forEach((v, i) => store.report(t.id, i + 1, v));
  // an objective's pruned study gives epochs (checked by the spec); without a pruner none are needed
  const epochs = spec.base?.epochs ?? spec.epochs ?? 1;
  return {
    slots: 1,
    run: (task, job) => {
      if (job) return executeTrialJob(job, store, join(ctx.dir, "trials"), ctx.signal);
      const reporter = new TrialReporter(task.id, spec.pruner, spec.direction, store, epochs);
      return runTrial(task, reporter, async (trial) => ({ value: await objective!(task.params, trial), run: null }));
    },
    close: async () => {},
  };
}

/** The job of a config trial; a combination of values the train config refuses is a failed trial. */
function jobFor(study: StudyFile, task: TrialTask): TrialJob | TrialRecord {
  const spec = study.spec;
  try {
    const config = trialConfig(spec, task.params, `trial ${task.id}`);
    return { studyId: study.id, id: task.id, params: task.params, round: task.round, config, metric: spec.metric as TrialJob["metric"], direction: spec.direction, pruner: spec.pruner };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return failedRecord(task, e.message);
  }
}

/** Connects to the queue's Redis first, so an unreachable one leaves no study folder behind. */
async function prepareExecutor(options: SearchOptions): Promise<(ctx: ExecutorContext) => Promise<Executor>> {
  if (options.redis) {
    const url = options.redis;
    const { connectRedis, redisExecutor } = await import("./redis.js");
    const client = await connectRedis(url);
    return (ctx) => redisExecutor(ctx, client, url, options.queue ?? DEFAULT_QUEUE, options.parallel ?? 4);
  }
  if (options.workers !== undefined) {
    const workers = options.workers;
    const { localExecutor } = await import("./local.js");
    return async (ctx) => localExecutor(ctx, workers);
  }
  return async (ctx) => inlineExecutor(ctx, options.objective);
}

function checkOptions(options: SearchOptions): void {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ConfigError(`search: ${name} must be a positive integer, got ${v}`);
  };
  positive("workers", options.workers);
  positive("parallel", options.parallel);
  if (options.workers !== undefined && options.redis) throw new ConfigError("search: give workers or redis, not both (with redis, start `descent worker` processes)");
  if (options.objective && (options.workers !== undefined || options.redis)) {
    throw new ConfigError("search: an objective function runs in this process; workers and redis run studies over a base train config");
  }
}

/**
 * Runs a study of `spec` (ignored with `resume`), in the study folder `out`, and returns it when
 * the budget is spent or the signal stopped it.
 */
export async function search(specInput: SearchSpecInput | SearchSpec | undefined, options: SearchOptions = {}): Promise<Study> {
  checkOptions(options);
  const log = options.log ?? ((line: string) => console.log(line));
  // everything is checked (the spec, the study, the queue's Redis) before a folder is made
  const resumed = options.resume ? readStudyFile(resolve(options.resume)) : null;
  if (resumed?.objective && !options.objective) throw new ConfigError(`${options.resume}: this study searched over an objective function; resume it with the same function`);
  const fresh = resumed ? null : resolveSearchSpec(specInput, "search spec", { objective: options.objective !== undefined });
  const dir = resolve(options.resume ?? options.out ?? join("runs", `search-${runStamp()}`));
  if (!resumed) checkStudyDirFree(dir);
  const makeExecutor = await prepareExecutor(options);
  const study = resumed ?? createStudy(dir, fresh!, fresh!.base === null);
  const spec = study.spec;
  const finished = readTrials(dir);
  const suggested = readSuggested(dir);
  const roundsWritten = new Set(readRounds(dir).map((r) => r.round));
  if (options.resume) log(`resuming study ${dir}: ${finished.size} of ${spec.trials} trials finished, ${[...suggested.keys()].filter((id) => !finished.has(id)).length} to run again`);

  const executor = await makeExecutor({ study, dir, finished: [...finished.values()], signal: options.signal, log });
  const sampler = createSampler(spec);
  const progress = new StudyProgress(spec.trials, spec.metric, spec.direction, log, options.progress ?? Boolean(process.stderr.isTTY));
  progress.start([...finished.values()]);
  const pending = [...suggested.keys()].filter((id) => !finished.has(id)).sort((a, b) => a - b);
  const running = new Map<number, Promise<TrialRecord | null>>();
  let nextId = 0;
  let bestId = rankTrials([...finished.values()], spec.direction)[0]?.id ?? null;

  const dispatch = (task: TrialTask) => {
    const job = spec.base ? jobFor(study, task) : null;
    const result: Promise<TrialRecord> = job && "status" in job ? Promise.resolve(job) : executor.run(task, job);
    running.set(task.id, result.catch((e: unknown) => {
      if (e instanceof TrialInterrupted) return null;
      throw e;
    }));
  };
  const nextTask = (): TrialTask | null => {
    const again = pending.shift();
    if (again !== undefined) return suggested.get(again)!;
    while (suggested.has(nextId)) nextId++;
    const s = sampler.suggest(nextId, [...finished.values()]);
    if (s.kind !== "trial") return null;
    if (s.box && !roundsWritten.has(s.round)) {
      appendRound(dir, spec, s.round, s.box);
      roundsWritten.add(s.round);
    }
    const task: TrialTask = { id: nextId, params: s.params, round: s.round };
    appendSuggested(dir, task);
    suggested.set(task.id, task);
    return task;
  };

  try {
    for (;;) {
      while (running.size < executor.slots && !options.signal?.aborted) {
        const task = nextTask();
        if (!task) break;
        dispatch(task);
      }
      progress.running = running.size;
      progress.update();
      if (running.size === 0) break;
      const [id, record] = await Promise.race([...running].map(([id, p]) => p.then((r) => [id, r] as const)));
      running.delete(id);
      if (!record || finished.has(record.id)) continue;
      finished.set(record.id, record);
      appendTrial(dir, record);
      progress.running = running.size;
      progress.finished(record);
      const best = rankTrials([...finished.values()], spec.direction)[0];
      if (best && best.id !== bestId && spec.base) writeBest(dir, trialConfig(spec, best.params, `trial ${best.id}`));
      bestId = best?.id ?? null;
    }
  } finally {
    progress.stop();
    await executor.close();
  }
  const trials = [...finished.values()].sort((a, b) => a.id - b.id);
  const interrupted = trials.length < spec.trials;
  if (options.report ?? true) writeStudyReport(dir);
  if (interrupted && options.signal?.aborted) log(`stopped: ${trials.length} of ${spec.trials} trials recorded; continue with: npx descent search --resume ${dir}`);
  return { dir, id: study.id, spec, trials, best: rankTrials(trials, spec.direction)[0] ?? null, interrupted };
}
