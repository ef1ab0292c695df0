/**
 * The state of a run folder (docs/run-folder.md), read from the files in it, and what `train`
 * may do with it: start a new run there (a free folder), continue it (--resume), or neither.
 *
 *   free        absent, or an empty folder
 *   unstarted   config.json but no checkpoint and no model: a run that ended before its first
 *               checkpoint (a crash, a kill); a new run may take the folder over
 *   resumable   a checkpoint and no model: stopped (Ctrl-C) or still to finish
 *   diverged    its metrics.jsonl records a non-finite stop: resuming would repeat it
 *   finished    model.json: trained to the end (resume only to train longer)
 *
 * A folder that holds other files and no config.json is not a run and is never written into, and
 * an --out that is a file is refused: both are one-line errors, found before anything is made.
 *
 * One process at a time trains in a run folder (`lockRunFolder`): it holds `.descent.lock` (its pid
 * and host) while it runs, so a second `train --resume` of a live run, or a second `train --out`
 * into the same folder, is refused instead of interleaving two runs' files. A lock whose process is
 * gone (a kill -9, a crash) is stale and taken over; one from another host cannot be checked and is
 * taken over too.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors/errors.js";
import { readCheckpoint } from "../io/checkpoint-file.js";
import { parseJson } from "../io/json.js";

export type RunFolderState = "free" | "unstarted" | "resumable" | "diverged" | "finished";

/** The `reason` of the metrics.jsonl event written when a run stops on a non-finite loss. */
export const NON_FINITE_REASON = "nonFinite";

/** The checkpoints a run resumes from; escape.ckpt is written by `descent diagnose --escape`. */
const CHECKPOINT = /^(interrupted|escape|(epoch|step)-\d+)\.ckpt$/;

function checkpoints(dir: string): string[] {
  const ckDir = join(dir, "checkpoints");
  if (!existsSync(ckDir) || !statSync(ckDir).isDirectory()) return [];
  return readdirSync(ckDir).filter((f) => CHECKPOINT.test(f)).map((f) => join(ckDir, f));
}

/** The event of a non-finite stop in the run's metrics.jsonl, if it has one. */
export function divergedEvent(dir: string): { epoch: number; step: number; message: string } | null {
  const path = join(dir, "metrics.jsonl");
  if (!existsSync(path)) return null;
  const text = readFileSync(path, "utf8");
  const lines = text.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.includes(`"${NON_FINITE_REASON}"`)) continue;
    try {
      const e = parseJson(lines[i]!, { source: path }) as { type?: unknown; reason?: unknown; epoch?: unknown; step?: unknown; message?: unknown };
      if (e.type === "event" && e.reason === NON_FINITE_REASON) return { epoch: Number(e.epoch), step: Number(e.step), message: String(e.message) };
    } catch {
      // a damaged line is not the event
    }
  }
  return null;
}

/** The learning rate in a run's config.json, when it can be read. */
function configLr(dir: string): number | undefined {
  try {
    const lr = (parseJson(readFileSync(join(dir, "config.json"), "utf8"), { source: join(dir, "config.json") }) as { optimizer?: { lr?: unknown } }).optimizer?.lr;
    return typeof lr === "number" ? lr : undefined;
  } catch {
    return undefined;
  }
}

