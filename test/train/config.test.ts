/**
 * The experiment config: resolveConfig fills every default and refuses bad configs with a message
 * that names the field and what is allowed, before any data is loaded.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors/errors.js";
import { loadConfigFile, resolveConfig } from "../../src/train/config.js";
import { OPTIMIZERS } from "../../src/optim/optimizer.js";
import { tempDir } from "./helpers.js";

/** The message resolveConfig throws for `input` (and that it is a ConfigError). */
function errorOf(input: unknown): string {
  try {
    resolveConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`resolveConfig accepted ${JSON.stringify(input)}`);
}

describe("resolveConfig", () => {
  it("fills every default", () => {
    const c = resolveConfig({});
    expect(c).toEqual({
      data: { source: "mnist" },
      standardize: false,
      model: "cnn",
      optimizer: { name: "adam", lr: 1e-3 },
      schedule: null,
      loss: null,
      regularization: { l1: 0, l2: 0, l2Form: "plain" },
      augmentation: [],
      epochs: 12,
      batchSize: 64,
      seed: 1,
      dtype: "float32",
      earlyStopping: { monitor: "devLoss", patience: 3, minDelta: 0, restoreBest: true },
      checkpoint: { everyEpochs: 1, everySteps: null, keepLast: 3 },
      clipGradNorm: null,
    });
    expect(resolveConfig(undefined)).toEqual(c);
    // the resolved config is a fixed point (config.json of a run resolves to itself)
    expect(resolveConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it("takes the per-optimizer default lr and keeps given fields", () => {
    for (const name of ["sgd", "momentum", "rmsprop", "adamw"] as const) {
      expect(resolveConfig({ optimizer: { name } }).optimizer).toEqual({ name, lr: OPTIMIZERS[name].lr });
    }
    const c = resolveConfig({
      model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 10 }] },
      optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 },
      schedule: { type: "exponential", gamma: 0.95 },
      augmentation: [{ type: "randomCrop", padding: 2 }],
      earlyStopping: { patience: 5 },
      split: { train: 0.8, dev: 0.1 },
      epochs: 3,
    });
    expect(c.optimizer).toEqual({ name: "sgd", lr: 0.1, momentum: 0.9 });
    expect(c.schedule).toEqual({ type: "exponential", gamma: 0.95 });
    expect(c.augmentation).toEqual([{ type: "randomCrop", padding: 2 }]);
    expect(c.earlyStopping).toEqual({ monitor: "devLoss", patience: 5, minDelta: 0, restoreBest: true });
    expect(c.split).toEqual({ train: 0.8, dev: 0.1, stratify: true });
    expect(c.model).toEqual({ layers: [{ type: "flatten" }, { type: "linear", outFeatures: 10 }] });
    expect(resolveConfig({ earlyStopping: false }).earlyStopping).toBe(false);
  });

  it("an unknown optimizer name lists the known ones", () => {
    const m = errorOf({ optimizer: { name: "adamx" } });
    expect(m).toContain("optimizer.name");
    expect(m).toContain('"adamx"');
    expect(m).toMatch(/sgd, momentum, nesterov, momentumEma, adagrad, rmsprop, adam, adamw/);
  });

  it("optimizer options are checked at resolve time, naming the option", () => {
    expect(errorOf({ optimizer: { name: "sgd", momentom: 0.9 } })).toMatch(/^config: optimizer: .*unknown option "momentom" \(expected one of .*momentum/);
    expect(errorOf({ optimizer: { name: "adam", betas: [0.9] } })).toMatch(/^config: optimizer: .*betas/);
  });

  it("numbers out of range name the field, the bound and the value", () => {
    expect(errorOf({ optimizer: { name: "adam", lr: -0.1 } })).toBe("config: optimizer.lr: expected a number > 0, got -0.1");
    expect(errorOf({ epochs: 0 })).toBe("config: epochs: expected a number > 0, got 0");
    expect(errorOf({ batchSize: 1.5 })).toBe("config: batchSize: expected an integer, got 1.5");
    expect(errorOf({ regularization: { l2: -1 } })).toBe("config: regularization.l2: expected a number >= 0, got -1");
    expect(errorOf({ earlyStopping: { patience: -1 } })).toMatch(/^config: earlyStopping\.patience: expected a number >= 0, got -1/);
  });

  it("a wrong type names the field, the expected type and the value", () => {
    expect(errorOf({ epochs: "ten" })).toBe('config: epochs: expected a number, got "ten"');
    expect(errorOf({ standardize: "yes" })).toBe('config: standardize: expected a boolean, got "yes"');
    expect(errorOf({ model: "resnet" })).toMatch(/^config: model: "resnet" is not one of mlp, cnn/);
  });

  it("an unknown field is named, at the top level and inside sections", () => {
    expect(errorOf({ epohcs: 3 })).toBe('config: (top level): unknown field "epohcs"');
    expect(errorOf({ split: { train: 0.8, validation: 0.1 } })).toBe('config: split: unknown field "validation"');
    expect(errorOf({ checkpoint: { keep: 2 } })).toBe('config: checkpoint: unknown field "keep"');
  });

  it("an invalid layer spec names model.layers, the layer and the field", () => {
    const m = errorOf({ model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: "ten" }] } });
    expect(m).toMatch(/model\.layers/);
    expect(m).toMatch(/layer 1 \(linear\)/);
    expect(m).toMatch(/outFeatures is "ten" \(expected an integer >= 1\)/);
    expect(errorOf({ model: { layers: [{ type: "conv2d", kernelSize: 3 }] } })).toMatch(/model\.layers: layer 0 \(conv2d\): missing required field "outChannels"/);
    expect(errorOf({ model: { layers: [{ type: "relu", slope: 1 }] } })).toMatch(/model\.layers: layer 0 \(relu\): unknown field "slope"/);
    const t = errorOf({ model: { layers: [{ type: "flatten" }, { type: "lineer", outFeatures: 10 }] } });
    expect(t).toMatch(/model\.layers\[1\]\.type: "lineer" is not one of linear, conv2d/);
    expect(errorOf({ model: { layers: [] } })).toMatch(/model\.layers/);
  });

  it("a bad augmentation spec names the entry and what is allowed", () => {
    expect(errorOf({ augmentation: [{ type: "randomCrop", padding: -2 }] })).toMatch(/^config: augmentation\[0\]: invalid padding -2 \(expected an integer >= 0\)/);
    expect(errorOf({ augmentation: [{ type: "randomFlip" }, { type: "spin" }] })).toMatch(/augmentation\[1\]: unknown augmentation type "spin" \(expected randomFlip, randomCrop, randomRotation or elastic\)/);
  });

  it("a bad schedule spec is refused at resolve time, naming the schedule field", () => {
    expect(errorOf({ schedule: { type: "spiral" } })).toMatch(/^config: schedule\.type: "spiral" is not one of constant, inverseTime, exponential/);
    expect(errorOf({ schedule: { type: "exponential", gama: 0.9 } })).toMatch(/^config: schedule: .*unknown option "gama" \(expected one of lr0, gamma, interval\)/);
    expect(errorOf({ schedule: { type: "cosine", tMax: 0 } })).toMatch(/^config: schedule: .*tMax/);
    expect(errorOf({ schedule: { type: "step", stepSize: 0 } })).toMatch(/^config: schedule: .*stepSize: 0/);
    expect(errorOf({ schedule: { type: "exponential", gamma: 0.9, interval: "batch" } })).toMatch(/^config: schedule: .*interval/);
    expect(errorOf({ schedule: { type: "warmup", warmupEpochs: 2, then: { type: "cosine", tMax: -1 } } })).toMatch(/^config: schedule: .*tMax/);
  });

  it("other sections: data source, split, dtype", () => {
    expect(errorOf({ data: { source: "s3" } })).toMatch(/^config: data\.source: "s3" is not one of mnist, idx, csv/);
    expect(errorOf({ data: { source: "csv" } })).toMatch(/^config: data\.path: missing \(expected a string\)/);
    expect(errorOf({ dtype: "float16" })).toMatch(/^config: dtype: "float16" is not one of float32, float64/);
  });
});

