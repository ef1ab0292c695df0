/**
 * The worker pool's products are bit-identical to one thread's, for products split among the
 * threads (large enough, every transpose, batches, odd edges) and for small ones that stay on one
 * thread; a few training steps on a 2-thread backend leave the same parameters as on one; and
 * the caller, whose event loop is blocked while it waits, never waits on a worker that cannot
 * answer: one that never starts, or one whose band throws, leaves its band to the caller (checked
 * in a child process with a time limit, so that a regression fails instead of hanging the run).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { gemmSimdBatch, type GemmEngine } from "../../src/backend/cpu/simd/gemm-simd.js";
import { gemmPool } from "../../src/backend/cpu/simd/gemm-threads.js";
import { buildSequential, createOptimizer, crossEntropy, fromValues, Generator, withBackend, type Parameter } from "../../src/index.js";
import { ensureBuilt, ROOT, tempDir } from "../cli/helpers.js";
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

  /**
   * Runs four different 2-thread products on a pool whose workers run `program` (in a child process, 60 s at most),
   * after the program has written dir/ready where `awaitReady`; prints how many were wrong.
   */
  function productsWithWorkers(program: string, awaitReady: boolean): { status: number | null; stdout: string; stderr: string } {
    const dist = (file: string) => JSON.stringify(pathToFileURL(join(ROOT, "dist", "src", "backend", "cpu", "simd", file)).href);
    const script = `
      import { makePool } from ${dist("gemm-threads.js")};
      import { gemmSimdBatch } from ${dist("gemm-simd.js")};
      const pool = makePool(2, ${JSON.stringify(program)});
      const ready = ${JSON.stringify(join(dir, "ready"))};
      const { existsSync } = await import("node:fs");
      for (let waited = 0; ${awaitReady} && !existsSync(ready) && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      const [m, k, n] = [64, 128, 256];
      let wrong = 0;
      for (let round = 0; round < 4; round++) {
        const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i + round)), b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 3 + round));
        const one = new Float32Array(m * n), two = new Float32Array(m * n);
        gemmSimdBatch(a, [0], b, [0], one, 0, { m, k, n, transA: false, transB: false });
        gemmSimdBatch(a, [0], b, [0], two, 0, { m, k, n, transA: false, transB: false }, pool);
        if (one.some((v, i) => !Object.is(v, two[i]))) wrong++;
      }
      console.log(wrong);
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  }
  let dir = "";

  it.runIf(hasWorkers)("computes a worker's band itself when the worker never starts, or when its band throws (and then stops posting to it)", async () => {
    await ensureBuilt();
    const { WORKER_PROGRAM } = await import("../../src/backend/cpu/simd/gemm-threads.js");
    dir = tempDir("gemm-workers");
    // a worker that exits at once: never ready, so every band stays with the caller
    const never = productsWithWorkers("process.exit(0)", false);
    expect(never, never.stderr).toMatchObject({ status: 0, stdout: "0" });
    // a worker that takes its first band, then throws on the next (after it was posted): the caller recomputes it
    const failed = join(dir, "failed");
    const throwing = WORKER_PROGRAM
      .replace("for (;;) {", `require("node:fs").writeFileSync(${JSON.stringify(join(dir, "ready"))}, "");\nfor (;;) {`)
      .replace("try {", `try {\n globalThis.jobs = (globalThis.jobs ?? 0) + 1;\n if (globalThis.jobs > 1) { require("node:fs").writeFileSync(${JSON.stringify(failed)}, ""); throw new Error("injected"); }`);
    expect(throwing).not.toBe(WORKER_PROGRAM);
    const afterThrow = productsWithWorkers(throwing, true);
    expect(afterThrow, afterThrow.stderr).toMatchObject({ status: 0, stdout: "0" });
    expect(existsSync(failed), "the worker's second band did not throw: the failure path was not exercised").toBe(true);
  }, 150_000);
});
