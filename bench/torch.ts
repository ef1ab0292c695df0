/**
 * W1 / W2 training throughput beside PyTorch, measured alternately in one run: each round times
 * one window of descent steps (this process, the default backend: wasm where SIMD validates) and then one PyTorch epoch
 * (../shared/bench/train_torch.py in a child process: Debian's torch 1.13, 8,000 digits, Adam
 * 1e-3, batch 64; its own timing of the epoch, so Python's start-up is not counted). Descent
 * trains the same architectures with the same optimizer and batch size (bench/descent-step.ts).
 *
 *   npm run build && node dist/bench/torch.js --workloads=W1 --rounds=7
 *   node dist/bench/torch.js --workloads=W2 --threads=2 --rounds=5
 *
 * Options: --workloads=W1,W2, --rounds (7), --steps (descent steps per window, 125 = one epoch of
 * 8,000), --threads (PyTorch's, default 1 for W1 and 2 for W2, their best settings here),
 * --backend (descent's: cpu or wasm, default DEFAULT_BACKEND), --descent-threads (descent's float32
 * matmul threads, default 1), --peers (the setup.sh folder,
 * /tmp/peers), --python (/usr/bin/python3).
 * Reports per workload: median samples/s of each side, the ratio of the medians, the range of the
 * per-round ratios, and peak RSS (descent: this process's maxRSS so far, so run one workload per
 * process for a clean figure; PyTorch: its script's ru_maxrss). One `RESULT {json}` line each.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBackend, CpuBackend, DEFAULT_BACKEND, loadMnist } from "../src/node.js";
import { BATCH, setupDescent, type Workload } from "./descent-step.js";
import { arg, median } from "./util.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const script = join(root, "..", "shared", "bench", "train_torch.py");

interface TorchResult {
  samples_per_s: number;
  peak_rss_mib_self: number;
  version: string;
}

function torchEpoch(python: string, peers: string, workload: string, threads: number): TorchResult {
  const r = spawnSync(python, [script, `--workload=${workload}`, `--threads=${threads}`], {
    env: { ...process.env, ANCHORS_SCRATCH: peers },
    encoding: "utf8",
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (r.status !== 0 || !line) throw new Error(`${script} failed (status ${r.status}): ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(line.slice(7)) as TorchResult;
}

function main(): void {
  const workloads = arg("workloads", "W1,W2").split(",");
  const rounds = Number(arg("rounds", "7"));
  const steps = Number(arg("steps", "125"));
  const peers = arg("peers", "/tmp/peers");
  const python = arg("python", "/usr/bin/python3");
  const backend = createBackend(arg("backend", DEFAULT_BACKEND), { threads: Number(arg("descent-threads", "1")) }) as CpuBackend;
  const data = loadMnist();
  const x = data.inputs.dataSync() as Float32Array;
  const y = data.labels.dataSync() as Int32Array;
  const nBatches = Math.min(50, Math.floor(data.length / BATCH));
  console.log(`${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at start, node ${process.version}`);
  for (const w of workloads) {
    const preset: Workload = w === "W1" ? "mlp" : "cnn";
    const threads = Number(arg("threads", w === "W1" ? "1" : "2"));
    const step = setupDescent(preset, backend, x, y, nBatches);
    let i = 0;
    for (let b = 0; b < 20; b++) step(i++);
    torchEpoch(python, peers, w, threads); // warm the page cache and Python's imports
    const ours: number[] = [], theirs: number[] = [], ratios: number[] = [];
    let torch: TorchResult | null = null;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let b = 0; b < steps; b++) step(i++);
      const rate = (steps * BATCH) / ((performance.now() - t0) / 1000);
      torch = torchEpoch(python, peers, w, threads);
      ours.push(rate);
      theirs.push(torch.samples_per_s);
      ratios.push(rate / torch.samples_per_s);
    }
    const out = {
      kind: "train-vs-torch", workload: w, backend: backend.name, matmul: backend.gemmKernel, descent_threads: backend.threads, torch: torch!.version, torch_threads: threads,
      rounds, descent_steps_per_round: steps, descent_samples_per_s_median: median(ours), torch_samples_per_s_median: median(theirs),
      ratio_of_medians: median(ours) / median(theirs), ratio_min: Math.min(...ratios), ratio_max: Math.max(...ratios),
      descent_peak_rss_mib: process.resourceUsage().maxRSS / 1024, torch_peak_rss_mib: torch!.peak_rss_mib_self, load_end: loadavg()[0],
    };
    process.stdout.write(`RESULT ${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...out })}\n`);
    console.log(
      `| ${w} | ${median(ours).toFixed(0)} (${Math.min(...ours).toFixed(0)}-${Math.max(...ours).toFixed(0)}) | ` +
        `${median(theirs).toFixed(0)} (${Math.min(...theirs).toFixed(0)}-${Math.max(...theirs).toFixed(0)}) | ` +
        `${out.ratio_of_medians.toFixed(2)} (${out.ratio_min.toFixed(2)}-${out.ratio_max.toFixed(2)}) | ` +
        `${out.descent_peak_rss_mib.toFixed(0)} | ${out.torch_peak_rss_mib.toFixed(0)} |`,
    );
  }
}

main();