describe("loadConfigFile", () => {
  it("reads, validates and names the file in its errors", () => {
    const dir = tempDir("config");
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ model: "mlp", epochs: 2 }));
    expect(loadConfigFile(good).model).toBe("mlp");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ epochs: "ten" }));
    expect(() => loadConfigFile(bad)).toThrow(`config ${bad}: epochs: expected a number, got "ten"`);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ epochs: 3 ");
    expect(() => loadConfigFile(broken)).toThrow(/not valid JSON/);
    expect(() => loadConfigFile(join(dir, "missing.json"))).toThrow(/cannot read the file \(no such file\)/);
    writeFileSync(join(dir, "list.json"), "[1]");
    expect(() => loadConfigFile(join(dir, "list.json"))).toThrow(/expected a JSON object/);
  });

  it("resolves every data source's relative paths against the config file's folder", () => {
    const dir = tempDir("config-paths");
    const file = join(dir, "exp.json");
    writeFileSync(file, JSON.stringify({
      data: { source: "csv", path: "d/train.csv", label: "y" },
      devData: { source: "idx", images: "dev-images.gz", labels: "../dev-labels.gz" },
      testData: { source: "csv", path: "/abs/test.csv", label: "y" },
    }));
    const c = loadConfigFile(file);
    expect(c.data).toMatchObject({ path: join(dir, "d", "train.csv") });
    expect(c.devData).toMatchObject({ images: join(dir, "dev-images.gz"), labels: join(dir, "..", "dev-labels.gz") });
    expect(c.testData).toMatchObject({ path: "/abs/test.csv" });
  });
});

describe("loss", () => {
  it("names any of the library's losses, with its options; a bad one names the field", () => {
    expect(resolveConfig({}).loss).toBeNull();
    expect(resolveConfig({ loss: "smoothL1" }).loss).toBe("smoothL1");
    expect(resolveConfig({ loss: { type: "focal", gamma: 2, alpha: [1, 2] } }).loss).toEqual({ type: "focal", gamma: 2, alpha: [1, 2] });
    expect(errorOf({ loss: { type: "focal", gama: 2 } })).toBe('config: loss focal: unknown option "gama" (expected one of gamma, alpha)');
    expect(errorOf({ loss: { type: "huber", delta: -1 } })).toMatch(/^config: loss huber: .*delta/);
    expect(errorOf({ loss: "hinge" })).toMatch(/^config: loss: "hinge" is not one of crossEntropy, focal, .*rmse/);
  });
});
