/**
 * metrics.jsonl across a crash: a run killed after its last checkpoint has logged steps (and maybe
 * half a line) that the resumed run takes again. Resuming cuts the log back to what it held at the
 * checkpoint, so every step and epoch is logged once and the file reads as the uninterrupted
 * run's, wall-clock fields aside. A checkpoint from before the log kept its state resumes as
 * before (appending). And one process at a time trains in a run folder: a live lock is refused
 * with a message naming the process, a stale one (its process gone) is taken over and released.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runExperiment } from "../../src/train/experiment.js";
import { resolveConfig } from "../../src/train/config.js";
import { MetricsLog } from "../../src/train/callbacks.js";
import { tempDir } from "./helpers.js";

interface Rec { type: string; step: number; epoch: number; seconds?: number; samplesPerSecond?: number }
const records = (dir: string): Rec[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Rec);
const timeless = (recs: Rec[]) => recs.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);

describe("metrics.jsonl on resume", () => {
  const root = tempDir("resume-metrics");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const quiet = { progress: false, log: () => {}, report: false };

  it("is cut back to the checkpoint, so a crashed and resumed run logs each step once", async () => {
    const config = resolveConfig({
      data: { source: "mnist" }, split: { train: 300, dev: 60, test: 60 },
      model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 8 }, { type: "relu" }, { type: "linear", outFeatures: 10 }] },
      optimizer: { name: "adam", lr: 1e-3 }, epochs: 3, batchSize: 32, earlyStopping: false,
    });
    const dir = join(root, "run");
    await runExperiment(config, { outDir: dir, ...quiet });
    const straight = records(dir);
    expect(straight.filter((r) => r.type === "epoch").map((r) => r.epoch)).toEqual([0, 1, 2]);

    // as if killed during epoch 3 after writing half a line: only epoch-1.ckpt and epoch-2.ckpt
    // were kept, the log already holds all of it
    const crashed = join(root, "crashed");
    cpSync(dir, crashed, { recursive: true });
    for (const f of ["model.json", "model.safetensors", "summary.json", "report.html", "checkpoints/epoch-3.ckpt", "checkpoints/best.ckpt"]) {
      if (existsSync(join(crashed, f))) unlinkSync(join(crashed, f));
    }
    appendFileSync(join(crashed, "metrics.jsonl"), '{"type":"step","epo');
    await runExperiment(undefined, { resumeDir: crashed, ...quiet });
    const resumed = records(crashed);
    const steps = resumed.filter((r) => r.type === "step").map((r) => r.step);
    expect(new Set(steps).size).toBe(steps.length);
    expect(timeless(resumed)).toEqual(timeless(straight));
  });

  it("keeps the lines of a checkpoint and refuses a damaged state", () => {
    const path = join(root, "log.jsonl");
    const log = new MetricsLog(path);
    log.write({ type: "event", step: 0 });
    log.write({ type: "event", step: 1 });
    const state = log.stateDict();
    log.write({ type: "event", step: 2 });
    const again = new MetricsLog(path);
    again.loadStateDict(state);
    expect(readFileSync(path, "utf8")).toBe('{"type":"event","step":0}\n{"type":"event","step":1}\n');
    again.write({ type: "event", step: 2 });
    expect(again.stateDict()).toEqual({ lines: 3 });
    expect(() => again.loadStateDict({ lines: -1 })).toThrow(/metricsLog\.loadStateDict: lines/);
  });
});

describe("one process at a time in a run folder", () => {
  const root = tempDir("run-lock");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const quiet = { progress: false, log: () => {}, report: false };
  const config = () => resolveConfig({
    data: { source: "mnist" }, split: { train: 100, dev: 40, test: 40 },
    model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 10 }] },
    optimizer: { name: "sgd", lr: 0.1 }, epochs: 1, batchSize: 50, earlyStopping: false,
  });
  const lock = (dir: string, pid: number) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".descent.lock"), JSON.stringify({ pid, host: hostname(), started: new Date().toISOString() }));
  };

  it("refuses a run folder a live process trains in, naming the process", async () => {
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const dir = join(root, "busy");
      lock(dir, live.pid!);
      await expect(runExperiment(config(), { outDir: dir, ...quiet })).rejects.toThrow(`--out ${dir}: a run is training there now (process ${live.pid})`);
      expect(readdirSync(dir)).toEqual([".descent.lock"]);
    } finally {
      live.kill("SIGKILL");
    }
  });

  it("takes over the lock of a process that is gone (a kill -9) and lets go of it at the end", async () => {
    const gone = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8", timeout: 60_000 });
    const dir = join(root, "stale");
    lock(dir, Number(gone.stdout.trim()));
    const result = await runExperiment(config(), { outDir: dir, ...quiet });
    expect(result.interrupted).toBe(false);
    expect(existsSync(join(dir, "model.json"))).toBe(true);
    expect(existsSync(join(dir, ".descent.lock"))).toBe(false);
  });
});
