/**
 * The findings engine on hand-made evidence: each rule fires on its pattern at any scale of the
 * loss and the weights, and stays quiet on a healthy run's numbers.
 */
import { describe, expect, it } from "vitest";
import { findingsOf, lossProgress, type RunEvidence, type StepPoint } from "../../src/diagnose/findings.js";
import { DIAGNOSIS_CODES, DIAGNOSIS_CODE_NAMES } from "../../src/diagnose/codes.js";
import type { TrainingRecord } from "../../src/train/records.js";

const steps = (losses: number[], grad = 1): StepPoint[] => losses.map((loss, step) => ({ step, loss, gradNorm: grad }));
const decaying = (n: number, from = 2, to = 0.05) => Array.from({ length: n }, (_, i) => from * (to / from) ** (i / (n - 1)));

function record(step: number, params: Record<string, [number, number, number]>, activations: TrainingRecord["activations"] = {}): TrainingRecord {
  return {
    type: "record", epoch: 0, step,
    params: Object.fromEntries(Object.entries(params).map(([n, [grad, weight, update]]) => [n, { grad, weight, update, ratio: update / weight }])),
    activations,
  };
}

const layers = [{ index: 0, type: "Linear", weight: "0.weight" }, { index: 1, type: "ReLU" }, { index: 2, type: "Linear", weight: "2.weight" }];

function evidence(over: Partial<RunEvidence> = {}): RunEvidence {
  const records = [0, 50, 100, 150].map((s) => record(s, { "0.weight": [0.5, 5, 5e-3], "2.weight": [0.8, 2, 2e-3] }, { "1": { type: "ReLU", inactive: 0.5, dead: 0.02 } }));
  return {
    steps: steps(decaying(200)), records, nonFinite: null, layers, classification: true,
    errors: { train: 0.01, dev: 0.02, test: 0.021 }, counts: { train: 5000, dev: 1000, test: 1000 }, ...over,
  };
}

const codes = (ev: RunEvidence) => findingsOf(ev).findings.map((f) => f.code);

