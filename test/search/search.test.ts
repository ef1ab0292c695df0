/**
 * search() over objective functions (the library API) and over a small train config, in this
 * process: pruning stops the bad trials of a synthetic objective for the same best result and less
 * compute; coarse-to-fine shrinks its box around the best trials; a trial that throws is recorded
 * as failed and the study goes on; TPE beats random sampling on the same budget; a resumed study
 * does not run its finished trials again; best.json is a config `descent train` takes.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { search, type Objective } from "../../src/search/index.js";
import { readRounds } from "../../src/search/study.js";
import { loadConfigFile } from "../../src/train/config.js";
import { blobConfig, writeBlobs } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "descent-search-"));
let n = 0;
const out = () => join(root, `study-${n++}`);
const quiet = { log: () => {}, progress: false, report: false };

/** A trial's final quality: best at x = 0.7 (x in [0, 1]). */
const quality = (x: number) => 1 - (x - 0.7) ** 2;

/** Learns towards its quality over 9 epochs, reporting after each, stopping when pruned. */
function curveObjective(epochsRun: number[]): Objective {
  return (params, trial) => {
    const q = quality(params.x as number);
    let v = 0;
    for (let e = 1; e <= 9; e++) {
      v = q * (1 - 0.6 ** e);
      epochsRun[trial.id] = e;
      if (trial.report(v)) return v;
    }
    return v;
  };
}

describe("pruning", () => {
  it("ASHA stops the bad trials of a synthetic objective early, for the same best and less compute", async () => {
    const space = { x: { type: "uniform", low: 0, high: 1 } };
    const full: number[] = [];
    const pruned: number[] = [];
    const a = await search({ space, trials: 27, epochs: 9, seed: 4, metric: "score", direction: "maximize" }, { ...quiet, out: out(), objective: curveObjective(full) });
    const b = await search({ space, trials: 27, epochs: 9, seed: 4, metric: "score", direction: "maximize", pruner: { type: "asha", minEpochs: 1, reductionFactor: 3 } }, { ...quiet, out: out(), objective: curveObjective(pruned) });
    expect(a.trials.every((t) => t.status === "complete")).toBe(true);
    const stopped = b.trials.filter((t) => t.status === "pruned");
    expect(stopped.length).toBeGreaterThan(5);
    // the same trials (random draws depend on seed and id only), the same best
    expect(b.best?.id).toBe(a.best?.id);
    expect(b.best?.value).toBe(a.best?.value);
    // a pruned trial ends at a rung (1 or 3) and is worse than the best
    for (const t of stopped) {
      expect([1, 3]).toContain(t.values.length);
      expect(quality(t.params.x as number)).toBeLessThan(quality(b.best!.params.x as number));
    }
    const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);
    expect(sum(full)).toBe(27 * 9);
    expect(sum(pruned)).toBeLessThan(0.7 * sum(full));
  });

  it("the median rule stops trials below the median of the others at the same epoch", async () => {
    const epochs: number[] = [];
    const s = await search({ space: { x: { type: "uniform", low: 0, high: 1 } }, trials: 12, epochs: 9, seed: 2, metric: "score", direction: "maximize", pruner: { type: "median", warmupEpochs: 2, minTrials: 3 } }, { ...quiet, out: out(), objective: curveObjective(epochs) });
    const stopped = s.trials.filter((t) => t.status === "pruned");
    expect(stopped.length).toBeGreaterThan(0);
    for (const t of stopped) expect(t.values.length).toBeGreaterThanOrEqual(2);
  });
});

describe("strategies", () => {
  /** A bowl in the unit square of (log10 lr in [-4, 0], u in [0, 1]), best at lr = 1e-2, u = 0.25. */
  const bowl: Objective = (p) => -((Math.log10(p.lr as number) + 2) ** 2) / 4 - ((p.u as number) - 0.25) ** 2;
  const space = { lr: { type: "log", low: 1e-4, high: 1 }, u: { type: "uniform", low: 0, high: 1 } };

  it("coarse-to-fine samples the whole box, then boxes that shrink around the best trials", async () => {
    const dir = out();
    const s = await search({ space, strategy: "coarseToFine", trials: 30, seed: 3, metric: "score", direction: "maximize", coarseToFine: { rounds: 3, keep: 0.2, margin: 0.1 } }, { ...quiet, out: dir, objective: bowl });
    const rounds = readRounds(dir);
    expect(rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(rounds[0]!.box).toEqual({ lr: [0, 1], u: [0, 1] });
    const area = (b: Record<string, [number, number]>) => Object.values(b).reduce((a, [lo, hi]) => a * (hi - lo), 1);
    for (let r = 1; r < 3; r++) {
      const box = rounds[r]!.box, prev = rounds[r - 1]!.box;
      expect(area(box)).toBeLessThan(area(prev));
      for (const k of ["lr", "u"]) {
        expect(box[k]![0]).toBeGreaterThanOrEqual(prev[k]![0]);
        expect(box[k]![1]).toBeLessThanOrEqual(prev[k]![1]);
      }
      // the box holds the best trial of the rounds before it, and every trial of its round lies inside it
      const earlier = s.trials.filter((t) => t.round < r).sort((a, b) => b.value! - a.value!)[0]!;
      const lrU = (Math.log10(earlier.params.lr as number) + 4) / 4;
      expect(lrU).toBeGreaterThanOrEqual(box.lr![0]);
      expect(lrU).toBeLessThanOrEqual(box.lr![1]);
      for (const t of s.trials.filter((t) => t.round === r)) {
        expect(t.params.u as number).toBeGreaterThanOrEqual(box.u![0] - 1e-12);
        expect(t.params.u as number).toBeLessThanOrEqual(box.u![1] + 1e-12);
      }
    }
    expect(rounds[2]!.values.lr![0]).toBeGreaterThan(1e-4);
    const bestOf = (r: number) => Math.max(...s.trials.filter((t) => t.round === r).map((t) => t.value!));
    expect(bestOf(2)).toBeGreaterThan(bestOf(0));
  });

  it("TPE finds better points than random sampling on the same budget (mean over seeds)", async () => {
    const regret = async (strategy: string) => {
      let total = 0;
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const s = await search({ space, strategy, trials: 30, seed, metric: "score", direction: "maximize", tpe: { startupTrials: 8 } }, { ...quiet, out: out(), objective: bowl });
        total += -s.best!.value!;
      }
      return total / 6;
    };
    const tpe = await regret("tpe");
    const random = await regret("random");
    expect(tpe).toBeLessThan(random);
  });
});

