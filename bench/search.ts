/**
 * Hyperparameter search: what its parallel workers, its queue and its pruning cost and save, and
 * TPE against random sampling on the same budget.
 *
 *   npm run bench:search                     # all four parts
 *   npm run bench:search -- --parts=workers,pruning
 *
 * - workers: the same study of CPU-bound trials (the W1 MLP on 4,000 bundled digits, 8 epochs, 8
 *   trials, each a few seconds: long enough that a trial's fixed costs (process start-up, loading the
 *   digits, checkpoint and model files written with fsync) are not the measure) with 1 and with 2
 *   local worker processes (`workers: 1` / `workers: 2`); wall time of the whole study, alternating
 *   runs, median of `--runs` (3). The ratio is the speed-up. Its peers, in the same runs, split the
 *   same way (8 units in 1 process, 4 + 4 in 2): a plain JavaScript loop of integer additions, which
 *   says how much of the second core the (shared) machine gives at the time, and float32 matrix
 *   products on descent's SIMD kernel, which says how much vector arithmetic two processes get.
 * - queue: a study of 40 tiny trials (a linear model, 1 epoch on 40 samples), one at a time, in this
 *   process and on a BullMQ queue over a local redis-server with one `descent worker`; per trial,
 *   the study's wall time beyond the trials' own time, in both: their difference is what the queue
 *   adds per trial.
 * - pruning: the same random study (the W1 MLP on 800 digits, 9 epochs, 18 trials, learning rates
 *   over five decades) without pruning, with ASHA (eta 3, first rung at epoch 1 or 3) and with the
 *   median rule: epochs trained, wall time, best dev accuracy.
 * - tpe: TPE and random on the same budget (30 trials) over a synthetic objective of four
 *   hyperparameters (a log learning rate, a 1 - beta, a uniform and a choice): mean regret over
 *   20 seeds.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Generator, search, type Objective, type SearchSpecInput, type Study } from "../src/node.js";
import { arg, median } from "./util.js";

const parts = arg("parts", "workers,queue,pruning,tpe").split(",");
const runs = Number(arg("runs", "3"));
const root = mkdtempSync(join(tmpdir(), "descent-bench-search-"));
let studies = 0;
const quiet = { log: () => {}, progress: false, report: false };
const out = () => join(root, `study-${studies++}`);
const seconds = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
};

const digits = (epochs: number) => ({
  data: { source: "mnist" }, split: { train: 800, dev: 400, test: 100 }, model: "mlp", optimizer: { name: "adam", lr: 1e-3 },
  epochs, batchSize: 64, earlyStopping: false,
});

console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), shared with other jobs; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}; node ${process.version}`);

if (parts.includes("workers")) {
  const spec: SearchSpecInput = { base: { ...digits(8), split: { train: 4000, dev: 1000, test: 100 } }, space: { "optimizer.lr": { type: "log", low: 3e-4, high: 3e-3 } }, strategy: "random", trials: 8, metric: "devAccuracy", seed: 1 };
  await search(spec, { ...quiet, out: out(), workers: 2 }); // warm-up: the OS caches, the build
  // the peer: the same split of 8 units of plain CPU work (a JavaScript loop) over 1 and 2 processes,
  // which says how much of a second core the machine gives right now
  const loop = (units: number) => new Promise<void>((ok) => {
    spawn(process.execPath, ["-e", `for (let k = 0; k < ${units}; k++) { let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7; }`], { stdio: "ignore" }).on("close", () => ok());
  });
  // the floating-point peer: 8 units of float32 matrix products (descent's SIMD kernel, 384 x 384,
  // the working set of a W1 step) split the same way: what two processes of vector arithmetic get
  // from the machine's two cores, which an integer loop does not measure when the cores share
  // their vector units (SMT siblings of one physical core, as a VM's vCPUs may be)
  const index = resolve(import.meta.dirname, "..", "src", "index.js");
  const products = (units: number) => new Promise<void>((ok) => {
    const code = `import("${index}").then((D) => { const g = new D.Generator(1); const a = D.randn([384, 384], { rng: g }), b = D.randn([384, 384], { rng: g });` +
      ` for (let k = 0; k < ${units} * 400; k++) D.matmul(a, b); })`;
    spawn(process.execPath, ["-e", code], { stdio: "ignore" }).on("close", () => ok());
  });
  const one: number[] = [];
  const two: number[] = [];
  const loopOne: number[] = [];
  const loopTwo: number[] = [];
  const fpOne: number[] = [];
  const fpTwo: number[] = [];
  for (let r = 0; r < runs; r++) {
    one.push(await seconds(() => search(spec, { ...quiet, out: out(), workers: 1 })));
    two.push(await seconds(() => search(spec, { ...quiet, out: out(), workers: 2 })));
    loopOne.push(await seconds(() => loop(8)));
    loopTwo.push(await seconds(() => Promise.all([loop(4), loop(4)])));
    fpOne.push(await seconds(() => products(8)));
    fpTwo.push(await seconds(() => Promise.all([products(4), products(4)])));
  }
  const speedUp = median(one) / median(two);
  const peer = median(loopOne) / median(loopTwo);
  const fpPeer = median(fpOne) / median(fpTwo);
  console.log(`RESULT ${JSON.stringify({ part: "workers", oneWorker: one, twoWorkers: two, loopOne, loopTwo, fpOne, fpTwo })}`);
  console.log(`workers: 8 trials, 1 worker ${median(one).toFixed(1)} s, 2 workers ${median(two).toFixed(1)} s (median of ${runs}); speed-up ${speedUp.toFixed(2)}x`);
  console.log(`workers: the plain-loop peer, 8 units in 1 process ${median(loopOne).toFixed(1)} s, in 2 ${median(loopTwo).toFixed(1)} s; speed-up ${peer.toFixed(2)}x; the study's speed-up is ${(100 * speedUp / peer).toFixed(0)}% of the peer's`);
  console.log(`workers: the matrix-product peer, 8 units in 1 process ${median(fpOne).toFixed(1)} s, in 2 ${median(fpTwo).toFixed(1)} s; speed-up ${fpPeer.toFixed(2)}x; the study's speed-up is ${(100 * speedUp / fpPeer).toFixed(0)}% of the peer's`);
}

if (parts.includes("queue")) {
  const port = await new Promise<number>((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  const url = `redis://127.0.0.1:${port}`;
  const worker = spawn(process.execPath, [resolve("bin/descent.js"), "worker", "--redis", url, "--out", join(root, "worker")], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((ok) => worker.stdout!.on("data", (d: Buffer) => d.toString().includes("waiting for trials") && ok()));
  const rng = new Generator(3);
  const rows = ["a,b,label", ...Array.from({ length: 60 }, (_, i) => `${rng.normal() + (i % 2)},${rng.normal()},${i % 2}`)];
  const csv = join(root, "tiny.csv");
  writeFileSync(csv, rows.join("\n") + "\n");
  const base = { data: { source: "csv", path: csv, label: "label" }, split: { train: 40, dev: 10, test: 10 }, model: { layers: [{ type: "linear", outFeatures: 2 }] }, epochs: 1, batchSize: 20, earlyStopping: false };
  const trials = 40;
  const spec: SearchSpecInput = { base, space: { "optimizer.lr": { type: "log", low: 1e-3, high: 1e-1 } }, strategy: "random", trials, seed: 1 };
  // wall time of the study minus the trials' own time (their seconds): what the machinery costs
  const overheadMs = (wall: number, s: Study) => ((wall - s.trials.reduce((t, r) => t + r.seconds, 0)) / trials) * 1000;
  const inline: number[] = [];
  const queued: number[] = [];
  for (let r = 0; r < runs; r++) {
    let s!: Study;
    const a = await seconds(async () => (s = await search(spec, { ...quiet, out: out() })));
    inline.push(overheadMs(a, s));
    const b = await seconds(async () => (s = await search(spec, { ...quiet, out: out(), redis: url, parallel: 1 })));
    queued.push(overheadMs(b, s));
  }
  worker.kill("SIGTERM");
  redis.kill("SIGTERM");
  console.log(`RESULT ${JSON.stringify({ part: "queue", trials, inlineOverheadMs: inline, queueOverheadMs: queued })}`);
  console.log(`queue: ${trials} tiny trials, one at a time; per trial, the study's wall time beyond the trial's own: in this process ${median(inline).toFixed(1)} ms, on the queue with 1 worker ${median(queued).toFixed(1)} ms; the queue adds ${(median(queued) - median(inline)).toFixed(1)} ms per trial`);
}

if (parts.includes("pruning")) {
  const spec: SearchSpecInput = { base: digits(9), space: { "optimizer.lr": { type: "log", low: 1e-6, high: 1e-1 } }, strategy: "random", trials: 18, metric: "devAccuracy", seed: 7 };
  const summary = (s: Study) => ({ epochs: s.trials.reduce((n, t) => n + t.values.length, 0), best: s.best?.value ?? null, bestId: s.best?.id ?? null, pruned: s.trials.filter((t) => t.status === "pruned").length });
  const variants: [string, SearchSpecInput["pruner"]][] = [
    ["no pruning", { type: "none" }],
    ["ASHA, rungs at epochs 1 and 3", { type: "asha", minEpochs: 1, reductionFactor: 3 }],
    ["ASHA, a rung at epoch 3", { type: "asha", minEpochs: 3, reductionFactor: 3 }],
    ["median rule from epoch 2", { type: "median", warmupEpochs: 2, minTrials: 3 }],
  ];
  const results = [];
  for (const [label, pruner] of variants) {
    let s!: Study;
    const t = await seconds(async () => (s = await search({ ...spec, pruner }, { ...quiet, out: out() })));
    results.push({ label, ...summary(s), seconds: t });
  }
  console.log(`RESULT ${JSON.stringify({ part: "pruning", results })}`);
  const full = results[0]!;
  for (const r of results) {
    console.log(`pruning: ${r.label}: ${r.epochs} epochs (${(100 * (1 - r.epochs / full.epochs)).toFixed(0)}% fewer), ${r.seconds.toFixed(1)} s, ${r.pruned} pruned, best devAccuracy ${r.best} (trial ${r.bestId})`);
  }
}

if (parts.includes("tpe")) {
  // best at lr = 3e-3, beta = 0.99, u = 0.3, act = "relu"; regret 0 there
  const objective: Objective = (p) =>
    (Math.log10(p.lr as number) - Math.log10(3e-3)) ** 2 / 4 + (Math.log10(1 - (p.beta as number)) + 2) ** 2 / 2 + ((p.u as number) - 0.3) ** 2 + (p.act === "relu" ? 0 : 0.2);
  const space: SearchSpecInput["space"] = {
    lr: { type: "log", low: 1e-5, high: 1 }, beta: { type: "oneMinusLog", low: 0.9, high: 0.9999 },
    u: { type: "uniform", low: 0, high: 1 }, act: { type: "choice", values: ["relu", "tanh", "sigmoid"] },
  };
  const regrets: Record<string, number[]> = { random: [], tpe: [] };
  for (let seed = 1; seed <= 20; seed++) {
    for (const strategy of ["random", "tpe"] as const) {
      const s = await search({ space, strategy, trials: 30, seed, metric: "regret", direction: "minimize" }, { ...quiet, out: out(), objective });
      regrets[strategy]!.push(s.best!.value!);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const wins = regrets.tpe!.filter((v, i) => v < regrets.random![i]!).length;
  console.log(`RESULT ${JSON.stringify({ part: "tpe", ...regrets })}`);
  console.log(`tpe: 30 trials, mean regret over 20 seeds: random ${mean(regrets.random!).toFixed(4)} (median ${median(regrets.random!).toFixed(4)}), TPE ${mean(regrets.tpe!).toFixed(4)} (median ${median(regrets.tpe!).toFixed(4)}); TPE better on ${wins}/20 seeds`);
}
rmSync(root, { recursive: true, force: true });
console.log(`load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
