/**
 * The search spec: the example works as written, defaults are filled, and bad input is a
 * one-line error naming the field (unknown path, a log range with 0 or a negative, low > high, an
 * empty choice, a budget of 0, ...).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSearchSpec, resolveSearchSpec, trialConfig } from "../../src/search/spec.js";
import { blobConfig, writeBlobs } from "./helpers.js";

const csv = writeBlobs(mkdtempSync(join(tmpdir(), "descent-spec-")), 30);
const base = blobConfig(csv);

const example = {
  base,
  space: {
    "optimizer.lr": { type: "log", low: 1e-4, high: 1e-1 },
    "optimizer.beta1": { type: "oneMinusLog", low: 0.9, high: 0.999 },
    batchSize: { type: "choice", values: [32, 64] },
  },
  strategy: "random", trials: 8, metric: "devAccuracy", direction: "maximize", seed: 1,
};

function errorOf(spec: unknown): string {
  try {
    resolveSearchSpec(spec);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("search spec", () => {
  it("reads a spec file whose base data paths are relative to the file's folder, and stores them absolute", () => {
    const dir = mkdtempSync(join(tmpdir(), "descent-spec-file-"));
    const file = join(dir, "search.json");
    writeFileSync(file, JSON.stringify({ ...example, base: { ...base, data: { source: "csv", path: "data.csv", label: "label" } } }));
    expect(loadSearchSpec(file).base?.data).toMatchObject({ path: join(dir, "data.csv") });
    writeFileSync(file, "{ \"space\": ");
    expect(() => loadSearchSpec(file)).toThrow(`search spec ${file}: not valid JSON`);
  });

  it("resolves the issue's example, and a trial's config has the values at their paths", () => {
    const spec = resolveSearchSpec(example);
    expect(spec.trials).toBe(8);
    expect(spec.pruner).toEqual({ type: "none" });
    expect(spec.base?.optimizer.name).toBe("adam");
    const config = trialConfig(spec, { "optimizer.lr": 0.003, "optimizer.beta1": 0.95, batchSize: 64 });
    expect(config.optimizer.lr).toBe(0.003);
    expect(config.optimizer.betas).toEqual([0.95, 0.999]);
    expect(config.batchSize).toBe(64);
    // the base is not changed by a trial
    expect(spec.base?.batchSize).toBe(32);
  });

  it("paths go into layers, and the spec's epochs replace the base's", () => {
    const spec = resolveSearchSpec({ base, space: { "model.layers[0].outFeatures": { type: "int", low: 4, high: 64 } }, trials: 2, epochs: 7 });
    const config = trialConfig(spec, { "model.layers[0].outFeatures": 9 });
    expect(config.epochs).toBe(7);
    expect((config.model as { layers: { outFeatures?: number }[] }).layers[0]!.outFeatures).toBe(9);
    expect(spec.direction).toBe("maximize");
    expect(resolveSearchSpec({ ...example, metric: "devLoss", direction: undefined }).direction).toBe("minimize");
  });

  it("a grid's trials are its points", () => {
    const spec = resolveSearchSpec({ base, space: { "optimizer.lr": { type: "log", low: 1e-3, high: 1e-1 }, batchSize: { type: "choice", values: [16, 32] } }, strategy: "grid", gridPoints: 3 });
    expect(spec.trials).toBe(6);
  });

  it.each([
    [{ ...example, space: { "optimizer.lrr": { type: "log", low: 1e-4, high: 1e-1 } } }, /^search spec: space\["optimizer\.lrr"\]: with optimizer\.lrr = 0\.0001 the base config is invalid \(.*unknown option "lrr"/],
    [{ ...example, space: { "model.layers[7].outFeatures": { type: "int", low: 1, high: 4 } } }, /^search spec: space\["model\.layers\[7\]\.outFeatures"\]: unknown path: the base config has no model\.layers\[7\]$/],
    [{ ...example, space: { "regularization.l3": { type: "uniform", low: 0, high: 1 } } }, /^search spec: space\["regularization\.l3"\]: .*unknown field "l3"/],
    [{ ...example, space: { "optimizer..lr": { type: "log", low: 1e-4, high: 1 } } }, /^search spec: space\["optimizer\.\.lr"\]: not a path/],
    [{ ...example, space: { "optimizer.lr": { type: "log", low: 0, high: 1e-1 } } }, /^search spec: space\["optimizer\.lr"\]\.low: expected a number > 0, got 0$/],
    [{ ...example, space: { "optimizer.lr": { type: "log", low: -1, high: 1e-1 } } }, /^search spec: space\["optimizer\.lr"\]\.low: expected a number > 0, got -1$/],
    [{ ...example, space: { "optimizer.lr": { type: "uniform", low: 0.5, high: 0.1 } } }, /^search spec: space\["optimizer\.lr"\]\.low: low 0\.5 is above high 0\.1$/],
    [{ ...example, space: { batchSize: { type: "choice", values: [] } } }, /^search spec: space\["batchSize"\]\.values: an empty choice/],
    [{ ...example, space: { batchSize: { type: "normal" } } }, /^search spec: space\["batchSize"\]\.type: "normal" is not one of uniform, log, oneMinusLog, int, choice$/],
    [{ ...example, space: {} }, /^search spec: space: empty/],
    [{ ...example, trials: 0 }, /^search spec: trials: expected a number > 0, got 0$/],
    [{ ...example, trials: undefined }, /^search spec: trials: missing/],
    [{ ...example, epochs: 0 }, /^search spec: epochs: expected a number > 0, got 0$/],
    [{ ...example, metric: "accuracy" }, /^search spec: metric: "accuracy" is not one of devLoss, devAccuracy, trainLoss, trainAccuracy$/],
    [{ ...example, strategy: "bayes" }, /^search spec: strategy: "bayes" is not one of grid, random, coarseToFine, tpe$/],
    [{ ...example, pruner: { type: "asha", reductionFactor: 1 } }, /^search spec: pruner\.reductionFactor: expected a number >= 2, got 1$/],
    [{ ...example, base: { ...base, epochs: "ten" } }, /^search spec: base: epochs: expected a number, got "ten"$/],
    [{ space: example.space, trials: 3 }, /^search spec: base: missing/],
    [{ ...example, strategy: "grid", trials: 2 }, /^search spec: trials: 2 is fewer than the grid's 18 points/],
    [{ ...example, budget: 3 }, /^search spec: \(top level\): unknown field "budget"$/],
  ])("refuses %j with a one-line error naming the field", (spec, message) => {
    const m = errorOf(spec);
    expect(m).toMatch(message);
    expect(m).not.toContain("\n");
  });
});
