/**
 * The worker pool's products are bit-identical to one thread's, for products split among the
 * threads (large enough, every transpose, batches, odd edges) and for small ones that stay on one
 * thread; and a few training steps on a 2-thread backend leave the same parameters as on one.
 */
import { describe, expect, it } from "vitest";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { gemmSimdBatch, type GemmEngine } from "../../src/backend/cpu/simd/gemm-simd.js";
import { gemmPool } from "../../src/backend/cpu/simd/gemm-threads.js";
import { buildSequential, createOptimizer, crossEntropy, fromValues, Generator, withBackend, type Parameter } from "../../src/index.js";
import { rng } from "./helpers.js";

const pool = gemmPool(2);
// the pool needs process.getBuiltinModule (Node 20.16+); on older runtimes products run on one thread
const hasWorkers = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";

function product(engine: GemmEngine | null | undefined, m: number, k: number, n: number, transA: boolean, transB: boolean, batch: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = Float32Array.from({ length: batch * m * k + 5 }, () => r() * 2 - 1);
  const b = Float32Array.from({ length: batch * k * n + 5 }, () => r() * 2 - 1);
  const c = new Float32Array(batch * m * n);
  const args = { m, k, n, transA, transB };
  const offs = (size: number) => Array.from({ length: batch }, (_, t) => 5 + t * size);
  if (engine === undefined) gemmSimdBatch(a, offs(m * k), b, offs(k * n), c, 0, args);
  else gemmSimdBatch(a, offs(m * k), b, offs(k * n), c, 0, args, engine);
  return c;
}

describe("gemm worker pool", () => {
  it("starts with 2 threads in Node (one thread where workers are unavailable)", () => {
    expect(pool?.threads ?? 1).toBe(hasWorkers ? 2 : 1);
    expect(new CpuBackend({ threads: 2 }).threads).toBe(hasWorkers ? 2 : 1);
    expect(() => new CpuBackend({ threads: 0 })).toThrow(/invalid threads 0/);
  });

  const shapes: [number, number, number, boolean, boolean, number][] = [
    [64, 784, 256, false, false, 1], [784, 64, 256, true, false, 1], [64, 256, 784, false, true, 1],
    [131, 300, 97, true, true, 1], [40, 50, 61, false, false, 3], [7, 9, 5, false, true, 2], [300, 1, 300, false, false, 1],
  ];
  for (const [m, k, n, tA, tB, batch] of shapes) {
    it.runIf(hasWorkers)(`${m}x${k}x${n} transA=${tA} transB=${tB} batch ${batch}: 2 threads give 1 thread's bits`, () => {
      const one = product(undefined, m, k, n, tA, tB, batch, m + n);
      const two = product(pool, m, k, n, tA, tB, batch, m + n);
      expect(two.length).toBe(one.length);
      let diff = -1;
      for (let i = 0; i < one.length && diff < 0; i++) if (!Object.is(one[i], two[i])) diff = i;
      expect(diff).toBe(-1);
    });
  }

  it("training steps on 2 threads leave the same parameters as on 1", () => {
    const train = (backend: CpuBackend): number[][] => withBackend(backend, () => {
      const model = buildSequential([{ type: "flatten" }, { type: "linear", outFeatures: 96 }, { type: "relu" }, { type: "linear", outFeatures: 10 }], { inputShape: [1, 28, 28], rng: new Generator(4) });
      const opt = createOptimizer("adam", model, { lr: 1e-2 });
      const r = rng(9);
      const x = fromValues(Float32Array.from({ length: 48 * 784 }, () => r()), [48, 1, 28, 28]);
      const y = fromValues(Int32Array.from({ length: 48 }, (_, i) => i % 10), [48]);
      for (let s = 0; s < 3; s++) {
        crossEntropy(model.forward(x), y).backward();
        opt.step();
        opt.zeroGrad();
      }
      return [...model.namedParameters()].map(([, p]: [string, Parameter]) => Array.from(p.dataSync()));
    });
    expect(train(new CpuBackend({ threads: 2 }))).toEqual(train(new CpuBackend()));
  });
});
