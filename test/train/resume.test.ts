/**
 * Resume continues bit-identically: 2 epochs straight and 1 epoch + stop + resume + 1 epoch give
 * byte-identical weights, optimizer state and logs; also when stopped in the middle of an epoch
 * (AbortSignal, interruptCheckpoint). The model has dropout (its generator matters) and batch norm
 * (buffers); Adam with a per-epoch exponential schedule; randomCrop augmentation; a dev set;
 * early stopping and checkpoints.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import type { Dataset } from "../../src/data/dataset.js";
import type { AugmentSpec } from "../../src/data/augment.js";
import { buildSequential, type LayerSpec } from "../../src/nn/index.js";
import { crossEntropy } from "../../src/losses/index.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { createSchedule } from "../../src/schedules/create.js";
import { learningRateOf } from "../../src/schedules/schedules.js";
import { readCheckpoint } from "../../src/io/checkpoint-file.js";
import { Checkpointing } from "../../src/train/callbacks.js";
import { EarlyStopping, type Callback } from "../../src/train/callback.js";
import type { FitOptions, History, TrainableModel } from "../../src/train/fit.js";
import { fit } from "../../src/train/fit-files.js";
import { cpu } from "../../src/backend/cpu/cpu.js";
import { currentBackend, withBackend } from "../../src/backend/registry.js";
import type { TrainState } from "../../src/train/fit.js";
import { Recorder, blobs, expectSameTensors, sameTensors, smallDigits, tempDir, timeless } from "./helpers.js";

const SPECS: LayerSpec[] = [
  { type: "conv2d", outChannels: 4, kernelSize: 3, padding: "same" },
  { type: "batchNorm2d" },
  { type: "relu" },
  { type: "maxPool2d", kernelSize: 4 },
  { type: "flatten" },
  { type: "dropout", p: 0.3 },
  { type: "linear", outFeatures: 10 },
];
const AUGMENT: AugmentSpec[] = [{ type: "randomCrop", padding: 2 }];
const SEED = 7;
const BATCH = 32;

let data: { train: Dataset; dev: Dataset };
beforeAll(() => {
  data = smallDigits(256, 96);
});

/** Everything a run needs, fresh, from the same seeds. */
function setup(dir: string, extra: Callback[] = [], everySteps: number | null = null) {
  const modelRng = new Generator(SEED);
  const model = buildSequential(SPECS, { inputShape: [1, 28, 28], rng: modelRng });
  const schedule = createSchedule({ type: "exponential", gamma: 0.7 }, 3e-3);
  const optimizer = createOptimizer("adam", model, { lr: learningRateOf(schedule, Math.ceil(data.train.length / BATCH)) });
  const recorder = new Recorder();
  const earlyStopping = new EarlyStopping({ patience: 5 });
  const callbacks: Callback[] = [earlyStopping, new Checkpointing({ dir, keepLast: everySteps === null ? 3 : 10, everySteps }), recorder, ...extra];
  const options = (epochs: number, more: Partial<FitOptions> = {}): FitOptions => ({
    train: data.train, dev: data.dev, loss: (o, y) => crossEntropy(o, y), optimizer, schedule, epochs, batchSize: BATCH,
    seed: SEED, augment: AUGMENT, callbacks, modelRng, log: () => {}, ...more,
  });
  return { model, modelRng, optimizer, schedule, recorder, earlyStopping, options };
}

type Run = ReturnType<typeof setup> & { history: History };

function expectSameRun(a: Run, b: Run, what: string): void {
  expectSameTensors(a.model.stateDict(), b.model.stateDict(), `${what}: model`);
  const oa = a.optimizer.stateDict(), ob = b.optimizer.stateDict();
  expectSameTensors(oa.tensors, ob.tensors, `${what}: optimizer`);
  expect(ob.meta, `${what}: optimizer meta`).toEqual(oa.meta);
  expect(b.modelRng.getState(), `${what}: dropout generator`).toEqual(a.modelRng.getState());
  expect(b.optimizer.lr).toBe(a.optimizer.lr);
  expect(timeless(b.history.epochs), `${what}: epoch logs`).toEqual(timeless(a.history.epochs));
  expect(b.history.finalEpoch).toBe(a.history.finalEpoch);
  expect(b.history.stopReason).toBe(a.history.stopReason);
  expect({ best: b.earlyStopping.best, bestEpoch: b.earlyStopping.bestEpoch, wait: b.earlyStopping.wait }).toEqual({
    best: a.earlyStopping.best, bestEpoch: a.earlyStopping.bestEpoch, wait: a.earlyStopping.wait,
  });
}

