/**
 * Trials in other processes, end to end through the CLI (the build in dist/):
 *
 * - `--workers 2`: two local worker processes share the trials;
 * - a study on a real Redis (our own redis-server, with a password) with two `descent worker`s,
 *   one killed with SIGKILL in the middle of a trial: the study completes with every trial
 *   recorded exactly once, the killed one by the other worker;
 * - a local worker process killed with SIGKILL mid-trial: replaced, its trial recorded once;
 * - the coordinator killed with SIGKILL, then `--resume` (in this process, and on Redis, where the
 *   jobs that finished meanwhile are collected): the study finishes without running its finished
 *   trials again;
 * - an unreachable Redis: an error naming the URL within seconds, and no study folder.
 *
 * Without redis-server the Redis test is skipped with a message, except under CI, where it fails.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, runCli, spawnCli, tempDir, writeConfig } from "../cli/helpers.js";
import { blobConfig, freePort, requireRedisOrSkip, startRedis, writeBlobs, type RedisServer } from "./helpers.js";
import { workerFlags } from "../../src/search/local.js";

interface Line {
  id: number;
  status: string;
  worker: string;
  run: string | null;
  values: number[];
}

const readTrialLines = (study: string): Line[] =>
  existsSync(join(study, "trials.jsonl")) ? readFileSync(join(study, "trials.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line) : [];

/** The processes whose parent is `pid`, from /proc (no `ps` needed). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ")"
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!test()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Collects a process's stdout and stderr as it runs. */
function watch(proc: ChildProcess): { text: () => string; exited: Promise<number | null> } {
  let text = "";
  proc.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("close", (code) => resolve(code)));
  return { text: () => text, exited };
}

function spec(csv: string, trials: number, epochs: number): Record<string, unknown> {
  return {
    base: blobConfig(csv, epochs),
    space: { "optimizer.lr": { type: "log", low: 3e-3, high: 3e-2 }, "model.layers[0].outFeatures": { type: "int", low: 8, high: 24 } },
    strategy: "random", trials, metric: "devAccuracy", seed: 2,
  };
}

