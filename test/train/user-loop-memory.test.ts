/**
 * A user's plain training loop, written as examples/quickstart.ts writes it (no dispose, no
 * scope), keeps its memory flat: 2,000 steps of an MLP with Adam and a loss read every step,
 * RSS and the JS heap after step 2,000 within 10% of their values after step 500 (collected
 * before each measure through V8's gc, enabled here at run time).
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { buildSequential, createOptimizer, crossEntropy, fromValues, Generator } from "../../src/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("user-loop memory", () => {
  it("2,000 steps of a plain loop: RSS and heap flat within 10%", () => {
    const rng = new Generator(5);
    const batches = Array.from({ length: 8 }, () => ({
      x: fromValues(Float32Array.from({ length: 32 * 20 }, () => rng.normal()), [32, 20]),
      y: fromValues(Int32Array.from({ length: 32 }, () => Math.floor(rng.uniform() * 4)), [32]),
    }));
    const model = buildSequential([{ type: "linear", outFeatures: 64 }, { type: "relu" }, { type: "linear", outFeatures: 4 }], { inputShape: [20], rng });
    const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
    const measure = (): { rss: number; heap: number } => {
      gc();
      const m = process.memoryUsage();
      return { rss: m.rss, heap: m.heapUsed };
    };
    let at500 = measure();
    let last = 0;
    for (let step = 1; step <= 2000; step++) {
      const batch = batches[step % batches.length]!;
      const loss = crossEntropy(model.forward(batch.x), batch.y);
      last = loss.item();
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      if (step === 500) at500 = measure();
    }
    const end = measure();
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
    expect(Number.isFinite(last)).toBe(true);
    expect(end.rss, `RSS ${mib(at500.rss)} -> ${mib(end.rss)} MiB`).toBeLessThanOrEqual(1.1 * at500.rss);
    expect(end.heap, `heap ${mib(at500.heap)} -> ${mib(end.heap)} MiB`).toBeLessThanOrEqual(1.1 * at500.heap);
  });
});