/** What `dir` holds, as `train` sees it; refuses a path that is a file or a folder that is not a run. */
export function runFolderState(dir: string, flag = "--out"): RunFolderState {
  if (!existsSync(dir)) {
    let parent = dirname(resolve(dir));
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    if (!statSync(parent).isDirectory()) throw new ConfigError(`${flag} ${dir}: ${parent} is a file, not a folder`);
    return "free";
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${flag} ${dir}: it is a file, not a folder`);
  const entries = readdirSync(dir).filter((f) => f !== LOCK_FILE);
  if (entries.length === 0) return "free";
  // a run folder has config.json and checkpoints/ (made together, before training)
  if (!entries.includes("config.json") || !entries.includes("checkpoints")) {
    if (flag === "--resume") throw new ConfigError(`${flag} ${dir}: no run there (no config.json and checkpoints/)`);
    throw new ConfigError(`${flag} ${dir}: the folder is not empty and holds no run (no config.json and checkpoints/); choose a new or empty folder`);
  }
  if (entries.includes("model.json")) return "finished";
  if (divergedEvent(dir)) return "diverged";
  if (checkpoints(dir).length > 0) return "resumable";
  // nothing to keep, unless files of someone else's are there too: then it is not taken over
  const foreign = entries.filter((f) => !RUN_FILES.has(f) && !f.startsWith("."));
  if (foreign.length > 0) {
    throw new ConfigError(`${flag} ${dir}: the folder holds a run that never reached a checkpoint, and other files (${foreign.slice(0, 3).join(", ")}); choose a new or empty folder`);
  }
  return "unstarted";
}

/** What a run folder holds (docs/run-folder.md); a run that never reached a checkpoint is taken over only when it holds nothing else. */
const RUN_FILES = new Set(["config.json", "metrics.jsonl", "checkpoints", "report.html", "summary.json", "model.json", "model.safetensors"]);

/**
 * Checks that a new run may use `dir`: a run there is never overwritten, and the message says
 * what can be done with it. A run that ended before its first checkpoint leaves nothing to keep:
 * with `take`, its files are removed so the new run starts over there. Returns the state found.
 */
export function claimRunFolder(dir: string, take: boolean): RunFolderState {
  const state = runFolderState(dir);
  switch (state) {
    case "free":
      return state;
    case "unstarted":
      if (take) for (const f of ["config.json", "metrics.jsonl", "report.html", "checkpoints"]) rmSync(join(dir, f), { recursive: true, force: true });
      return state;
    case "resumable":
      throw new ConfigError(`run folder ${dir} already holds an unfinished run: continue it with --resume ${dir}, or choose another --out`);
    case "diverged":
      throw new ConfigError(`run folder ${dir} already holds a run that stopped on a non-finite loss: choose another --out (runs are never overwritten)`);
    case "finished":
      throw new ConfigError(`run folder ${dir} already holds a run: choose another --out, or train it longer with --resume ${dir} --epochs N`);
    default:
      return state satisfies never;
  }
}

/**
 * The checkpoint of the run in `dir` to resume, the one furthest along (interrupted.ckpt, or the
 * latest epoch-N or step-N), or why it cannot be resumed; `name` is the folder as the user gave it.
 */
export function latestCheckpoint(dir: string, name = dir): string {
  const state = runFolderState(dir, "--resume");
  if (state === "free") throw new ConfigError(`--resume ${name}: no run there (no config.json and checkpoints/)`);
  const diverged = divergedEvent(dir);
  if (diverged) {
    const what = /the (dev )?loss became [^ ;,(]+/.exec(diverged.message)?.[0] ?? "the loss was not finite";
    const lr = configLr(dir);
    throw new ConfigError(
      `--resume ${name}: the run stopped at step ${diverged.step} (epoch ${diverged.epoch + 1}) because ${what}, and resuming would repeat the same steps; ` +
        `start a new run from its config with a lower learning rate or gradient clipping (clipGradNorm): ` +
        `descent train --config ${join(dir, "config.json")} --lr ${lr === undefined ? "<lower>" : String(lr / 10)} --out <new folder>`,
    );
  }
  const newest = newestCheckpoint(dir);
  if (newest === null) {
    throw new ConfigError(`--resume ${name}: the run stopped before its first checkpoint, so there is nothing to resume; start it again with descent train --config ${join(dir, "config.json")} --out ${dir}`);
  }
  return newest;
}

/**
 * The run's checkpoint furthest along by its own step count (file times change when a folder is
 * copied), the newest file among equals; one that cannot be read ranks last. Null when there is none.
 */
export function newestCheckpoint(dir: string): string | null {
  const candidates = checkpoints(dir);
  if (candidates.length === 0) return null;
  const stepOf = (p: string): number => {
    try {
      const step = (readCheckpoint(p).state as { step?: unknown }).step;
      return typeof step === "number" ? step : -1;
    } catch {
      return -1;
    }
  };
  return candidates.map((p) => ({ p, step: stepOf(p), t: statSync(p).mtimeMs })).sort((a, b) => b.step - a.step || b.t - a.t)[0]!.p;
}

/**
 * A resumed run must have epochs left: --epochs at or below the epochs already done, or a run
 * that early stopping ended, has nothing to do, and says so.
 */
export function checkSomethingToDo(run: string, checkpoint: string, epochs: number): void {
  const state = readCheckpoint(checkpoint).state as { lastEpoch?: unknown; stopReason?: unknown };
  const done = typeof state.lastEpoch === "number" ? state.lastEpoch + 1 : 0;
  if (typeof state.stopReason === "string") {
    throw new ConfigError(`--resume ${run}: nothing to do: the run stopped after ${done} epoch${done === 1 ? "" : "s"} (${state.stopReason}); start a new run to train further`);
  }
  if (epochs <= done) {
    throw new ConfigError(`--resume ${run}: nothing to do: the run has trained ${done} epoch${done === 1 ? "" : "s"} and --epochs is the total (${epochs}); give --epochs ${done + 1} or more to train longer`);
  }
}

const LOCK_FILE = ".descent.lock";

interface LockHolder {
  pid: number;
  host: string;
}

/** The process that holds the lock at `path` if it is alive on this host, else null (no lock, or a stale one). */
function liveHolder(path: string): LockHolder | null {
  let holder: Partial<LockHolder>;
  try {
    holder = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
  } catch {
    return null; // absent, or cut short by a crash while it was written
  }
  if (typeof holder.pid !== "number" || holder.host !== hostname() || holder.pid === process.pid) return null;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === "EPERM" ? (holder as LockHolder) : null;
  }
  return zombie(holder.pid) ? null : (holder as LockHolder);
}

/** True for a process that has exited and waits to be reaped (Linux; a container's init may never reap it). */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/** Refuses `dir` while another live process trains there (it holds the folder's lock); a missing folder or lock is no live run. */
export function refuseLiveRun(dir: string, flag: string): void {
  const holder = liveHolder(join(dir, LOCK_FILE));
  if (holder) {
    throw new ConfigError(`${flag} ${dir}: a run is training there now (process ${holder.pid}); wait for it to end, or stop it (Ctrl-C saves a checkpoint), then try again`);
  }
}

/**
 * Takes the run folder `dir` (made if absent) for this process until the returned release is
 * called; refuses, naming the process, while another live process holds it. `flag` is the option
 * the folder came from (--out, --resume), for the message.
 */
export function lockRunFolder(dir: string, flag: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const create = () => {
    const fd = openSync(path, "wx"); // fails when the file exists: two processes never both take it
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
    } finally {
      closeSync(fd);
    }
  };
  try {
    create();
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
    refuseLiveRun(dir, flag);
    unlinkSync(path); // stale: its process is gone
    create();
  }
  return () => {
    try {
      if ((JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>).pid === process.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
