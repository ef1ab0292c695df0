/**
 * fit on a backend without synchronous reads (the cpu kernels behind an interface without
 * readSync, as a GPU backend offers): one epoch with gradient clipping trains, and every value
 * it reports (loss, accuracy, gradient norm) was read with `await`. Any synchronous read in the
 * loop would throw, naming the backend.
 */
import { describe, expect, it } from "vitest";
import {
  buildSequential, createDataset, createOptimizer, crossEntropy, fit, Generator, withBackend, type StepLog,
} from "../../src/index.js";
import { hostTensor } from "../../src/data/dataset.js";
import type { TrainableModel } from "../../src/train/fit.js";
import { asyncCpu } from "../core/helpers.js";

describe("fit without synchronous reads", () => {
  it("trains one epoch with clipping on a backend that has no readSync", async () => {
    const slow = asyncCpu();
    const rng = new Generator(2);
    const n = 96, features = 6, classes = 3;
    const x = Float32Array.from({ length: n * features }, (_, i) => rng.normal() + (i % features === Math.floor(i / features) % classes ? 2 : 0));
    const y = Int32Array.from({ length: n }, (_, i) => i % classes);
    const train = createDataset(hostTensor(x, [n, features], slow), hostTensor(y, [n], slow), { numClasses: classes });
    const model = withBackend(slow, () =>
      buildSequential([{ type: "linear", outFeatures: 8 }, { type: "relu" }, { type: "linear", outFeatures: classes }], { inputShape: [features], rng: new Generator(1) }));
    const before = await Promise.all([...model.namedParameters()].map(async ([, p]) => Array.from(await p.data())));
    const optimizer = createOptimizer("adam", model, { lr: 1e-2 });
    const steps: StepLog[] = [];
    const history = await fit(model as TrainableModel, {
      train, loss: (o, t) => crossEntropy(o, t), optimizer, epochs: 1, batchSize: 16, seed: 1, log: () => {}, clipGradNorm: 0.5,
      callbacks: [{ name: "steps", onBatchEnd: (_ctx, log) => void steps.push(log) }],
    });
    expect(steps).toHaveLength(6);
    for (const s of steps) {
      expect(Number.isFinite(s.loss)).toBe(true);
      expect(s.gradNorm).toBeGreaterThan(0);
    }
    for (const [, p] of model.namedParameters()) expect(p.backend).toBe(slow);
    const after = await Promise.all([...model.namedParameters()].map(async ([, p]) => Array.from(await p.data())));
    expect(after).not.toEqual(before);
    expect(history.epochs).toHaveLength(1);
    expect(history.epochs[0]!.trainAccuracy).toBeGreaterThanOrEqual(0);
  });
});
