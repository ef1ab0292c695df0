/**
 * The fit loop: early stopping (stop and restore), the history it returns, non-finite losses,
 * reduceOnPlateau, regularization, gradient clipping, and await evaluate().
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { fromValues } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { createDataset, type Dataset } from "../../src/data/dataset.js";
import { buildSequential, l2Penalty, type LayerSpec, type Sequential } from "../../src/nn/index.js";
import { crossEntropy, mse } from "../../src/losses/index.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { ReduceOnPlateau } from "../../src/schedules/plateau.js";
import { learningRateOf } from "../../src/schedules/schedules.js";
import { readCheckpoint } from "../../src/io/checkpoint-file.js";
import { NonFiniteError } from "../../src/errors/errors.js";
import { Checkpointing } from "../../src/train/callbacks.js";
import { EarlyStopping, type Callback } from "../../src/train/callback.js";
import { evaluate, type FitOptions, type TrainableModel, type TrainContext } from "../../src/train/fit.js";
import { fit } from "../../src/train/fit-files.js";
import { mul } from "../../src/ops/elementwise.js";
import { Recorder, blobs, expectSameTensors, regression, sameTensors, tempDir } from "./helpers.js";

const ce = (o: Tensor, y: Tensor) => crossEntropy(o, y);
const mseLoss = (o: Tensor, y: Tensor) => mse(o, y.reshape([-1, 1]));
const MLP = (hidden: number, out: number): LayerSpec[] => [{ type: "linear", outFeatures: hidden }, { type: "relu" }, { type: "linear", outFeatures: out }];
const build = (specs: LayerSpec[], inputs: number, seed = 1): Sequential => buildSequential(specs, { inputShape: [inputs], rng: new Generator(seed) });

/** 60 training samples of 12 features with every 4th label wrong: a 64-unit MLP overfits them after ~15 epochs. */
function noisyTrain(): { train: Dataset; dev: Dataset } {
  const clean = blobs(60, { features: 12, seed: 1 });
  const y = Int32Array.from(clean.labels.dataSync());
  for (let i = 0; i < y.length; i += 4) y[i] = (y[i]! + 1) % 3;
  return { train: createDataset(clean.inputs, fromValues(y, [60]), { numClasses: 3 }), dev: blobs(300, { features: 12, seed: 2 }) };
}