describe("findingsOf", () => {
  it("a healthy run: only 'healthy'", () => {
    expect(findingsOf(evidence()).findings).toEqual([{ code: "healthy", severity: "info", evidence: {}, remedies: [] }]);
  });

  it("every code has a title; every code but healthy has remedies", () => {
    for (const c of DIAGNOSIS_CODE_NAMES) {
      expect(DIAGNOSIS_CODES[c].title.length).toBeGreaterThan(0);
      if (c !== "healthy") expect(DIAGNOSIS_CODES[c].remedies.length).toBeGreaterThan(0);
    }
  });

  it("bias, variance, mismatch and overfitting to dev, with the largest gap named first", () => {
    const f = findingsOf(evidence({ errors: { train: 0.15, dev: 0.16, target: 0.01 } })).findings;
    expect(f[0]!.code).toBe("high-bias");
    expect(f[0]!.evidence).toMatchObject({ gap: expect.closeTo(0.14, 10), train: 0.15, target: 0.01, largestGap: true });
    expect(f[0]!.remedies[0]).toMatch(/bigger network/);
    expect(codes(evidence({ errors: { train: 0.01, dev: 0.11 } }))).toEqual(["high-variance"]);
    const both = findingsOf(evidence({ errors: { train: 0.15, dev: 0.35 } })).findings;
    expect(both.map((x) => x.code)).toEqual(["high-variance", "high-bias"]);
    const mismatch = evidence({ errors: { train: 0.01, trainDev: 0.015, dev: 0.1 }, counts: { train: 5000, trainDev: 1000, dev: 1000 } });
    expect(codes(mismatch)).toEqual(["data-mismatch"]);
    expect(codes(evidence({ errors: { train: 0.01, dev: 0.015, test: 0.1 } }))).toEqual(["overfit-dev"]);
    // the target error moves the bias verdict: 8% training error against a 7.5% human level is fine
    expect(codes(evidence({ errors: { train: 0.08, dev: 0.085, target: 0.075 } }))).toEqual(["healthy"]);
  });

  it("a gap within two standard errors of a small dev set is not a verdict", () => {
    // 3 points on 50 dev samples: the standard error of the difference is ~2.7 points
    expect(codes(evidence({ errors: { train: 0.01, dev: 0.04 }, counts: { train: 5000, dev: 50 } }))).toEqual(["healthy"]);
    expect(codes(evidence({ errors: { train: 0.01, dev: 0.04 }, counts: { train: 5000, dev: 5000 } }))).toEqual(["high-variance"]);
  });

  it("learning rate too high: a loss that rises, spikes, oscillates or overflows, at any loss scale", () => {
    for (const scale of [1e-3, 1, 1e4]) {
      expect(codes(evidence({ steps: steps(decaying(200).reverse().map((v) => v * scale)) }))).toContain("lr-too-high");
      const spike = decaying(200).map((v, i) => (i === 20 ? 50 * v : v) * scale);
      expect(codes(evidence({ steps: steps(spike) }))).toContain("lr-too-high");
      const osc = Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.2 : 2.2) * scale);
      expect(codes(evidence({ steps: steps(osc) }))).toContain("lr-too-high");
    }
    const diverged = evidence({ steps: steps([1, 2, 5, 30, 400]), nonFinite: "the loss became NaN at step 5" });
    expect(codes(diverged).slice(0, 2)).toEqual(["non-finite", "lr-too-high"]);
    // non-finite from the first step: the data, not the step size
    expect(codes(evidence({ steps: [], nonFinite: "the loss became NaN at step 0" }))).toEqual(["non-finite"]);
  });

  it("learning rate too low: a flat loss, a gradient that is not small, and tiny update ratios", () => {
    const flat = steps(Array.from({ length: 200 }, (_, i) => 2.3 - i * 1e-5));
    const tiny = [0, 50, 100, 150].map((s) => record(s, { "0.weight": [0.5, 5, 5e-7], "2.weight": [0.8, 2, 2e-7] }));
    expect(codes(evidence({ steps: flat, records: tiny, errors: { train: 0.9, dev: 0.9 } }))).toContain("lr-too-low");
    // the same flat loss with ordinary update ratios is not a learning-rate problem
    expect(codes(evidence({ steps: flat, errors: { train: 0.9, dev: 0.9 } }))).not.toContain("lr-too-low");
  });

  it("plateau: a flat loss with a small gradient, short of a good fit", () => {
    const flat = steps(Array.from({ length: 200 }, () => 1));
    const still = [0, 50, 100, 150].map((s) => record(s, { "0.weight": [1e-9, 5, 0], "2.weight": [1e-9, 2, 0] }));
    const r = findingsOf(evidence({ steps: flat, records: still, errors: { train: 0.5, dev: 0.5 } }));
    expect(r.plateau).toBe(true);
    expect(r.findings.map((f) => f.code)).toContain("plateau");
    // converged (train error at the target) is not a plateau
    expect(findingsOf(evidence({ steps: flat, records: still, errors: { train: 0.001, dev: 0.002 } })).plateau).toBe(false);
  });

  it("vanishing and exploding gradients toward the input, naming the layer", () => {
    const vanish = [0, 50, 100, 150].map((s) => record(s, { "0.weight": [1e-6, 5, 1e-9], "2.weight": [0.8, 2, 2e-3] }));
    const v = findingsOf(evidence({ records: vanish })).findings.find((f) => f.code === "vanishing-gradients");
    expect(v).toMatchObject({ severity: "problem", layer: { index: 0, type: "Linear" } });
    const explode = [0, 50, 100, 150].map((s) => record(s, { "0.weight": [1e3, 5, 1e-3], "2.weight": [0.8, 2, 2e-3] }));
    expect(findingsOf(evidence({ records: explode })).findings.find((f) => f.code === "exploding-gradients")?.layer?.index).toBe(0);
    // growth over time of the logged gradient norm
    const growing = steps(decaying(200)).map((s, i) => ({ ...s, gradNorm: 10 ** (i / 40) }));
    expect(codes(evidence({ steps: growing }))).toContain("exploding-gradients");
  });

  it("dead ReLUs and saturated units from the last record, by layer", () => {
    const recs = [record(0, { "0.weight": [0.5, 5, 5e-3], "2.weight": [0.8, 2, 2e-3] }, { "1": { type: "ReLU", inactive: 0.9, dead: 0.6 } })];
    expect(findingsOf(evidence({ records: recs })).findings.find((f) => f.code === "dead-relu")).toMatchObject({ severity: "problem", layer: { index: 1, type: "ReLU" } });
    const warn = [record(0, {}, { "1": { type: "ReLU", inactive: 0.7, dead: 0.3 } })];
    expect(findingsOf(evidence({ records: warn })).findings.find((f) => f.code === "dead-relu")?.severity).toBe("warning");
    // a leaky ReLU never active still passes gradient: not dead
    expect(codes(evidence({ records: [record(0, {}, { "1": { type: "LeakyReLU", inactive: 1, dead: 1 } })] }))).not.toContain("dead-relu");
    expect(codes(evidence({ records: [record(0, {}, { "1": { type: "Tanh", saturated: 0.3 } })] }))).toEqual(["healthy"]);
    const sat = [record(0, {}, { "1": { type: "Sigmoid", saturated: 0.8 } })];
    expect(findingsOf(evidence({ records: sat })).findings.find((f) => f.code === "saturated-units")).toMatchObject({ severity: "problem", layer: { index: 1, type: "Sigmoid" } });
  });

  it("symmetric weights: identical units in a hidden layer, whatever their common value", () => {
    for (const value of [0, 0.1, -3]) {
      const weights = { "0.weight": { shape: [4, 3], values: new Array(12).fill(value) }, "2.weight": { shape: [2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8] } };
      expect(findingsOf(evidence({ weights })).findings.find((f) => f.code === "symmetric-weights")?.layer).toEqual({ index: 0, type: "Linear" });
    }
    const distinct = { "0.weight": { shape: [2, 2], values: [1, 2, 1, 2.001] }, "2.weight": { shape: [1, 2], values: [1, 1] } };
    expect(codes(evidence({ weights: distinct }))).not.toContain("symmetric-weights");
  });

  it("unnormalized inputs: feature ranges two orders of magnitude apart", () => {
    expect(codes(evidence({ featureRanges: Float64Array.from([1, 1000, 0.5, 2, 1]) }))).toContain("unnormalized-inputs");
    expect(codes(evidence({ featureRanges: Float64Array.from([1, 0.9, 0.5, 0, 1]) }))).toEqual(["healthy"]);
  });

  it("lossProgress measures relative drops", () => {
    const p = lossProgress(steps(decaying(100, 10, 1)))!;
    expect(p.first).toBeGreaterThan(p.last);
    expect(p.drop).toBeGreaterThan(0.8);
    expect(lossProgress(steps([1]))).toBeNull();
  });
});
