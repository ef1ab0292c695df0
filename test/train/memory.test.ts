/**
 * Memory stays flat over a long run: after a garbage collection, the JS heap and RSS after epoch 12
 * are within 10% of their values after epochs 2-3, in a test over small data (an MLP on 1000 digits,
 * 12 epochs, with a dev set, checkpoints and early stopping watching, so every part of the loop that
 * could hold on to memory runs). Collecting before each measure (V8's gc, enabled here at run time)
 * keeps garbage that is merely not yet collected from reading as growth.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("memory", () => {
  it("heap and RSS after epoch 12 are within 10% of their values after epochs 2-3", async () => {
    const { train, dev } = smallDigits(1000, 200, 11);
    const model = buildSequential(
      [{ type: "flatten" }, { type: "linear", outFeatures: 64 }, { type: "relu" }, { type: "dropout", p: 0.2 }, { type: "linear", outFeatures: 10 }],
      { inputShape: [1, 28, 28], rng: new Generator(1) },
    );
    const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
    const rss: number[] = [];
    const heap: number[] = [];
    const meter: Callback = {
      name: "meter",
      onEpochEnd: () => {
        gc();
        const m = process.memoryUsage();
        rss.push(m.rss);
        heap.push(m.heapUsed);
      },
    };
    await fit(model as TrainableModel, {
      train, dev, loss: (o, y) => crossEntropy(o, y), optimizer, epochs: 12, batchSize: 32, seed: 1, log: () => {},
      callbacks: [new EarlyStopping({ patience: 100 }), new Checkpointing({ dir: tempDir("memory"), keepLast: 2 }), meter],
    });
    expect(rss).toHaveLength(12);
    const mb = (xs: number[]) => xs.map((r) => (r / 2 ** 20).toFixed(1)).join(", ");
    // epochs are 1-based here: "after epoch 2" is rss[1]
    expect(heap[11]!, `heap per epoch (MiB): ${mb(heap)}`).toBeLessThanOrEqual(1.1 * Math.max(heap[1]!, heap[2]!));
    expect(rss[11]!, `RSS per epoch (MiB): ${mb(rss)}`).toBeLessThanOrEqual(1.1 * Math.max(rss[1]!, rss[2]!));
  });
});