describe("early stopping", () => {
  it("stops when the dev loss stops improving and restores the best epoch's weights", async () => {
    const { train, dev } = noisyTrain();
    const model = build(MLP(64, 3), 12);
    const optimizer = createOptimizer("adam", model, { lr: 0.002 });
    const recorder = new Recorder();
    const lines: string[] = [];
    const dir = tempDir("es");
    const es = new EarlyStopping({ patience: 3 });
    const history = await fit(model as TrainableModel, {
      train, dev, loss: ce, optimizer, epochs: 60, batchSize: 10, seed: 1, log: (l) => lines.push(l),
      callbacks: [recorder, es, new Checkpointing({ dir, keepLast: 1 })],
    });
    const devLosses = history.epochs.map((e) => e.devLoss!);
    const best = devLosses.indexOf(Math.min(...devLosses));
    const last = history.epochs.length - 1;
    // it stopped early, exactly `patience` epochs after the best one
    expect(history.epochs.length).toBeLessThan(60);
    expect(last).toBe(best + 3);
    expect(best).toBeGreaterThan(0);
    expect(history.stopReason).toMatch(/^early stopping: devLoss did not improve for 3 epochs \(best [\d.]+ at epoch \d+\)$/);
    expect(history.stopReason).toContain(`at epoch ${best + 1})`);
    expect(history.finalEpoch).toBe(best);
    expect(es.bestEpoch).toBe(best);
    expect(es.best).toBe(devLosses[best]);
    // the model holds the best epoch's weights, not the last one's
    expectSameTensors(recorder.weights.get(best)!, model.stateDict(), "restored weights");
    expect(sameTensors(recorder.weights.get(last)!, model.stateDict())).toBe(false);
    expectSameTensors(readCheckpoint(join(dir, "best.ckpt")).tensors.model!, model.stateDict(), "best.ckpt vs restored");
    expect(lines.some((l) => l.startsWith(`restored the weights of epoch ${best + 1}`))).toBe(true);
    // evaluating the restored model gives the best dev loss again
    expect((await evaluate(model as TrainableModel, dev, { loss: ce })).loss).toBeCloseTo(devLosses[best]!, 6);
  });

  it("patience 0 stops at the first epoch that does not improve; restoreBest false keeps the last weights", async () => {
    // a dev set whose labels are all shifted: learning the training set makes its loss rise at once
    const train = blobs(60, { seed: 1 });
    const dev = blobs(60, { seed: 2, flip: true });
    const model = build(MLP(16, 3), 8);
    const optimizer = createOptimizer("sgd", model, { lr: 0.1 });
    const recorder = new Recorder();
    const history = await fit(model as TrainableModel, {
      train, dev, loss: ce, optimizer, epochs: 20, batchSize: 20, seed: 1, log: () => {},
      callbacks: [recorder, new EarlyStopping({ patience: 0, restoreBest: false })],
    });
    expect(history.epochs).toHaveLength(2);
    expect(history.epochs[1]!.devLoss!).toBeGreaterThanOrEqual(history.epochs[0]!.devLoss!);
    expect(history.stopReason).toMatch(/did not improve for 1 epoch \(/);
    expect(history.finalEpoch).toBe(1);
    expectSameTensors(recorder.weights.get(1)!, model.stateDict(), "last weights");
  });

  it("refuses to monitor a dev metric without a dev set, naming the monitor", async () => {
    const train = blobs(30, { seed: 1 });
    const model = build(MLP(4, 3), 8);
    const run = fit(model as TrainableModel, {
      train, loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 2, batchSize: 10, log: () => {},
      callbacks: [new EarlyStopping()],
    });
    await expect(run).rejects.toThrow(/monitor "devLoss" is not measured \(no dev set\)/);
  });
});

describe("history", () => {
  it("has one log per epoch with steps, losses, accuracies, lr and speed", async () => {
    const train = blobs(90, { seed: 1 });
    const dev = blobs(30, { seed: 2 });
    const model = build(MLP(16, 3), 8);
    const optimizer = createOptimizer("sgd", model, { lr: 0.1 });
    const recorder = new Recorder();
    const history = await fit(model as TrainableModel, { train, dev, loss: ce, optimizer, epochs: 3, batchSize: 20, seed: 1, callbacks: [recorder], log: () => {} });
    expect(history.stopReason).toBeNull();
    expect(history.interrupted).toBe(false);
    expect(history.finalEpoch).toBe(2);
    expect(history.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(history.epochs.map((e) => e.step)).toEqual([5, 10, 15]); // ceil(90 / 20) = 5 batches per epoch
    for (const e of history.epochs) {
      expect(Object.keys(e).sort()).toEqual(["devAccuracy", "devLoss", "epoch", "lr", "samplesPerSecond", "seconds", "step", "trainAccuracy", "trainLoss"]);
      expect(e.lr).toBe(0.1);
      expect(e.seconds).toBeGreaterThan(0);
      expect(e.samplesPerSecond).toBeCloseTo(90 / e.seconds, 6);
      for (const v of [e.trainAccuracy!, e.devAccuracy!]) expect(v >= 0 && v <= 1).toBe(true);
      // the train loss is the sample-weighted mean of the epoch's step losses
      const steps = recorder.steps.filter((s) => s.epoch === e.epoch);
      const mean = steps.reduce((s, l) => s + l.loss * l.batchSize, 0) / 90;
      expect(e.trainLoss).toBeCloseTo(mean, 10);
    }
    expect(recorder.steps.map((s) => s.step)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(recorder.steps.map((s) => s.batchSize).slice(0, 5)).toEqual([20, 20, 20, 20, 10]);
    // separable blobs: it learns
    expect(history.epochs[2]!.trainLoss).toBeLessThan(history.epochs[0]!.trainLoss);
    expect(history.epochs[2]!.devAccuracy!).toBeGreaterThan(0.6);
    // the dev numbers are those await evaluate() gives for the final model
    const ev = await evaluate(model as TrainableModel, dev, { loss: ce });
    expect(ev.loss).toBeCloseTo(history.epochs[2]!.devLoss!, 10);
    expect(ev.accuracy).toBe(history.epochs[2]!.devAccuracy);
  });

  it("regression (float targets): losses without accuracies", async () => {
    const train = regression(64);
    const model = build([{ type: "linear", outFeatures: 1 }], 4);
    const history = await fit(model as TrainableModel, {
      train, loss: mseLoss, optimizer: createOptimizer("sgd", model, { lr: 0.05 }), epochs: 5, batchSize: 16, seed: 1, log: () => {},
    });
    expect(history.epochs[0]!.trainAccuracy).toBeUndefined();
    expect(history.epochs[0]!.devLoss).toBeUndefined();
    expect(history.epochs[4]!.trainLoss).toBeLessThan(0.5 * history.epochs[0]!.trainLoss);
  });
});

describe("non-finite loss", () => {
  it("a learning rate far too large stops with NonFiniteError naming the step, the last finite loss and the learning rate", async () => {
    const train = regression(64);
    const model = build([{ type: "linear", outFeatures: 1 }], 4);
    const recorder = new Recorder();
    const run = fit(model as TrainableModel, {
      train, loss: mseLoss, optimizer: createOptimizer("sgd", model, { lr: 1e3 }), epochs: 50, batchSize: 16, seed: 1,
      callbacks: [recorder], log: () => {},
    });
    const err = await run.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    const message = (err as Error).message;
    const lastStep = recorder.steps.at(-1)!;
    expect(message).toContain(`at step ${lastStep.step + 1} (epoch ${Math.floor((lastStep.step + 1) / 4) + 1})`);
    expect(message).toContain(`last finite loss ${lastStep.loss.toPrecision(6)}`);
    expect(message).toMatch(/lr 1\.00e\+3/);
    expect(message).toMatch(/learning rate is likely too high/);
    expect(message).toMatch(/largest gradient norms at the previous step: \d\.weight/);
  });

  it("NaN in the data stops at the first step, with no finite loss yet and advice to check the data", async () => {
    const clean = blobs(20, { seed: 1 });
    const x = Float32Array.from(clean.inputs.dataSync());
    x[37] = NaN;
    const train = createDataset(fromValues(x, [20, 8]), clean.labels, { numClasses: 3 });
    const model = build(MLP(4, 3), 8);
    const run = fit(model as TrainableModel, {
      train, loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 2, batchSize: 20, seed: 1, log: () => {},
    });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(/the loss became NaN at step 0 \(epoch 1\); last finite loss none;.*check the input data for NaN.*learning rate/);
  });
});

describe("schedules, regularization and clipping", () => {
  it("reduceOnPlateau lowers the learning rate in the log when the dev loss stops improving", async () => {
    const train = blobs(60, { seed: 1 });
    const dev = blobs(60, { seed: 2, flip: true });
    const model = build(MLP(16, 3), 8);
    const schedule = new ReduceOnPlateau({ lr0: 0.1, factor: 0.5, patience: 1 });
    const optimizer = createOptimizer("sgd", model, { lr: learningRateOf(schedule, 1) });
    const recorder = new Recorder();
    const history = await fit(model as TrainableModel, { train, dev, loss: ce, optimizer, schedule, epochs: 6, batchSize: 20, seed: 1, callbacks: [recorder], log: () => {} });
    const lrs = history.epochs.map((e) => e.lr);
    // replay PyTorch's rule on the logged dev losses: the lr of epoch e+1 follows from epochs 0..e
    let best = Infinity, bad = 0, lr = 0.1;
    const expected = [lr];
    for (const e of history.epochs.slice(0, -1)) {
      if (e.devLoss! < best * (1 - 1e-4)) [best, bad] = [e.devLoss!, 0];
      else bad++;
      if (bad > 1) [lr, bad] = [lr * 0.5, 0];
      expected.push(lr);
    }
    expect(lrs).toEqual(expected);
    expect(lrs.at(-1)!).toBeLessThan(0.1);
    // the step logs carry the lr each step used
    for (const s of recorder.steps) expect(s.lr).toBe(lrs[s.epoch]);
    expect(schedule.lr).toBeLessThanOrEqual(lrs.at(-1)!);
  });

  it("a per-step schedule fed into the optimizer gives each step its rate", async () => {
    const train = blobs(40, { seed: 1 });
    const model = build(MLP(4, 3), 8);
    const { createSchedule } = await import("../../src/schedules/create.js");
    const schedule = createSchedule({ type: "exponential", gamma: 0.9, interval: "step" }, 0.1);
    const optimizer = createOptimizer("sgd", model, { lr: learningRateOf(schedule, 4) });
    const recorder = new Recorder();
    await fit(model as TrainableModel, { train, loss: ce, optimizer, schedule, epochs: 2, batchSize: 10, seed: 1, callbacks: [recorder], log: () => {} });
    recorder.steps.forEach((s, i) => expect(s.lr).toBeCloseTo(0.1 * 0.9 ** i, 12));
    // the schedule is the one source of the rate: setting it on the optimizer is refused
    expect(() => (optimizer.lr = 0.5)).toThrow(/follows a schedule/);
  });

  it("fit refuses a schedule the optimizer does not follow, or one fed with another epoch length", async () => {
    const train = blobs(40, { seed: 1 });
    const model = build(MLP(4, 3), 8);
    const { createSchedule } = await import("../../src/schedules/create.js");
    const schedule = createSchedule({ type: "exponential", gamma: 0.9 }, 0.1);
    const run = (optimizer: ReturnType<typeof createOptimizer>) =>
      fit(model as TrainableModel, { train, loss: ce, optimizer, schedule, epochs: 1, batchSize: 10, seed: 1, log: () => {} });
    await expect(run(createOptimizer("sgd", model, { lr: 0.1 }))).rejects.toThrow(/does not follow the schedule given to fit; feed it in: .*learningRateOf\(schedule, 4\)/);
    await expect(run(createOptimizer("sgd", model, { lr: learningRateOf(schedule, 3) }))).rejects.toThrow(/fed to the optimizer with 3 steps per epoch, but an epoch here has 4 batches/);
  });

  it("L2 regularization adds λ‖W‖² to the loss and shrinks the weights", async () => {
    const train = blobs(60, { seed: 1 });
    const lambda = 0.05;
    const run = async (regularize: boolean) => {
      const model = build(MLP(16, 3), 8);
      const recorder = new Recorder();
      const options: FitOptions = {
        train, loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 5, batchSize: 20, seed: 1, callbacks: [recorder], log: () => {},
        regularization: regularize ? (m) => l2Penalty(m as Sequential, lambda) : undefined,
      };
      await fit(model as TrainableModel, options);
      return { model, recorder };
    };
    const plain = await run(false);
    const reg = await run(true);
    // the first step sees the same weights and batch: the losses differ by exactly the penalty
    const penalty0 = l2Penalty(build(MLP(16, 3), 8), lambda).item();
    expect(penalty0).toBeGreaterThan(0);
    expect(reg.recorder.steps[0]!.loss).toBeGreaterThan(plain.recorder.steps[0]!.loss);
    expect(reg.recorder.steps[0]!.loss - plain.recorder.steps[0]!.loss).toBeCloseTo(penalty0, 5);
    expect(reg.recorder.epochs[0]!.trainLoss).toBeGreaterThan(plain.recorder.epochs[0]!.trainLoss);
    const sq = (m: Sequential) => l2Penalty(m, 1).item();
    expect(sq(reg.model)).toBeLessThan(sq(plain.model));
  });

  it("clipGradNorm bounds every update: ‖Δθ‖ <= lr · maxNorm", async () => {
    // targets scaled by 100: the raw gradients are large
    const base = regression(64);
    const train = createDataset(base.inputs, fromValues(Float32Array.from(base.labels.dataSync(), (v) => 100 * v), [64]));
    const lr = 0.01, maxNorm = 1;
    const run = async (clip: number | undefined) => {
      const model = build([{ type: "linear", outFeatures: 8 }, { type: "tanh" }, { type: "linear", outFeatures: 1 }], 4);
      const updates: number[] = [];
      let before = model.stateDict();
      const tracker: Callback = {
        name: "tracker",
        onBatchEnd: (ctx) => {
          const after = ctx.model.stateDict();
          let s = 0;
          for (const k of Object.keys(after)) {
            const a = after[k]!.dataSync(), b = before[k]!.dataSync();
            for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
          }
          updates.push(Math.sqrt(s));
          before = after;
        },
      };
      const recorder = new Recorder();
      await fit(model as TrainableModel, {
        train, loss: mseLoss, optimizer: createOptimizer("sgd", model, { lr }), epochs: 3, batchSize: 16, seed: 1, clipGradNorm: clip,
        callbacks: [tracker, recorder], log: () => {},
      });
      return { updates, gradNorms: recorder.steps.map((s) => s.gradNorm) };
    };
    const clipped = await run(maxNorm);
    expect(clipped.updates).toHaveLength(12);
    // the logged gradient norm is the one before clipping: the clip did act
    expect(clipped.gradNorms.every((g) => g > maxNorm)).toBe(true);
    for (const u of clipped.updates) {
      expect(u).toBeLessThanOrEqual(lr * maxNorm * (1 + 1e-4));
      expect(u).toBeCloseTo(lr * maxNorm, 5); // every gradient was over the bound: each update is exactly at it
    }
    const free = await run(undefined);
    expect(Math.max(...free.updates)).toBeGreaterThan(10 * lr * maxNorm);
    // plain SGD moves θ by lr · g: the logged norm is the gradient's
    free.updates.forEach((u, i) => expect(Math.abs(u - lr * free.gradNorms[i]!)).toBeLessThan(1e-4 * u));
  });
});

describe("evaluate", () => {
  it("gives loss, accuracy, predictions and a confusion matrix whose total is the dataset size", async () => {
    const train = blobs(90, { seed: 1 });
    const test = blobs(47, { seed: 5 });
    const model = build(MLP(16, 3), 8);
    await fit(model as TrainableModel, { train, loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 3, batchSize: 20, seed: 1, log: () => {} });
    const ev = await evaluate(model as TrainableModel, test, { loss: ce, confusion: true, batchSize: 10 });
    const c = ev.confusion!;
    expect(c.numClasses).toBe(3);
    expect(c.total).toBe(47);
    expect(c.counts.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([16, 16, 15]); // per true class
    expect(c.accuracy).toBeCloseTo(ev.accuracy!, 12);
    expect(ev.accuracy).toBeGreaterThan(0.8);
    expect(ev.predictions).toHaveLength(47);
    const labels = test.labels.dataSync();
    const correct = ev.predictions!.reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0);
    expect(correct / 47).toBe(ev.accuracy);
    c.counts.forEach((row, i) => row.forEach((n, j) => expect(n).toBe(ev.predictions!.filter((p, k) => labels[k] === i && p === j).length)));
    // the batch size does not change the numbers
    const whole = await evaluate(model as TrainableModel, test, { loss: ce, batchSize: 500 });
    expect(whole.accuracy).toBe(ev.accuracy);
    expect(whole.loss).toBeCloseTo(ev.loss!, 6);
    expect(whole.confusion).toBeUndefined();
    // without a loss function there is no loss
    expect((await evaluate(model as TrainableModel, test)).loss).toBeUndefined();
  });

  it("leaves the model in the mode it found it in", async () => {
    const model = build([{ type: "linear", outFeatures: 4 }, { type: "dropout", p: 0.5 }, { type: "linear", outFeatures: 3 }], 8);
    model.eval();
    await evaluate(model as TrainableModel, blobs(10, { seed: 1 }));
    expect(model.training).toBe(false);
    model.train();
    await evaluate(model as TrainableModel, blobs(10, { seed: 1 }));
    expect(model.training).toBe(true);
  });
});

describe("onTrainEnd", () => {
  /** Records the outcome each onTrainEnd sees, and aborts a controller after `abortAfter` steps. */
  class Ending implements Callback {
    readonly name = "ending";
    readonly outcomes: string[] = [];
    constructor(private readonly controller?: AbortController, private readonly abortAfter = 0) {}
    onBatchEnd(ctx: { step: number }): void {
      if (this.controller && ctx.step >= this.abortAfter) this.controller.abort();
    }
    onTrainEnd(ctx: { outcome: string }): void {
      this.outcomes.push(ctx.outcome);
    }
  }
  const base = () => {
    const model = build(MLP(4, 3), 8);
    return { model, options: { train: blobs(40, { seed: 1 }), dev: blobs(20, { seed: 2 }), loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 3, batchSize: 10, seed: 1, log: () => {} } };
  };

  it("runs once for a finished, an interrupted and a failed run, with the outcome", async () => {
    const finished = new Ending();
    const a = base();
    await fit(a.model as TrainableModel, { ...a.options, callbacks: [finished] });
    expect(finished.outcomes).toEqual(["finished"]);

    const controller = new AbortController();
    const interrupted = new Ending(controller, 6);
    const b = base();
    const history = await fit(b.model as TrainableModel, { ...b.options, signal: controller.signal, callbacks: [interrupted] });
    expect(history.interrupted).toBe(true);
    expect(interrupted.outcomes).toEqual(["interrupted"]);

    const failed = new Ending();
    const c = base();
    const nan: FitOptions["loss"] = (o, y) => mul(ce(o, y), NaN);
    await expect(fit(c.model as TrainableModel, { ...c.options, loss: nan, callbacks: [failed] })).rejects.toThrow(NonFiniteError);
    expect(failed.outcomes).toEqual(["failed"]);
  });

  it("early stopping restores the best weights only when the run finished, not when interrupted or failed", () => {
    const { model } = base();
    const best = model.stateDict();
    for (const outcome of ["finished", "interrupted", "failed"] as const) {
      const es = new EarlyStopping();
      es.bestEpoch = 0;
      es.bestState = best;
      const loaded: string[] = [];
      const ctx = { model: { loadStateDict: () => loaded.push(outcome) }, lastEpoch: 3, outcome, log: () => {} } as unknown as TrainContext;
      es.onTrainEnd(ctx);
      expect(loaded).toEqual(outcome === "finished" ? ["finished"] : []);
    }
  });
});

describe("fit's arguments", () => {
  it("refuses epochs or batchSize that are not positive integers, as the CLI does", async () => {
    const model = build(MLP(4, 3), 8);
    const base = { train: blobs(20, { seed: 1 }), loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 1, batchSize: 10, log: () => {} };
    await expect(fit(model as TrainableModel, { ...base, epochs: 0 })).rejects.toThrow("fit: epochs must be an integer >= 1, got 0");
    await expect(fit(model as TrainableModel, { ...base, epochs: 1.5 })).rejects.toThrow("fit: epochs must be an integer >= 1, got 1.5");
    await expect(fit(model as TrainableModel, { ...base, batchSize: 0 })).rejects.toThrow("fit: batchSize must be an integer >= 1, got 0");
  });

  it("says so when the batch size is more than the training samples (each epoch is then one batch)", async () => {
    const model = build(MLP(4, 3), 8);
    const lines: string[] = [];
    const history = await fit(model as TrainableModel, {
      train: blobs(20, { seed: 1 }), loss: ce, optimizer: createOptimizer("sgd", model, { lr: 0.1 }), epochs: 1, batchSize: 64, log: (l) => lines.push(l),
    });
    expect(lines).toEqual(["batch size 64 is more than the 20 training samples: each epoch is one batch of 20"]);
    expect(history.epochs[0]!.step).toBe(1);
  });
});
