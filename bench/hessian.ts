/**
 * How long the Hessian's extreme eigenvalues take (src/diagnose): the W2 CNN (and the W1 MLP) after
 * a few hundred Adam steps on the bundled digits (a checkpoint mid-training), its loss on 256
 * training samples in float64, λmin and λmax by Lanczos over exact Hessian-vector products (to a
 * residual of 1e-8 of the spectrum's scale, as `descent diagnose` runs it), then the trace
 * (Hutchinson, 10 probes) and the spectral density (SLQ, 4 probes of 40 steps). Times are
 * wall-clock seconds of one run each (the product count says how much work it was); the machine
 * is shared, so the per-product time is the figure to compare.
 *
 *   npm run build && node dist/bench/hessian.js                  # W2 then W1
 *   node dist/bench/hessian.js --workloads=mlp --samples=128 --train-steps=100
 */
import { loadavg } from "node:os";
import {
  buildSequential, createOptimizer, crossEntropy, Generator, hutchinsonTrace, lanczos, loadMnist, lossFunctionOf,
  presetSpecs, spectralDensity, takeRows,
} from "../src/node.js";
import { arg, now } from "./util.js";

const samples = Number(arg("samples", "256"));
const trainSteps = Number(arg("train-steps", "200"));
const data = loadMnist();
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const workload of arg("workloads", "cnn,mlp").split(",") as ("mlp" | "cnn")[]) {
  const shape = workload === "mlp" ? [784] : [1, 28, 28];
  const model = buildSequential(presetSpecs(workload), { inputShape: shape, rng: new Generator(1) });
  const opt = createOptimizer("adam", model, { lr: 1e-3 });
  const rows = (from: number, n: number) => Int32Array.from({ length: n }, (_, i) => from + i);
  const input = (idx: Int32Array) => takeRows(data.inputs, idx).reshape([idx.length, ...shape]);
  for (let s = 0; s < trainSteps; s++) {
    const idx = rows((s * 64) % (data.length - 64), 64);
    crossEntropy(model.forward(input(idx)), takeRows(data.labels, idx)).backward();
    opt.step();
    opt.zeroGrad();
  }
  const idx = rows(0, samples);
  let t = now();
  const f = await lossFunctionOf(model, crossEntropy, input(idx), takeRows(data.labels, idx));
  const setup = now() - t;
  t = now();
  const r = await lanczos(f.hvp, f.size, { k: 1, tol: 1e-8 });
  const extremes = now() - t;
  t = now();
  const trace = await hutchinsonTrace(f.hvp, f.size, { samples: 10 });
  const traceS = now() - t;
  t = now();
  await spectralDensity(f.hvp, f.size, {});
  const densityS = now() - t;
  const result = {
    workload, params: f.size, samples, setupS: setup, extremesS: extremes, lanczosSteps: r.steps, products: r.products, converged: r.converged,
    perProductMs: (1000 * extremes) / r.products, lambdaMin: r.smallest[0]!.value, lambdaMax: r.largest[0]!.value,
    traceS, trace: trace.estimate, densityS,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
  console.log(
    `${workload}: ${f.size} parameters, ${samples} samples: setup ${setup.toFixed(2)} s; λmin ${result.lambdaMin.toPrecision(4)}, λmax ${result.lambdaMax.toPrecision(4)} ` +
    `in ${extremes.toFixed(1)} s (${r.steps} Lanczos steps, ${result.perProductMs.toFixed(0)} ms per H·v, converged ${r.converged}); ` +
    `trace ${traceS.toFixed(1)} s; density ${densityS.toFixed(1)} s`,
  );
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
