/**
 * The default experiment end to end (what `descent train` runs without a config: the W2 CNN on the
 * bundled digits, 8000/1000/1000, Adam, random crops, cosine decay, early stopping) reaches at least 97% test accuracy and writes a complete run folder, whose saved
 * model reproduces the test accuracy. Takes a few minutes on 2 cores.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMnist } from "../../src/data/mnist.js";
import { split } from "../../src/data/split.js";
import { crossEntropy } from "../../src/losses/index.js";
import { runExperiment } from "../../src/train/experiment.js";
import { defaultExperiment, resolveConfig } from "../../src/train/config.js";
import { evaluate, type TrainableModel } from "../../src/train/fit.js";
import { loadSavedModel } from "../../src/train/saved-model.js";
import { tempDir } from "./helpers.js";

describe("the default experiment", () => {
  it("trains the W2 CNN to >= 97% test accuracy and writes the run folder", { timeout: 15 * 60_000 }, async () => {
    const dir = join(tempDir("accuracy"), "run");
    const lines: string[] = [];
    const started = performance.now();
    const result = await runExperiment(resolveConfig(defaultExperiment()), { outDir: dir, progress: false, log: (l) => lines.push(l) });
    const seconds = (performance.now() - started) / 1000;
    const { history } = result;
    console.log(
      `W2 CNN: test accuracy ${result.test.accuracy}, ${history.epochs.length} epochs (best ${history.finalEpoch + 1}), ` +
        `${seconds.toFixed(0)}s; ${history.stopReason ?? "ran every epoch"}`,
    );
    expect(result.interrupted).toBe(false);
    expect(result.dir).toBe(dir);
    expect(result.config.model).toBe("cnn");
    expect(result.test.accuracy!).toBeGreaterThanOrEqual(0.97);

    // the run folder
    for (const f of ["config.json", "metrics.jsonl", "checkpoints", "model.json", "model.safetensors", "summary.json", "report.html"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual(result.config);
    const records = readFileSync(join(dir, "metrics.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const steps = records.filter((r) => r.type === "step");
    const epochs = records.filter((r) => r.type === "epoch");
    expect(records.every((r) => ["step", "epoch", "event", "record"].includes(r.type))).toBe(true);
    // training records every max(10, 16 × 128 / 32) = 64 steps from step 0 (docs/run-folder.md)
    const recorded = records.filter((r) => r.type === "record").map((r) => r.step);
    expect(recorded).toEqual(Array.from({ length: Math.ceil((history.epochs.length * 250) / 64) }, (_, i) => 64 * i));
    expect(epochs).toHaveLength(history.epochs.length);
    expect(steps).toHaveLength(history.epochs.length * 250); // 8000 / 32
    expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i));
    for (const s of steps.slice(0, 3)) expect(Object.keys(s)).toEqual(expect.arrayContaining(["epoch", "step", "loss", "lr", "gradNorm"]));
    for (const e of epochs) expect(Object.keys(e)).toEqual(expect.arrayContaining(["epoch", "step", "trainLoss", "trainAccuracy", "devLoss", "devAccuracy", "lr", "seconds", "samplesPerSecond"]));
    const ckpts = readdirSync(join(dir, "checkpoints"));
    expect(ckpts).toContain("best.ckpt");
    expect(ckpts).toContain(`epoch-${history.epochs.length}.ckpt`);
    expect(ckpts.filter((f) => /^epoch-\d+\.ckpt$/.test(f)).length).toBeLessThanOrEqual(3);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    expect(summary.test.accuracy).toBe(result.test.accuracy);
    expect(summary.epochs).toBe(history.epochs.length);
    expect(summary.bestEpoch).toBe(history.finalEpoch);
    expect(summary.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(1000);
    expect(summary.misclassified.length).toBe(Math.min(64, Math.round(1000 * (1 - result.test.accuracy!))));
    expect(readFileSync(join(dir, "report.html"), "utf8")).toMatch(/^<!doctype html>/i);

    // the saved model reproduces the test accuracy on the re-created test split
    const saved = loadSavedModel(dir);
    expect(saved.inputShape).toEqual([1, 28, 28]);
    expect(saved.classes).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const { test } = split(loadMnist(), { train: 8000, dev: 1000, test: 1000, seed: result.config.seed, stratify: true });
    const ev = await evaluate(saved.model as TrainableModel, test, { loss: (o, y) => crossEntropy(o, y) });
    expect(ev.accuracy).toBe(result.test.accuracy);
    expect(ev.loss).toBeCloseTo(result.test.loss!, 6);
    expect(saved.model.training).toBe(false);
  });
});
