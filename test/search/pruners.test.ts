/**
 * The pruners' decisions by hand-worked cases, the trial reporter against a shared store, and the
 * validation a worker applies to every job before it runs (data only; the config by its schema).
 */
import { describe, expect, it } from "vitest";
import { decisionEpochs, MemoryStore, shouldPrune, TrialReporter } from "../../src/search/pruners.js";
import { parseTrialJob } from "../../src/search/job.js";

const asha = { type: "asha", minEpochs: 1, reductionFactor: 3 } as const;
const median = { type: "median", warmupEpochs: 2, minTrials: 3 } as const;

describe("pruning decisions", () => {
  it("ASHA's rungs are minEpochs * eta^k before the last epoch; the median rule decides every epoch from warm-up", () => {
    expect(decisionEpochs(asha, 27)).toEqual([1, 3, 9]);
    expect(decisionEpochs({ ...asha, minEpochs: 2, reductionFactor: 2 }, 17)).toEqual([2, 4, 8, 16]);
    expect(decisionEpochs(asha, 1)).toEqual([]);
    expect(decisionEpochs(median, 5)).toEqual([2, 3, 4]);
    expect(decisionEpochs({ type: "none" }, 5)).toEqual([]);
  });

  it("ASHA keeps the best 1/eta at a rung (the best one while fewer than eta have reported)", () => {
    // alone, or with one other: only the best goes on
    expect(shouldPrune(asha, "maximize", 0.5, [])).toBe(false);
    expect(shouldPrune(asha, "maximize", 0.5, [0.6])).toBe(true);
    expect(shouldPrune(asha, "maximize", 0.7, [0.6])).toBe(false);
    // 6 values: the top 2 go on
    const others = [0.1, 0.2, 0.3, 0.4, 0.9];
    expect(shouldPrune(asha, "maximize", 0.5, others)).toBe(false);
    expect(shouldPrune(asha, "maximize", 0.35, others)).toBe(true);
    // minimizing a loss: small is good
    expect(shouldPrune(asha, "minimize", 0.15, others)).toBe(false);
    expect(shouldPrune(asha, "minimize", 0.35, others)).toBe(true);
    // a non-finite metric never goes on
    expect(shouldPrune(asha, "minimize", NaN, [])).toBe(true);
  });

  it("the median rule stops a trial worse than the others' median, once enough have reported", () => {
    expect(shouldPrune(median, "maximize", 0.1, [0.5, 0.6])).toBe(false);
    expect(shouldPrune(median, "maximize", 0.4, [0.3, 0.5, 0.6])).toBe(true);
    expect(shouldPrune(median, "maximize", 0.55, [0.3, 0.5, 0.6])).toBe(false);
    expect(shouldPrune(median, "minimize", 0.45, [0.3, 0.5, 0.6, 0.7])).toBe(false);
    expect(shouldPrune(median, "minimize", 0.6, [0.3, 0.5, 0.6, 0.7])).toBe(true);
  });

  it("a reporter decides at its rungs from the values the other trials put in the store", () => {
    const store = new MemoryStore();
    for (const [trial, v] of [[0, 0.9], [1, 0.8], [2, 0.7], [3, 0.6], [4, 0.5]] as const) store.report(trial, 1, v);
    const r = new TrialReporter(9, asha, "maximize", store, 9);
    expect(r.report(0.55)).toBe(true);
    expect(r.prunedAt).toBe(1);
    expect(store.valuesAt(1).get(9)).toBe(0.55);
    const good = new TrialReporter(10, asha, "maximize", store, 9);
    expect(good.report(0.85)).toBe(false);
    // epoch 2 is no rung: no decision however bad
    expect(good.report(0.01)).toBe(false);
    expect(good.values).toEqual([0.85, 0.01]);
  });
});

describe("trial jobs", () => {
  const job = {
    studyId: "s1", id: 3, params: { "optimizer.lr": 0.01 }, round: 0, metric: "devAccuracy", direction: "maximize", pruner: { type: "none" },
    config: { data: { source: "mnist" }, model: "mlp", optimizer: { name: "adam", lr: 0.01 }, epochs: 2 },
  };

  it("a valid job comes back with its config resolved", () => {
    const parsed = parseTrialJob(job);
    expect(parsed.config.batchSize).toBe(64);
    expect(parsed.config.optimizer.lr).toBe(0.01);
  });

  it.each([
    [{ ...job, code: "process.exit()" }, /^trial job: \(top level\): unknown field "code"$/],
    [{ ...job, id: -1 }, /^trial job: id: expected a number >= 0, got -1$/],
    [{ ...job, studyId: "../etc" }, /^trial job: studyId:/],
    [{ ...job, metric: "eval" }, /^trial job: metric: "eval" is not one of/],
    [{ ...job, config: { ...job.config, epochs: 0 } }, /^trial job s1\/3: config: epochs: expected a number > 0, got 0$/],
    [{ ...job, config: { ...job.config, script: "x => x" } }, /^trial job s1\/3: config: \(top level\): unknown field "script"$/],
  ])("refuses a job that is not plain valid data: %j", (bad, message) => {
    expect(() => parseTrialJob(bad)).toThrow(message);
  });
});
