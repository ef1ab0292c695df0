/**
 * One source of truth per family (issue 9, items 15 and 16): the named optimizers are one table
 * (OPTIMIZERS) that createOptimizer, the config's validation and the CLI help read, and the default
 * learning rate of each is one value, the same for the library and the experiment config.
 */
import { describe, expect, it } from "vitest";
import { OPTIMIZERS, OPTIMIZER_NAMES, createOptimizer } from "../../src/optim/optimizer.js";
import { DEFAULT_LEARNING_RATES, adagrad, adam, adamW, momentumEma, rmsprop, sgd } from "../../src/optim/alias.js";
import { Optimizer } from "../../src/optim/optimizer.js";
import { Parameter } from "../../src/nn/parameter.js";
import { zeros } from "../../src/tensor/creation.js";
import { resolveConfig } from "../../src/train/config.js";
import { Command } from "commander";
import { registerTrain } from "../../src/cli/train.js";

const params = () => ({ w: new Parameter(zeros([2])) });

describe("optimizers: one table", () => {
  it("every named optimizer's default lr is the same in the library and in a config", () => {
    for (const name of OPTIMIZER_NAMES) {
      const library = createOptimizer(name, params()).lr;
      expect(library, name).toBe(OPTIMIZERS[name].lr);
      expect(resolveConfig({ optimizer: { name } }).optimizer.lr, name).toBe(library);
    }
  });

  it("the rules' own defaults are the table's", () => {
    const rules = { sgd, momentumEma, adagrad, rmsprop, adam, adamW } as const;
    for (const [name, rule] of Object.entries(rules)) {
      expect(new Optimizer(params(), rule()).lr, name).toBe(DEFAULT_LEARNING_RATES[name as keyof typeof rules]);
    }
  });

  it("the config and the CLI help accept exactly the table's names", () => {
    for (const name of OPTIMIZER_NAMES) expect(() => resolveConfig({ optimizer: { name } })).not.toThrow();
    expect(() => resolveConfig({ optimizer: { name: "adamax" } })).toThrow(new RegExp(`is not one of ${OPTIMIZER_NAMES.join(", ")}`));
    const program = new Command();
    registerTrain(program);
    const help = program.commands.find((c) => c.name() === "train")!.helpInformation();
    expect(help.replace(/\s+/g, " ")).toContain(OPTIMIZER_NAMES.join(", "));
  });
});

describe("the learning rate: one source", () => {
  it("a config's schedule starts from optimizer.lr and feeds the optimizer; restating it as lr0 is refused", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { runExperiment } = await import("../../src/train/experiment.js");
    const dir = mkdtempSync(join(tmpdir(), "descent-lr-"));
    try {
      const csv = join(dir, "d.csv");
      writeFileSync(csv, ["a,b,label", ...Array.from({ length: 30 }, (_, i) => `${i % 3},${(i * 7) % 5},${["x", "y", "z"][i % 3]}`)].join("\n"));
      const config = {
        data: { source: "csv", path: csv }, split: { train: 20, dev: 5, test: 5 }, model: { layers: [{ type: "linear", outFeatures: 3 }] },
        optimizer: { name: "sgd", lr: 0.2 }, schedule: { type: "cosine", tMax: 4 }, epochs: 3, batchSize: 8, earlyStopping: false,
      };
      const run = await runExperiment(resolveConfig(config), { outDir: join(dir, "run"), log: () => {}, progress: false, report: false });
      const cosine = (t: number) => (0.2 * (1 + Math.cos((Math.PI * t) / 4))) / 2;
      expect(run.history.epochs.map((e) => e.lr)).toEqual([0, 1, 2].map(cosine));
      expect(() => resolveConfig({ ...config, schedule: { type: "cosine", tMax: 4, lr0: 0.1 } })).toThrow(/schedule\.lr0: give the learning rate once, as optimizer\.lr/);
      expect(() => resolveConfig({ ...config, schedule: { type: "warmup", warmupEpochs: 1, then: { type: "cosine", tMax: 4, lr0: 0.1 } } })).toThrow(/schedule\.then\.lr0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
