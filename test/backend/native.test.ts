/**
 * The native backend (src/backend/native/native.ts, the addon of native/sgemm.c): its float32
 * products stay within float32 summation error of a float64 product over transposes, edges,
 * batches, offsets and an empty inner dimension; 2 threads give 1 thread's bits, in a product, a
 * convolution and training steps; its convolution (native/conv.c) equals its composed path bit for
 * bit over padding, strides, dilation, 1x1 and K past one block;
 * two JavaScript threads driving the pool at once each get whole products; a call out of range
 * throws instead of touching memory; and DESCENT_NATIVE=0 puts a program on
 * the wasm backend. (Equality with the relaxed-SIMD WebAssembly kernel's bits is checked under that
 * build's flag, in gemm-fused.test.ts.)
 *
 * Where the addon could not be built (no C compiler or Node headers, not x86-64 with AVX2 and FMA) these are skipped
 * and say so; where it could have been and was not, the first test fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it, vi } from "vitest";
import {
  buildSequential, conv2d, createBackend, createOptimizer, crossEntropy, DEFAULT_BACKEND, fromValues, Generator, gradients, mm, mul, sum,
  withBackend, type Backend, type Conv2dOptions, type Tensor,
} from "../../src/index.js";
import { nativeAddon, NativeBackend, type NativeAddon } from "../../src/backend/native/native.js";
import { ensureBuilt } from "../cli/helpers.js";
import { differing } from "./helpers.js";

const native = nativeAddon();
const ADDON = fileURLToPath(new URL("../../native/build/descent.node", import.meta.url));
const cpuFlags = (() => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
})();
/** Node's headers where scripts/build-native.mjs looks for them. */
const headers = [process.env.npm_config_nodedir, join(dirname(process.execPath), "..")].some((dir) => dir && existsSync(join(dir, "include", "node", "node_api.h")));
const couldBuild = process.arch === "x64" && /\bavx2\b/.test(cpuFlags) && /\bfma\b/.test(cpuFlags) && headers && spawnSync("cc", ["--version"], { timeout: 60_000 }).status === 0;
if (!native) console.warn(`native backend tests skipped: the addon is not built here${couldBuild ? " (but it could be: run npm run build:native)" : ""}`);

it("the addon is built and loaded wherever it can be (x86-64 with AVX2 and FMA, and a C compiler)", () => {
  expect(native !== null || !couldBuild, "native/build/descent.node is missing: npm run build:native").toBe(true);
  if (native) expect(DEFAULT_BACKEND).toBe("native");
});

function values(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.uniform() * 2 - 1);
}

const bits = (a: ArrayLike<number>) => new Uint32Array(Float32Array.from(a).buffer);