const dir = tempDir("search");
const csv = writeBlobs(dir, 400);

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe("local worker processes", () => {
  it("--workers 2 runs the trials in two processes", async () => {
    writeConfig(dir, "local.json", spec(csv, 6, 3));
    const r = await runCli(["search", "--config", "local.json", "--out", "local", "--workers", "2", "--no-progress"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = readTrialLines(join(dir, "local"));
    expect(lines.map((l) => l.id).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(lines.map((l) => l.worker)).size).toBe(2);
    expect(lines.every((l) => l.status === "complete" && l.values.length === 3)).toBe(true);
    expect(r.stdout).toContain("6/6 done, 0 running, 0 pruned, 0 failed; best devAccuracy");
  }, 60_000);

  it("run V8 single-threaded once they fill the cores, with the coordinator's own flags kept", () => {
    expect(workerFlags(2, 2)).toEqual([...process.execArgv, "--single-threaded"]);
    expect(workerFlags(3, 2)).toContain("--single-threaded");
    expect(workerFlags(1, 2)).toEqual(process.execArgv);
    expect(workerFlags(2, 8)).not.toContain("--single-threaded");
  });
});

describe("a local worker process killed", () => {
  it("with SIGKILL mid-trial: it is replaced, its trial runs again, every trial is recorded once", async () => {
    writeConfig(dir, "local-kill.json", spec(csv, 4, 25));
    const study = join(dir, "local-kill");
    const proc = spawnCli(["search", "--config", "local-kill.json", "--out", "local-kill", "--workers", "2", "--no-progress"], dir);
    const w = watch(proc);
    const children = () => childPids(proc.pid!);
    // a trial is under way once its run folder has its first checkpoint
    await until("a trial's first checkpoint", () => existsSync(join(study, "trials", "trial-0000", "checkpoints", "epoch-1.ckpt")) || existsSync(join(study, "trials", "trial-0001", "checkpoints", "epoch-1.ckpt")));
    const victim = children()[0]!;
    process.kill(victim, "SIGKILL");
    expect(await w.exited).toBe(0);
    expect(w.text()).toMatch(new RegExp(`trial \\d+: its worker process ${victim} exited \\(SIGKILL\\); handing it out again`));
    const lines = readTrialLines(study);
    expect(lines.map((l) => l.id).sort()).toEqual([0, 1, 2, 3]);
    expect(lines.every((l) => l.status === "complete" && l.values.length === 25)).toBe(true);
    expect(lines.some((l) => l.worker.endsWith(`:${victim}`))).toBe(false);
  }, 90_000);
});

describe("the coordinator killed and resumed", () => {
  it("--resume finishes the study without running its finished trials again", async () => {
    writeConfig(dir, "resume.json", spec(csv, 6, 12));
    const study = join(dir, "resume");
    const proc = spawnCli(["search", "--config", "resume.json", "--out", "resume", "--no-progress"], dir);
    const w = watch(proc);
    await until("two finished trials", () => readTrialLines(study).length >= 2);
    proc.kill("SIGKILL");
    await w.exited;
    const before = readTrialLines(study);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThan(6);
    const finishedAt = before.map((l) => statSync(join(l.run!, "summary.json")).mtimeMs);

    const r = await runCli(["search", "--resume", "resume", "--no-progress"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`resuming study .*: ${before.length} of 6 trials finished`));
    const after = readTrialLines(study);
    expect(after.map((l) => l.id).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // the lines written before the kill are still the first ones, and their runs were not touched
    expect(after.slice(0, before.length)).toEqual(before);
    expect(before.map((l) => statSync(join(l.run!, "summary.json")).mtimeMs)).toEqual(finishedAt);
    for (const l of before) expect(r.stdout).not.toMatch(new RegExp(`^trial ${l.id} `, "m"));
    expect(existsSync(join(study, "best.json"))).toBe(true);
    expect(existsSync(join(study, "report.html"))).toBe(true);
  }, 90_000);
});

const redisOk = requireRedisOrSkip("Redis worker tests");

describe.skipIf(!redisOk)("trials on a Redis queue", () => {
  let redis: RedisServer;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis("pa55word");
  }, 30_000);

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await redis?.stop();
  }, 30_000);

  it("two workers, one killed with SIGKILL mid-trial: every trial is recorded exactly once", async () => {
    writeConfig(dir, "redis.json", spec(csv, 6, 30));
    const worker = () => {
      const p = spawnCli(["worker", "--redis", redis.url, "--out", "worker-runs", "--stalled-ms", "1500"], dir);
      procs.push(p);
      return { proc: p, ...watch(p) };
    };
    const a = worker();
    const b = worker();
    await until("both workers ready", () => a.text().includes("waiting for trials") && b.text().includes("waiting for trials"), 30_000);
    expect(a.text()).toContain("redis://:***@127.0.0.1");
    expect(a.text()).not.toContain("pa55word");
    const coordinator = spawnCli(["search", "--config", "redis.json", "--out", "redis-study", "--redis", redis.url, "--parallel", "2", "--no-progress"], dir);
    procs.push(coordinator);
    const c = watch(coordinator);
    await until("worker A to start a trial", () => /trial \d+ of study \S+ started/.test(a.text()));
    const killedTrial = Number(/trial (\d+) of study \S+ started/.exec(a.text())![1]);
    a.proc.kill("SIGKILL");
    const aPid = a.proc.pid;
    const code = await c.exited;
    expect(c.text()).not.toMatch(/error/i);
    expect(code).toBe(0);
    const lines = readTrialLines(join(dir, "redis-study"));
    expect(lines.map((l) => l.id).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lines.every((l) => l.status === "complete" && l.values.length === 30)).toBe(true);
    const killed = lines.find((l) => l.id === killedTrial)!;
    expect(killed.worker).toBe(`${killed.worker.split(":")[0]}:${b.proc.pid}`);
    expect(killed.worker).not.toContain(`:${aPid}`);
    expect(b.text()).toMatch(new RegExp(`trial ${killedTrial} of study \\S+ started`));
    b.proc.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  }, 120_000);

  it("a coordinator killed with SIGKILL resumes: jobs finished meanwhile are collected, none runs twice", async () => {
    writeConfig(dir, "redis-resume.json", spec(csv, 5, 12));
    const study = join(dir, "redis-resume");
    const worker = spawnCli(["worker", "--redis", redis.url, "--out", "worker-runs-2", "--stalled-ms", "1500"], dir);
    procs.push(worker);
    const w = watch(worker);
    await until("the worker", () => w.text().includes("waiting for trials"), 30_000);
    const coordinator = spawnCli(["search", "--config", "redis-resume.json", "--out", "redis-resume", "--redis", redis.url, "--parallel", "5", "--no-progress"], dir);
    procs.push(coordinator);
    const c = watch(coordinator);
    await until("a recorded trial", () => readTrialLines(study).length >= 1);
    coordinator.kill("SIGKILL");
    await c.exited;
    const before = readTrialLines(study);
    // the worker goes on with the queued trials while no coordinator waits for them
    await until("another trial finished by the worker", () => (w.text().match(/: trial \d+ complete/g) ?? []).length > before.length);
    const r = await runCli(["search", "--resume", "redis-resume", "--redis", redis.url, "--no-progress"], dir);
    expect(r.code).toBe(0);
    const after = readTrialLines(study);
    expect(after.map((l) => l.id).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(after.slice(0, before.length)).toEqual(before);
    // each trial ran once on the worker
    for (let id = 0; id < 5; id++) expect((w.text().match(new RegExp(`: trial ${id} of study \\S+ started`, "g")) ?? []).length, `trial ${id}`).toBe(1);
    worker.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 120_000);

  it("a wrong password is an error naming the URL, with the password hidden", async () => {
    const r = await runCli(["search", "--config", "redis.json", "--out", "wrongpass", "--redis", `redis://:nope@127.0.0.1:${redis.port}`], dir, 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^error: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: WRONGPASS`));
    expect(existsSync(join(dir, "wrongpass"))).toBe(false);
  }, 30_000);
});

describe("an unreachable Redis", () => {
  it("is a one-line error naming the URL within seconds, and makes no study folder", async () => {
    writeConfig(dir, "unreachable.json", spec(csv, 2, 1));
    const port = await freePort();
    const started = Date.now();
    const r = await runCli(["search", "--config", "unreachable.json", "--out", "nothing", "--redis", `redis://127.0.0.1:${port}`], dir, 30_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(existsSync(join(dir, "nothing"))).toBe(false);
    const w = await runCli(["worker", "--redis", `redis://127.0.0.1:${port}`], dir, 30_000);
    expect(w.code).toBe(1);
    expect(w.stderr.trim()).toMatch(/^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  }, 60_000);
});
