/**
 * Training records: the recorder writes gradient, weight and update norms per parameter and the
 * activation health per activation layer every N steps, and a recorded run trains exactly as an
 * unrecorded one.
 */
import { describe, expect, it } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { buildSequential } from "../../src/nn/sequential.js";
import { crossEntropy } from "../../src/losses/index.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { fit } from "../../src/train/fit.js";
import { activationHealth, TrainingRecorder, type TrainingRecord } from "../../src/train/records.js";
import type { LayerSpec } from "../../src/nn/specs.js";
import { blobs, expectSameTensors } from "./helpers.js";

const specs: LayerSpec[] = [{ type: "linear", outFeatures: 6 }, { type: "relu" }, { type: "linear", outFeatures: 5 }, { type: "sigmoid" }, { type: "linear", outFeatures: 3 }];

async function train(record: boolean, lr = 0.1) {
  const model = buildSequential(specs, { inputShape: [8], rng: new Generator(4) });
  const data = blobs(96, { seed: 1 });
  const records: TrainingRecord[] = [];
  const callbacks = record ? [new TrainingRecorder(model, (r) => records.push(r), { every: 5, probe: data.inputs })] : [];
  await fit(model, { train: data, loss: crossEntropy, optimizer: createOptimizer("sgd", model, { lr }), epochs: 2, batchSize: 16, callbacks, log: () => {} });
  return { model, records };
}

describe("TrainingRecorder", () => {
  it("records every N steps: with plain SGD each update norm is lr times the gradient norm", async () => {
    const { records } = await train(true, 0.1);
    // 96 samples in batches of 16: 12 steps, recorded at 0, 5, 10
    expect(records.map((r) => r.step)).toEqual([0, 5, 10]);
    expect(records.map((r) => r.epoch)).toEqual([0, 0, 1]);
    for (const r of records) {
      expect(Object.keys(r.params)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
      for (const p of Object.values(r.params)) {
        expect(p.update).toBeCloseTo(0.1 * p.grad, 5);
        expect(p.weight).toBeGreaterThan(0);
        expect(p.ratio).toBeCloseTo(p.update / p.weight, 10);
      }
      expect(Object.keys(r.activations)).toEqual(["1", "3"]);
      expect(r.activations["1"]!.type).toBe("ReLU");
      expect(r.activations["3"]!.type).toBe("Sigmoid");
      expect(r.activations["1"]!.dead).toBeGreaterThanOrEqual(0);
      expect(r.activations["3"]!.saturated).toBeGreaterThanOrEqual(0);
    }
  });

  it("does not change training: a recorded run ends with the same weights bit for bit", async () => {
    const a = await train(true);
    const b = await train(false);
    expectSameTensors(a.model.stateDict(), b.model.stateDict(), "weights");
  });

  it("refuses a bad interval", () => {
    const model = buildSequential(specs, { inputShape: [8], rng: new Generator(4) });
    expect(() => new TrainingRecorder(model, () => {}, { every: 0 })).toThrow(/Invalid record every: 0/);
  });
});

describe("activationHealth", () => {
  it("ReLU: inactive outputs, and units never positive on any sample and position", async () => {
    // [N=2, C=3, 2 positions]: unit 0 always 0, unit 1 positive once, unit 2 always positive
    const out = fromValues(Float32Array.from([0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5]), [2, 3, 2]);
    const h = await activationHealth("ReLU", "relu", out);
    expect(h.dead).toBeCloseTo(1 / 3, 12);
    expect(h.inactive).toBeCloseTo(7 / 12, 12);
    expect(h.nonFinite).toBeUndefined();
  });

  it("sigmoid and tanh: outputs whose derivative is under 1% of its maximum", async () => {
    const sig = await activationHealth("Sigmoid", "sigmoid", fromValues(Float32Array.from([0.5, 0.999, 0.001, 0.9]), [2, 2]));
    expect(sig.saturated).toBe(0.5);
    const th = await activationHealth("Tanh", "tanh", fromValues(Float32Array.from([0.999, -0.999, 0.5, 0, NaN, 0.1]), [3, 2]));
    // 0.999 and -0.999 saturate (1 − y² ≈ 0.002); NaN is counted apart
    expect(th.saturated).toBeCloseTo(2 / 6, 12);
    expect(th.nonFinite).toBe(1);
  });
});
