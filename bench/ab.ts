/**
 * Before / after: the same W1 or W2 training step (bench/descent-step.ts's recipe) from two builds
 * of descent in one process, timed in alternating windows so both see the same machine load.
 * Each build is loaded from its own dist/ (e.g. the main branch's checkout and this one).
 *
 *   npm run build && node dist/bench/ab.js --roots=/work/main,. --workload=W1 --windows=11 --batches=20
 *   node dist/bench/ab.js --roots=/work/main,. --workload=W2 --threads=2   # each on its default backend with 2 threads
 *
 * Prints the median samples/s (min-max) of each build and the ratio of the medians (second / first).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { arg, median } from "./util.js";

type Descent = typeof import("../src/node.js");

const BATCH = 64;

async function setup(root: string, preset: "mlp" | "cnn", threads: number): Promise<(i: number) => void> {
  const D = (await import(pathToFileURL(resolve(root, "dist", "src", "node.js")).href)) as Descent;
  D.setBackend(D.createBackend(D.DEFAULT_BACKEND, { threads })); // this build's own registry: the other root keeps its own
  const data = D.loadMnist();
  const x = data.inputs.dataSync();
  const y = data.labels.dataSync();
  const model = D.buildSequential(D.presetSpecs(preset), { inputShape: [1, 28, 28], rng: new D.Generator(1) });
  const optimizer = D.createOptimizer("adam", model, { lr: 1e-3 });
  const batches = Array.from({ length: 20 }, (_, b) => ({
    x: D.fromValues(x.slice(b * BATCH * 784, (b + 1) * BATCH * 784), [BATCH, 1, 28, 28]),
    y: D.fromValues(y.slice(b * BATCH, (b + 1) * BATCH), [BATCH]),
  }));
  model.train();
  return (i) => {
    const batch = batches[i % batches.length]!;
    const loss = D.crossEntropy(model.forward(batch.x), batch.y);
    loss.item();
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
  };
}

async function main(): Promise<void> {
  const roots = arg("roots", "").split(",").filter(Boolean);
  if (roots.length !== 2) throw new Error("--roots=A,B: two folders holding a built descent (dist/)");
  const preset = arg("workload", "W1") === "W1" ? "mlp" : "cnn";
  const windows = Number(arg("windows", "11"));
  const per = Number(arg("batches", preset === "mlp" ? "20" : "5"));
  const threads = Number(arg("threads", "1"));
  const runs = await Promise.all(roots.map(async (root) => ({ root, step: await setup(root, preset, threads), rates: [] as number[] })));
  let i = 0;
  for (const r of runs) for (let k = 0; k < 10; k++) r.step(i++);
  for (let w = 0; w < windows; w++) {
    for (const r of runs) {
      const t0 = performance.now();
      for (let k = 0; k < per; k++) r.step(i++);
      r.rates.push((per * BATCH) / ((performance.now() - t0) / 1000));
    }
  }
  for (const r of runs) {
    console.log(`${r.root} ${preset}: ${median(r.rates).toFixed(0)} samples/s (${Math.min(...r.rates).toFixed(0)}-${Math.max(...r.rates).toFixed(0)})`);
  }
  console.log(`ratio ${(median(runs[1]!.rates) / median(runs[0]!.rates)).toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