describe("a study", () => {
  it("records a trial that throws as failed, with its message, and goes on", async () => {
    const s = await search({ space: { x: { type: "uniform", low: 0, high: 1 } }, trials: 10, seed: 1, metric: "score" }, {
      ...quiet, out: out(),
      objective: (p) => {
        if ((p.x as number) > 0.5) throw new Error(`diverged at x=${(p.x as number).toFixed(2)}`);
        return p.x as number;
      },
    });
    expect(s.trials).toHaveLength(10);
    const failed = s.trials.filter((t) => t.status === "failed");
    expect(failed.length).toBeGreaterThan(0);
    for (const t of failed) expect(t.error).toMatch(/^diverged at x=0\.\d\d$/);
    expect(s.best?.status).toBe("complete");
    // minimize by default for a metric that is not an accuracy
    expect(s.best!.value).toBe(Math.min(...s.trials.filter((t) => t.status === "complete").map((t) => t.value!)));
  });

  it("resumes a stopped study without running its finished trials again", async () => {
    const dir = out();
    const calls: number[] = [];
    const controller = new AbortController();
    const objective: Objective = (p, trial) => {
      calls.push(trial.id);
      if (calls.length === 4) controller.abort();
      return p.x as number;
    };
    const spec = { space: { x: { type: "uniform", low: 0, high: 1 } }, trials: 9, seed: 5, metric: "score" };
    const first = await search(spec, { ...quiet, out: dir, objective, signal: controller.signal });
    expect(first.interrupted).toBe(true);
    expect(first.trials).toHaveLength(4);
    const second = await search(undefined, { ...quiet, resume: dir, objective });
    expect(second.trials).toHaveLength(9);
    expect(calls).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const lines = readFileSync(join(dir, "trials.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: number });
    expect(lines.map((l) => l.id).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // the same study as an uninterrupted one
    const whole = await search(spec, { ...quiet, out: out(), objective: (p) => p.x as number });
    expect(second.trials.map((t) => t.params)).toEqual(whole.trials.map((t) => t.params));
  });

  it("trains a train config per trial and writes best.json, which loads as a train config", async () => {
    const dir = out();
    const csv = writeBlobs(root, 400);
    const s = await search({
      base: blobConfig(csv, 3),
      space: { "optimizer.lr": { type: "log", low: 1e-3, high: 1e-1 }, "model.layers[2].outFeatures": { type: "choice", values: [5, 3] } },
      strategy: "grid", gridPoints: 2, metric: "devAccuracy",
    }, { ...quiet, out: dir, report: true });
    expect(s.trials).toHaveLength(4);
    // 5 outputs for 3 classes is a valid config that does not fit the data: those trials fail with
    // the reason, the others complete
    const failed = s.trials.filter((t) => t.status === "failed");
    expect(failed.map((t) => t.params["model.layers[2].outFeatures"])).toEqual([5, 5]);
    for (const t of failed) expect(t.error).toMatch(/the last layer gives \[5\] per sample; the data needs \[3\]/);
    const done = s.trials.filter((t) => t.status === "complete");
    for (const t of done) {
      expect(t.values).toHaveLength(3);
      expect(t.run).toMatch(/trials[\\/]trial-000\d$/);
    }
    const best = loadConfigFile(join(dir, "best.json"));
    expect(best.optimizer.lr).toBeCloseTo(s.best!.params["optimizer.lr"] as number, 12);
    expect(best.epochs).toBe(3);
    expect(readFileSync(join(dir, "report.html"), "utf8")).toContain("hyperparameter search");
  }, 60_000);

  it("records a trial whose loss becomes non-finite as failed, with the training's message", async () => {
    const csv = writeBlobs(root, 400);
    const s = await search({
      base: { ...blobConfig(csv, 2), optimizer: { name: "sgd", lr: 0.01 } },
      space: { "optimizer.lr": { type: "choice", values: [0.05, 1e12] } },
      strategy: "grid", metric: "devLoss",
    }, { ...quiet, out: out() });
    expect(s.trials.map((t) => t.status)).toEqual(["complete", "failed"]);
    expect(s.trials[1]!.error).toMatch(/^the loss became (NaN|Infinity|-Infinity) at step \d+/);
    expect(s.best?.id).toBe(0);
  }, 60_000);
});