describe("resume", () => {
  let straight: Run;
  let epochOne = "";
  beforeAll(async () => {
    const s = setup(tempDir("straight"));
    straight = { ...s, history: await fit(s.model as TrainableModel, s.options(2)) };
  });

  it("the straight run trains: two epochs, lr decayed, weights moved by the second epoch", () => {
    expect(straight.history.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(straight.history.epochs[1]!.lr).toBeCloseTo(3e-3 * 0.7, 12);
    expect(straight.history.interrupted).toBe(false);
    expect(sameTensors(straight.recorder.weights.get(0)!, straight.recorder.weights.get(1)!)).toBe(false);
  });

  it("1 epoch + stop + resume + 1 epoch is byte-identical to 2 epochs straight", async () => {
    const dir = tempDir("resume");
    const first = setup(dir);
    const h1 = await fit(first.model as TrainableModel, first.options(1));
    expect(h1.epochs).toHaveLength(1);
    // the first epoch of both runs is the same
    expectSameTensors(straight.recorder.weights.get(0)!, first.recorder.weights.get(0)!, "after epoch 1");
    const ckpt = join(dir, "epoch-1.ckpt");
    expect(existsSync(ckpt)).toBe(true);
    epochOne = ckpt;

    const second = setup(tempDir("resume-2"));
    const history = await fit(second.model as TrainableModel, second.options(2, { resumeFrom: ckpt }));
    expect(second.recorder.epochs.map((e) => e.epoch)).toEqual([1]); // only the second epoch ran
    expectSameTensors(straight.recorder.weights.get(1)!, second.recorder.weights.get(1)!, "after epoch 2 (before any restore)");
    expectSameRun(straight, { ...second, history }, "epoch-boundary resume");
    // the step logs of the resumed epoch are those of the straight run's second epoch
    expect(second.recorder.steps).toEqual(straight.recorder.steps.filter((s) => s.epoch === 1));
  });

  it("stopped mid-epoch by a signal, resumed from interruptCheckpoint: byte-identical to the straight run", async () => {
    const stopAfter = 11; // 8 batches per epoch: 3 batches into the second epoch
    const controller = new AbortController();
    const aborter: Callback = {
      name: "aborter",
      onBatchEnd: (ctx) => {
        if (ctx.step === stopAfter) controller.abort();
      },
    };
    const dir = tempDir("interrupt");
    const interrupted = join(dir, "interrupted.ckpt");
    const first = setup(dir, [aborter]);
    const h1 = await fit(first.model as TrainableModel, first.options(2, { signal: controller.signal, interruptCheckpoint: interrupted }));
    expect(h1.interrupted).toBe(true);
    expect(h1.epochs).toHaveLength(1);
    expect(first.recorder.steps).toHaveLength(stopAfter);
    const state = readCheckpoint(interrupted).state as TrainState;
    expect(state.step).toBe(stopAfter);
    expect(state.epoch).toBe(1);
    expect(state.loader.batchIndex).toBe(stopAfter - 8);

    const second = setup(tempDir("interrupt-2"));
    const history = await fit(second.model as TrainableModel, second.options(2, { resumeFrom: interrupted }));
    expect(history.interrupted).toBe(false);
    expect(second.recorder.steps.map((s) => s.step)).toEqual([11, 12, 13, 14, 15]);
    expect(second.recorder.steps).toEqual(straight.recorder.steps.slice(stopAfter));
    expectSameTensors(straight.recorder.weights.get(1)!, second.recorder.weights.get(1)!, "after epoch 2 (before any restore)");
    expectSameRun(straight, { ...second, history }, "mid-epoch resume");
  });

  it("stopped by a signal after the last batch of an epoch (before its end): resumes byte-identically", async () => {
    const controller = new AbortController();
    const aborter: Callback = { name: "aborter", onBatchEnd: (ctx) => void (ctx.step === 8 && controller.abort()) };
    const dir = tempDir("interrupt-edge");
    const interrupted = join(dir, "interrupted.ckpt");
    const first = setup(dir, [aborter]);
    const h1 = await fit(first.model as TrainableModel, first.options(2, { signal: controller.signal, interruptCheckpoint: interrupted }));
    expect(h1.interrupted).toBe(true);
    expect(h1.epochs).toHaveLength(0); // the first epoch's batches ran, its end (dev evaluation, logs) did not
    const state = readCheckpoint(interrupted).state as TrainState;
    expect([state.epoch, state.step, state.loader.batchIndex]).toEqual([0, 8, 8]);

    const secondDir = tempDir("interrupt-edge-2");
    const second = setup(secondDir);
    const history = await fit(second.model as TrainableModel, second.options(2, { resumeFrom: interrupted }));
    expect(second.recorder.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(second.recorder.steps).toEqual(straight.recorder.steps.slice(8));
    expectSameTensors(straight.recorder.weights.get(0)!, second.recorder.weights.get(0)!, "after epoch 1");
    expectSameTensors(straight.recorder.weights.get(1)!, second.recorder.weights.get(1)!, "after epoch 2 (before any restore)");
    expectSameRun(straight, { ...second, history }, "resume after the last batch");

    // and the epoch-1 checkpoint the resumed run wrote resumes the same way again
    const third = setup(tempDir("interrupt-edge-3"));
    const h3 = await fit(third.model as TrainableModel, third.options(2, { resumeFrom: join(secondDir, "epoch-1.ckpt") }));
    expect(third.recorder.steps).toEqual(straight.recorder.steps.slice(8));
    expectSameRun(straight, { ...third, history: h3 }, "resume of a resumed run's epoch checkpoint");
  });

  it("resumes byte-identically from step-S.ckpt files, mid-epoch and at an epoch's last batch", async () => {
    const dir = tempDir("steps");
    const first = setup(dir, [], 4);
    await fit(first.model as TrainableModel, first.options(2));
    expect(readdirSync(dir).filter((f) => f.startsWith("step-")).sort()).toEqual(["step-12.ckpt", "step-16.ckpt", "step-4.ckpt", "step-8.ckpt"]);
    expectSameTensors(straight.recorder.weights.get(1)!, first.recorder.weights.get(1)!, "with step checkpoints");
    for (const s of [4, 8, 12]) {
      const resumed = setup(tempDir(`steps-${s}`), [], 4);
      const history = await fit(resumed.model as TrainableModel, resumed.options(2, { resumeFrom: join(dir, `step-${s}.ckpt`) }));
      expect(resumed.recorder.steps, `from step ${s}`).toEqual(straight.recorder.steps.slice(s));
      expectSameRun(straight, { ...resumed, history }, `resume from step-${s}.ckpt`);
    }
  });

  it("the check has teeth: a resume that loses the dropout generator's state differs", async () => {
    expect(epochOne).not.toBe("");
    const second = setup(tempDir("teeth"));
    const { modelRng: _dropped, ...withoutRng } = second.options(2, { resumeFrom: epochOne });
    await fit(second.model as TrainableModel, withoutRng);
    expect(sameTensors(straight.recorder.weights.get(1)!, second.recorder.weights.get(1)!)).toBe(false);
  });
});

describe("resume on the model's own backend", () => {
  it("a model and data made under withBackend resume there, with fit called outside it", async () => {
    expect(currentBackend()).not.toBe(cpu);
    const d = withBackend(cpu, () => ({ train: blobs(96, { seed: 1, role: "train" }), dev: blobs(32, { seed: 2, role: "dev" }) }));
    expect(d.train.inputs.backend).toBe(cpu);
    const make = () => withBackend(cpu, () => {
      const modelRng = new Generator(SEED);
      const model = buildSequential([{ type: "linear", outFeatures: 8 }, { type: "relu" }, { type: "dropout", p: 0.2 }, { type: "linear", outFeatures: 3 }], { inputShape: [8], rng: modelRng });
      return { model, modelRng, optimizer: createOptimizer("adam", model, { lr: 1e-3 }) };
    });
    const dir = tempDir("other-backend");
    const options = (run: ReturnType<typeof make>, epochs: number, more: Partial<FitOptions> = {}): FitOptions => ({
      train: d.train, dev: d.dev, loss: (o, y) => crossEntropy(o, y), optimizer: run.optimizer, epochs, batchSize: BATCH,
      seed: SEED, modelRng: run.modelRng, callbacks: [new Checkpointing({ dir })], log: () => {}, ...more,
    });
    const first = make();
    await fit(first.model as TrainableModel, options(first, 1));
    const ckpt = readdirSync(dir).filter((f) => f.startsWith("epoch-")).sort().at(-1)!;
    const second = make();
    const history = await fit(second.model as TrainableModel, options(second, 2, { resumeFrom: join(dir, ckpt) }));
    expect(history.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    for (const [, p] of second.model.namedParameters()) expect(p.backend).toBe(cpu);
  });
});

describe("checkpoint files", () => {
  it("keepLast K prunes older epoch-N.ckpt files; best.ckpt exists and holds the best epoch", async () => {
    const dir = tempDir("keep");
    const train = blobs(120, { seed: 1, role: "train" });
    const dev = blobs(60, { seed: 2, role: "dev" });
    const rng = new Generator(1);
    const model = buildSequential([{ type: "linear", outFeatures: 3 }], { inputShape: [8], rng });
    const optimizer = createOptimizer("sgd", model, { lr: 0.05 });
    const recorder = new Recorder();
    await fit(model as TrainableModel, {
      train, dev, loss: (o, y) => crossEntropy(o, y), optimizer, epochs: 5, batchSize: 30, seed: 1,
      callbacks: [new Checkpointing({ dir, keepLast: 2 }), recorder], log: () => {},
    });
    const files = readdirSync(dir).sort();
    expect(files).toEqual(["best.ckpt", "epoch-4.ckpt", "epoch-5.ckpt"]);
    // best.ckpt holds the weights of the epoch with the lowest dev loss
    const devLosses = recorder.epochs.map((e) => e.devLoss!);
    const bestEpoch = devLosses.indexOf(Math.min(...devLosses));
    const best = readCheckpoint(join(dir, "best.ckpt"));
    expect((best.state as TrainState).lastEpoch).toBe(bestEpoch);
    expectSameTensors(recorder.weights.get(bestEpoch)!, best.tensors.model!, "best.ckpt");
    // every epoch checkpoint holds that epoch's weights
    expectSameTensors(recorder.weights.get(4)!, readCheckpoint(join(dir, "epoch-5.ckpt")).tensors.model!, "epoch-5.ckpt");
  });

  it("everyEpochs and everySteps: epoch-N only every N epochs, step-S files pruned to the last K", async () => {
    const dir = tempDir("every");
    const train = blobs(60, { seed: 1 });
    const model = buildSequential([{ type: "linear", outFeatures: 3 }], { inputShape: [8], rng: new Generator(1) });
    const optimizer = createOptimizer("sgd", model, { lr: 0.05 });
    await fit(model as TrainableModel, {
      train, loss: (o, y) => crossEntropy(o, y), optimizer, epochs: 4, batchSize: 20, seed: 1,
      callbacks: [new Checkpointing({ dir, everyEpochs: 2, everySteps: 5, keepLast: 2, monitor: null })], log: () => {},
    });
    // 12 steps: step-5 and step-10 were written; epoch-2 and epoch-4; no best.ckpt without a monitor
    expect(readdirSync(dir).sort()).toEqual(["epoch-2.ckpt", "epoch-4.ckpt", "step-10.ckpt", "step-5.ckpt"]);
  });
});

describe("callback order", () => {
  it("Checkpointing listed before EarlyStopping still saves the state early stopping reached that epoch", async () => {
    // a dev set with shifted labels: its loss rises from the first epoch, patience 2 stops after epoch 3
    const train = blobs(60, { seed: 1, role: "train" });
    const dev = blobs(60, { seed: 2, flip: true, role: "dev" });
    const run = async (dir: string, epochs: number, resumeFrom?: string) => {
      const rng = new Generator(1);
      const model = buildSequential([{ type: "linear", outFeatures: 16 }, { type: "relu" }, { type: "dropout", p: 0.2 }, { type: "linear", outFeatures: 3 }], { inputShape: [8], rng });
      const optimizer = createOptimizer("sgd", model, { lr: 0.1 });
      const history = await fit(model as TrainableModel, {
        train, dev, loss: (o, y) => crossEntropy(o, y), optimizer, epochs, batchSize: 20, seed: 1, modelRng: rng, resumeFrom, log: () => {},
        callbacks: [new Checkpointing({ dir }), new EarlyStopping({ patience: 2 })],
      });
      return { model, history };
    };
    const straightDir = tempDir("order-a");
    const straight = await run(straightDir, 10);
    expect(straight.history.epochs).toHaveLength(3);
    expect(straight.history.stopReason).toMatch(/early stopping/);
    const dir = tempDir("order-b");
    await run(dir, 2);
    const resumed = await run(tempDir("order-c"), 10, join(dir, "epoch-2.ckpt"));
    expect(timeless(resumed.history.epochs)).toEqual(timeless(straight.history.epochs));
    expect(resumed.history.stopReason).toBe(straight.history.stopReason);
    expectSameTensors(straight.model.stateDict(), resumed.model.stateDict(), "model");
    // the checkpoint of the epoch that stopped resumes as stopped: no more epochs, the best weights restored
    const again = await run(tempDir("order-d"), 10, join(straightDir, "epoch-3.ckpt"));
    expect(timeless(again.history.epochs)).toEqual(timeless(straight.history.epochs));
    expect(again.history.stopReason).toBe(straight.history.stopReason);
    expectSameTensors(straight.model.stateDict(), again.model.stateDict(), "model after resuming a stopped run");
  });
});
