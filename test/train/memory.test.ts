/**
 * Memory stays flat over a long run: RSS after epoch 10 is within 10% of RSS after epoch 2, in a
 * test over small data (an MLP on 1000 digits, 12 epochs, with a dev set, checkpoints and early
 * stopping watching, so every part of the loop that could hold on to memory runs).
 */
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { buildSequential } from "../../src/nn/index.js";
import { crossEntropy } from "../../src/losses/index.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { Checkpointing } from "../../src/train/callbacks.js";
import { EarlyStopping, type Callback } from "../../src/train/callback.js";
import type { TrainableModel } from "../../src/train/fit.js";
import { fit } from "../../src/train/fit-files.js";
import { smallDigits, tempDir } from "./helpers.js";

describe("memory", () => {
  it("RSS after epoch 10 is within 10% of RSS after epochs 2-3", async () => {
    const { train, dev } = smallDigits(1000, 200, 11);
    const model = buildSequential(
      [{ type: "flatten" }, { type: "linear", outFeatures: 64 }, { type: "relu" }, { type: "dropout", p: 0.2 }, { type: "linear", outFeatures: 10 }],
      { inputShape: [1, 28, 28], rng: new Generator(1) },
    );
    const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
    const rss: number[] = [];
    const gc = (globalThis as { gc?: () => void }).gc;
    const meter: Callback = {
      name: "meter",
      onEpochEnd: () => {
        gc?.();
        rss.push(process.memoryUsage().rss);
      },
    };
    await fit(model as TrainableModel, {
      train, dev, loss: (o, y) => crossEntropy(o, y), optimizer, epochs: 12, batchSize: 32, seed: 1, log: () => {},
      callbacks: [new EarlyStopping({ patience: 100 }), new Checkpointing({ dir: tempDir("memory"), keepLast: 2 }), meter],
    });
    expect(rss).toHaveLength(12);
    const mb = rss.map((r) => (r / 2 ** 20).toFixed(1));
    // epochs are 1-based here: "after epoch 2" is rss[1]
    const baseline = Math.max(rss[1]!, rss[2]!);
    expect(rss[9]!, `RSS per epoch (MiB): ${mb.join(", ")}`).toBeLessThanOrEqual(1.1 * baseline);
  });
});
