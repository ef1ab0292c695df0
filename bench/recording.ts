/**
 * What training records cost (src/train/records.ts): the time of one record (the probe's forward
 * pass over 128 samples in evaluation mode, the activation statistics, the per-parameter norms and
 * the weight snapshot) against the time of one training step (forward, loss, backward, Adam), on
 * W1 (MLP 784-256-128-10) and W2 (the CNN), batch 64, float32, the bundled digits. The overhead
 * is recordCost / (N × stepTime) with N the interval trainingRecorder picks for the batch size.
 * Each figure is the median of several timed repetitions after a warm-up, steps and records
 * alternating so both see the same machine load.
 *
 *   npm run build && node dist/bench/recording.js                 # both workloads
 *   node dist/bench/recording.js --workloads=cnn --reps=9
 */
import { loadavg } from "node:os";
import {
  buildSequential, createOptimizer, crossEntropy, Generator, loadMnist, presetSpecs, takeRows, TrainingRecorder, trainingRecorder,
  type StepLog, type TrainContext,
} from "../src/node.js";
import { arg, median, now } from "./util.js";

const batch = 64;
const reps = Number(arg("reps", "7"));
const stepsPerRep = Number(arg("steps", "10"));
const data = loadMnist();
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const workload of arg("workloads", "mlp,cnn").split(",") as ("mlp" | "cnn")[]) {
  const model = buildSequential(presetSpecs(workload), { inputShape: workload === "mlp" ? [784] : [1, 28, 28], rng: new Generator(1) });
  const opt = createOptimizer("adam", model, { lr: 1e-3 });
  const x = takeRows(data.inputs, Int32Array.from({ length: batch }, (_, i) => i));
  const xs = workload === "mlp" ? x.reshape([batch, 784]) : x;
  const y = takeRows(data.labels, Int32Array.from({ length: batch }, (_, i) => i));
  const train = { ...data, inputs: workload === "mlp" ? data.inputs.reshape([data.length, 784]) : data.inputs, featureShape: workload === "mlp" ? [784] : [1, 28, 28] };
  let recordCount = 0;
  const interval = trainingRecorder(model, train, batch, () => {}).every;
  // every = 1: each onBatchEnd writes one record and takes the next snapshot, as one record does in use
  const recorder = new TrainingRecorder(model, () => recordCount++, { every: 1, probe: takeRows(train.inputs, Int32Array.from({ length: 128 }, (_, i) => i)) });
  const gradNorms = new Map(model.namedParameters().map(([n]) => [n, 1]));
  let step = 0;
  const ctx = { get step() { return step; }, gradNorms } as unknown as TrainContext;
  const log = (): StepLog => ({ epoch: 0, step: step - 1, loss: 0, lr: 1e-3, gradNorm: 0, batchSize: batch });
  const trainStep = () => {
    crossEntropy(model.forward(xs), y).backward();
    opt.step();
    opt.zeroGrad();
    step++;
  };
  recorder.onTrainBegin(ctx);
  for (let i = 0; i < 3; i++) {
    trainStep();
    recorder.onBatchEnd(ctx, log());
  }
  const stepTimes: number[] = [], recordTimes: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = now();
    for (let i = 0; i < stepsPerRep; i++) trainStep();
    stepTimes.push((now() - t) / stepsPerRep);
    t = now();
    recorder.onBatchEnd(ctx, log());
    recordTimes.push(now() - t);
  }
  const s = median(stepTimes), rc = median(recordTimes);
  const result = { workload, batch, stepMs: 1000 * s, recordMs: 1000 * rc, interval, overheadPercent: (100 * rc) / (interval * s), records: recordCount };
  console.log(`RESULT ${JSON.stringify(result)}`);
  console.log(`${workload}: step ${result.stepMs.toFixed(1)} ms, record ${result.recordMs.toFixed(1)} ms, every ${interval} steps -> overhead ${result.overheadPercent.toFixed(2)}%`);
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