describe.skipIf(!native)("the native backend", () => {
  const one = createBackend("native");
  const two = createBackend("native", { threads: 2 });

  it("is the default backend, a NativeBackend on 1 thread, 2 on request", () => {
    expect(one).toBeInstanceOf(NativeBackend);
    expect((one as NativeBackend).gemmKernel).toBe("native");
    expect((one as NativeBackend).threads).toBe(1);
    expect((two as NativeBackend).threads).toBe(2);
  });

  const SHAPES: [number, number, number, boolean, boolean, number][] = [
    [64, 784, 256, false, false, 1], [784, 64, 256, true, false, 1], [64, 256, 784, false, true, 1], [131, 300, 97, true, true, 1],
    [40, 50, 61, false, false, 3], [7, 9, 5, false, true, 2], [1, 1, 1, false, false, 1], [6, 513, 17, false, false, 1], [3, 0, 4, false, false, 2],
  ];
  for (const [m, k, n, tA, tB, batch] of SHAPES) {
    it(`matmul ${batch}x(${m}x${k})${tA ? "ᵀ" : ""}·(${k}x${n})${tB ? "ᵀ" : ""} within float32 summation error, the same bits on 2 threads`, () => {
      const aShape = tA ? [batch, k, m] : [batch, m, k], bShape = tB ? [batch, n, k] : [batch, k, n];
      const av = values(batch * m * k, 1), bv = values(batch * k * n, 2);
      const product = (backend: Backend) => withBackend(backend, () => {
        const a = fromValues(av, aShape), b = fromValues(bv, bShape);
        return mm(a, b, tA, tB).dataSync() as Float32Array;
      });
      const c = product(one);
      let worst = 0; // the largest error as a fraction of its bound
      for (let t = 0; t < batch; t++) {
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = 0, mag = 0;
          for (let p = 0; p < k; p++) {
            const x = av[t * m * k + (tA ? p * m + i : i * k + p)]! * bv[t * k * n + (tB ? j * k + p : p * n + j)]!;
            s += x;
            mag += Math.abs(x);
          }
          worst = Math.max(worst, Math.abs(c[t * m * n + i * n + j]! - s) / ((k + 4) * 1.2e-7 * mag + 1e-30));
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(bits(product(two))).toEqual(bits(c));
    });
  }

  it("runs the fused optimizer update in the addon, in place in plain arrays (no WebAssembly memory)", () => {
    const spy = vi.spyOn(native!, "update");
    try {
      withBackend(one, () => {
        const model = buildSequential([{ type: "linear", outFeatures: 5 }], { inputShape: [7], rng: new Generator(2) });
        const optimizer = createOptimizer("adamw", model, { lr: 1e-2 });
        optimizer.zeroGrad();
        sum(mul(model.forward(fromValues(values(21, 9), [3, 7])), 1)).backward();
        optimizer.step();
      });
      // one call per parameter (weight and bias), each the whole program: Adam (2), ..., the final add (6)
      expect(spy.mock.calls.length).toBe(2);
      for (const call of spy.mock.calls) {
        expect([...call[0]]).toContain(2);
        expect(call[0].at(-1)).toBe(6);
      }
    } finally {
      spy.mockRestore();
    }
  });

  it("refuses an update whose arrays or constants do not fit its stages with a RangeError", () => {
    const g = new Float32Array(10), out = new Float32Array(10), m = new Float32Array(10), v = new Float32Array(10);
    const adam = Float64Array.from([0.9, 0.1, 0.999, 0.001, 1e-8, 1, 1]);
    expect(() => native!.update(Int32Array.from([2]), [m, v], adam, g, out)).not.toThrow();
    expect(() => native!.update(Int32Array.from([2]), [m], adam, g, out)).toThrow(/Adam's slots/);
    expect(() => native!.update(Int32Array.from([2]), [m, new Float32Array(9)], adam, g, out)).toThrow(/one length/);
    expect(() => native!.update(Int32Array.from([2]), [m, v], adam.subarray(1), g, out)).toThrow(/constants/);
    expect(() => native!.update(Int32Array.from([9]), [], adam, g, out)).toThrow(/unknown stage/);
    expect(() => native!.update(Int32Array.from([6]), [null], Float64Array.from([1, 0]), g, out)).toThrow(/θ expected/);
  });

  it("gives 1 thread's bits on 3 and 4 threads too, its pool growing after a job on 2", () => {
    const [m, k, n] = [37, 300, 515];
    const a = values(m * k, 11), b = values(k * n, 12), o = new Int32Array([0]);
    const product = (threads: number) => {
      const c = new Float32Array(m * n);
      native!.sgemm(a, o, b, o, c, 0, n, m, k, n, 0, 0, threads);
      return bits(c);
    };
    const ref = product(1);
    for (const threads of [2, 3, 4, 2]) expect(product(threads), `${threads} threads`).toEqual(ref);
  });

  it("keeps every product whole when two JavaScript threads drive the pool at once (the one that waits runs all its parts alone)", async () => {
    const [m, k, n] = [32, 256, 512]; // just past PARALLEL_MIN_MACS: short calls, so the two threads collide often
    const a = values(m * k, 21), b = values(k * n, 22), o = new Int32Array([0]);
    const ref = new Float32Array(m * n);
    native!.sgemm(a, o, b, o, ref, 0, n, m, k, n, 0, 0, 1);
    // a worker thread and this one each run the same 2-thread product many times, started together
    const go = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(`
      const { workerData, parentPort } = require("node:worker_threads");
      const { addon, a, b, ref, m, k, n, go, rounds } = workerData;
      const native = require(addon), o = new Int32Array([0]), c = new Float32Array(m * n);
      Atomics.store(go, 0, 1); Atomics.notify(go, 0);
      let wrong = 0;
      for (let r = 0; r < rounds; r++) {
        c.fill(0);
        native.sgemm(a, o, b, o, c, 0, n, m, k, n, 0, 0, 2);
        for (let i = 0; i < c.length; i++) if (c[i] !== ref[i]) { wrong++; break; }
      }
      parentPort.postMessage(wrong);
    `, { eval: true, workerData: { addon: ADDON, a, b, ref, m, k, n, go, rounds: 3000 } });
    const workerWrong = new Promise<number>((resolve, reject) => { worker.once("message", resolve); worker.once("error", reject); });
    expect(Atomics.wait(go, 0, 0, 60_000), "the worker thread did not start within 60 s").not.toBe("timed-out");
    let wrong = 0;
    const c = new Float32Array(m * n);
    for (let r = 0; r < 3000; r++) {
      c.fill(0);
      native!.sgemm(a, o, b, o, c, 0, n, m, k, n, 0, 0, 2);
      if (differing(bits(c), bits(ref)) > 0) wrong++;
    }
    expect({ main: wrong, worker: await workerWrong }).toEqual({ main: 0, worker: 0 });
    await worker.terminate();
  });

  it("keeps every result whole when tasks follow each other while a worker wakes late (the caller waits only for parts a worker claimed)", () => {
    // three kinds of task with 2, 8 and some number of parts, back to back, some after a pause long enough for the
    // worker to fall asleep: a worker that woke for one task and claimed a part of the next would break a result
    const [m, k, n] = [32, 256, 512], size = 1 << 17;
    const a = values(m * k, 31), b = values(k * n, 32), o = new Int32Array([0]);
    const x = values(size, 33), y = values(size, 34);
    const plan = Int32Array.from([64, 0, size / 64, 1]);
    const tasks = [
      (t: number) => { const c = new Float32Array(m * n); native!.sgemm(a, o, b, o, c, 0, n, m, k, n, 0, 0, t); return c; },
      (t: number) => { const out = new Float32Array(64); native!.sum(x, out, plan, t); return out; },
      (t: number) => { const out = new Float32Array(size); native!.binary(2, x, y, out, Int32Array.from([size]), Int32Array.from([1, 1]), t); return out; },
    ];
    const refs = tasks.map((task) => bits(task(1)));
    let wrong = 0;
    for (let round = 0; round < 1500; round++) {
      if (round % 100 === 99) for (const until = performance.now() + 5; performance.now() < until;); // the worker sleeps
      const i = round % 3;
      if (differing(bits(tasks[i]!(2)), refs[i]!) > 0) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("refuses a call out of range with a RangeError, writing nothing outside the arrays", () => {
    const a = new Float32Array(12), b = new Float32Array(12), c = new Float32Array(9);
    expect(() => native!.sgemm(a, new Int32Array([1]), b, new Int32Array([0]), c, 0, 3, 3, 4, 3, 0, 0, 1)).toThrow(RangeError);
    expect(() => native!.sgemm(a, new Int32Array([0]), b, new Int32Array([0]), c, 1, 3, 3, 4, 3, 0, 0, 1)).toThrow(/C out of range/);
    expect(() => native!.sgemm(a, new Int32Array([0]), b, new Int32Array([0, 0]), c, 0, 3, 3, 4, 3, 0, 0, 1)).toThrow(RangeError);
    expect(() => native!.sgemm(new Float64Array(12) as unknown as Float32Array, new Int32Array([0]), b, new Int32Array([0]), c, 0, 3, 3, 4, 3, 0, 0, 1)).toThrow(RangeError);
    native!.sgemm(a.fill(1), new Int32Array([0]), b.fill(2), new Int32Array([0]), c, 0, 3, 3, 4, 3, 0, 0, 1);
    expect([...c]).toEqual(new Array(9).fill(8));
  });

  describe("the convolution (native/conv.c) gives its composed path's bits, on 1 and 2 threads", () => {
    class Composed extends NativeBackend {
      override conv2d(): null {
        return null;
      }
    }
    const composed = new Composed(native!);
    const CASES: { name: string; x: number[]; w: number[]; options: Conv2dOptions; infinite?: boolean; bias?: boolean }[] = [
      { name: "3x3 same, large enough for 2 threads", x: [16, 8, 14, 14], w: [16, 8, 3, 3], options: { padding: 1 } },
      { name: "W2's second layer at batch 32 (on 2 threads dx and dW run side by side, one thread each)", x: [32, 16, 14, 14], w: [32, 16, 3, 3], options: { padding: 1 }, bias: true },
      { name: "3x3 same with a bias (added in the kernel)", x: [16, 8, 14, 14], w: [16, 8, 3, 3], options: { padding: 1 }, bias: true },
      { name: "stride 2, padding 1 (the forward declines to wasm)", x: [3, 2, 11, 9], w: [5, 2, 3, 3], options: { stride: 2, padding: 1 } },
      { name: "stride 2 with a bias (wasm's convolution adds it)", x: [3, 2, 11, 9], w: [5, 2, 3, 3], options: { stride: 2, padding: 1 }, bias: true },
      { name: "dilation 2, rectangular kernel, uneven padding", x: [2, 3, 10, 13], w: [4, 3, 2, 3], options: { dilation: 2, padding: [1, 2] } },
      { name: "1x1, batch of one", x: [1, 6, 7, 5], w: [9, 6, 1, 1], options: {} },
      { name: "K = 288 (two blocks of 256), 5x5 kernel, no padding", x: [5, 32, 9, 8], w: [7, 32, 3, 3], options: {} },
      { name: "one input channel, 28x28 same, a bias (W2's first layer)", x: [9, 1, 28, 28], w: [16, 1, 3, 3], options: { padding: "same" }, bias: true },
      { name: "one input channel, stride 2 (dW's narrow path, corners 2 apart), 11 outputs a row", x: [4, 1, 21, 19], w: [6, 1, 3, 3], options: { stride: 2, padding: 1 } },
      { name: "a 2x2 kernel over one channel (narrow, K = 4), rows of 33", x: [3, 1, 12, 34], w: [10, 1, 2, 2], options: {} },
      { name: "260 output channels (dx's product sums over two blocks of 256, through the loop nest)", x: [2, 3, 5, 5], w: [260, 3, 3, 3], options: { padding: 1 } },
      { name: "an infinite weight (dx leaves the padded planes for col2im)", x: [3, 2, 6, 6], w: [4, 2, 3, 3], options: { padding: 1 }, infinite: true },
    ];
    const run = (backend: Backend, c: (typeof CASES)[number]) => withBackend(backend, () => {
      const x = fromValues(values(c.x.reduce((a, b) => a * b), 3), c.x, { requiresGrad: true });
      const wv = values(c.w.reduce((a, b) => a * b), 4);
      if (c.infinite) wv[5] = Infinity;
      const w = fromValues(wv, c.w, { requiresGrad: true });
      const b = c.bias ? fromValues(values(c.w[0]!, 6), [c.w[0]!], { requiresGrad: true }) : null;
      const y = conv2d(x, w, b, c.options);
      const r = fromValues(values(y.size, 5), y.shape);
      const [gx, gw, gb] = gradients(sum(mul(y, r)), b ? [x, w, b] : [x, w]);
      return {
        op: y.node?.op, y: bits(y.dataSync()), gx: bits(gx!.dataSync()), gw: bits(gw!.dataSync()), gb: bits(gb?.dataSync() ?? new Float32Array(0)),
      };
    });
    for (const c of CASES) {
      it(c.name, () => {
        const ref = run(composed, c);
        expect(ref.op).not.toBe("conv2d");
        for (const backend of [one, two]) {
          const got = run(backend, c);
          expect(got.op).toBe("conv2d");
          for (const k of ["y", "gx", "gw", "gb"] as const) expect(differing(got[k], ref[k]), `words of ${k} that differ`).toBe(0);
        }
      });
    }

    it("runs in the addon, reading the tensors' arrays (a spy sees each call)", () => {
      const calls: string[] = [];
      const spy = {
        ...native!,
        conv2d: (...a: Parameters<NativeAddon["conv2d"]>) => (calls.push("conv2d"), native!.conv2d(...a)),
        conv2dBackward: (...a: Parameters<NativeAddon["conv2dBackward"]>) => (calls.push("conv2dBackward"), native!.conv2dBackward(...a)),
      };
      run(new NativeBackend(spy), CASES[0]!);
      expect(calls).toEqual(["conv2d", "conv2dBackward"]);
    });

    it("refuses arrays shorter than the geometry, and a bad geometry, with a RangeError", () => {
      const g = Int32Array.from([2, 3, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5]);
      const x = new Float32Array(2 * 3 * 25), w = new Float32Array(4 * 27), out = new Float32Array(2 * 4 * 25);
      expect(native!.conv2d(x, w, out, g, 4, 1)).toBe(true);
      expect(native!.conv2d(x, w, out, g, 4, 1, new Float32Array(4))).toBe(true);
      expect(() => native!.conv2d(x, w, out, g, 4, 1, new Float32Array(3))).toThrow(/shorter than its geometry/);
      expect(() => native!.conv2d(x, w, out, g, 4, 1, new Float64Array(4) as unknown as Float32Array)).toThrow(RangeError);
      expect(() => native!.conv2d(x.subarray(1), w, out, g, 4, 1)).toThrow(/shorter than its geometry/);
      expect(() => native!.conv2d(x, w, out.subarray(1), g, 4, 1)).toThrow(RangeError);
      expect(() => native!.conv2d(x, w, out, g.subarray(1), 4, 1)).toThrow(/invalid geometry/);
      expect(() => native!.conv2dBackward(x, w, out, new Float32Array(3), null, g, 4, 1)).toThrow(/shorter than its geometry/);
      expect(() => native!.conv2dBackward(x, w, out, null, new Float32Array(3), g, 4, 1)).toThrow(RangeError);
      const strided = Int32Array.from([2, 3, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3]);
      expect(native!.conv2d(x, w, out, strided, 4, 1)).toBe(false);
    });
  });

  it("trains to the same bits on 1 and 2 threads (a CNN, Adam, 3 steps)", () => {
    const train = (backend: Backend) => withBackend(backend, () => {
      const rng = new Generator(7);
      const model = buildSequential(
        [{ type: "conv2d", outChannels: 8, kernelSize: 3, padding: "same" }, { type: "relu" }, { type: "flatten" }, { type: "linear", outFeatures: 10 }],
        { inputShape: [1, 12, 12], rng },
      );
      const optimizer = createOptimizer("adam", model, { lr: 1e-2 });
      const x = fromValues(values(32 * 144, 8), [32, 1, 12, 12]);
      const y = fromValues(Int32Array.from({ length: 32 }, (_, i) => i % 10), [32]);
      for (let s = 0; s < 3; s++) {
        optimizer.zeroGrad();
        crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      }
      return model.parameters().map((p: Tensor) => bits(p.dataSync()));
    });
    expect(train(two)).toEqual(train(one));
  });
});

it("DESCENT_NATIVE=0 keeps a program on the wasm backend", () => {
  ensureBuilt();
  const built = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
  const script = `import(${JSON.stringify(built)}).then((d) => console.log(d.DEFAULT_BACKEND))`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 120_000, env: { ...process.env, DESCENT_NATIVE: "0" } });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe("wasm");
});

it("the build is optional: without a working compiler it says why in one line, exits 0 and leaves any built addon alone", () => {
  const script = fileURLToPath(new URL("../../scripts/build-native.mjs", import.meta.url));
  const target = ADDON;
  const before = existsSync(target) ? statSync(target).mtimeMs : null;
  const r = spawnSync(process.execPath, [script, "--force"], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CC: "/nonexistent/cc" } });
  expect(r.status, r.stderr).toBe(0);
  const said = r.stdout.trim().split("\n");
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(/^descent native: not built: .*; descent uses its WebAssembly backend$/);
  expect(existsSync(target) ? statSync(target).mtimeMs : null).toBe(before);
  const skipped = spawnSync(process.execPath, [script, "--force"], { encoding: "utf8", timeout: 120_000, env: { ...process.env, DESCENT_NATIVE: "0" } });
  expect(skipped.stdout.trim()).toBe("descent native: skipped (DESCENT_NATIVE=0)");
});
