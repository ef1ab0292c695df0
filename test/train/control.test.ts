/**
 * Steering a run by hand (src/train/control.ts): a learning rate set at step S is the lr of step S
 * on, over a schedule; a pause holds the run until resumed; every command is one numbered event;
 * and a run resumed from a checkpoint older than its hand-made changes replays them and ends with
 * bit-identical weights to the run that was never interrupted.
 */
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { buildSequential } from "../../src/nn/sequential.js";
import { crossEntropy } from "../../src/losses/losses.js";
import { createOptimizer } from "../../src/optim/optimizer.js";
import { exponentialDecay, learningRateOf } from "../../src/schedules/schedules.js";
import { MemoryCheckpoints } from "../../src/io/checkpoint.js";
import { fit, type StepLog, type TrainContext } from "../../src/train/fit.js";
import { Control, controlEvents, parseControlCommand, type ControlCommand, type ControlEvent } from "../../src/train/control.js";
import { blobs } from "./helpers.js";

/** Commands handed out at given steps (as if they had arrived then). */
class ScriptedSource {
  constructor(private readonly script: Map<number, ControlCommand[]>, private readonly at: () => number) {}
  poll(): ControlCommand[] {
    const cmds = this.script.get(this.at()) ?? [];
    this.script.delete(this.at());
    return cmds;
  }
}

function setup(seed = 5) {
  const rng = new Generator(seed);
  const model = buildSequential([{ type: "linear", outFeatures: 8 }, { type: "tanh" }, { type: "linear", outFeatures: 3 }], { inputShape: [8], rng });
  // the schedule feeds the optimizer (6 steps per epoch: 60 samples in batches of 10)
  const schedule = exponentialDecay({ lr0: 0.1, gamma: 0.5 });
  const optimizer = createOptimizer("sgd", model, { lr: learningRateOf(schedule, 6), momentum: 0.9 });
  return { model, optimizer, schedule, rng };
}

const train = blobs(60, { seed: 1 });

async function run(script: Map<number, ControlCommand[]>, options: { abortAfterStep?: number; resume?: { store: MemoryCheckpoints; events: ControlEvent[] }; store?: MemoryCheckpoints } = {}) {
  const { model, optimizer, schedule, rng } = setup();
  const events: ControlEvent[] = [];
  const steps: StepLog[] = [];
  let step = 0;
  const control = new Control({ source: new ScriptedSource(script, () => step), record: (e) => events.push(e), replay: options.resume?.events ?? [] });
  const abort = new AbortController();
  const spy = {
    name: "spy",
    onBatchEnd: (ctx: TrainContext, log: StepLog) => {
      step = ctx.step;
      steps.push(log);
      if (options.abortAfterStep !== undefined && ctx.step === options.abortAfterStep) abort.abort();
    },
    onEpochEnd: (ctx: TrainContext, log: { epoch: number }) => ctx.saveCheckpoint(`epoch-${log.epoch + 1}`),
  };
  const store = options.resume?.store ?? options.store ?? new MemoryCheckpoints();
  const history = await fit(model, {
    train, loss: crossEntropy, optimizer, epochs: 4, batchSize: 10, seed: 2, modelRng: rng, log: () => {},
    schedule, callbacks: [spy, control], checkpoints: store, signal: abort.signal,
    ...(options.resume ? { resumeFrom: "epoch-1" } : {}),
  });
  return { model, events, steps, history, store };
}

describe("Control", () => {
  it("sets the learning rate from the next step on, over the schedule, as one numbered event", async () => {
    const { steps, events } = await run(new Map([[8, [{ action: "set", name: "lr", value: 0.0123 }]]]));
    // 6 steps per epoch: steps 0-5 at 0.1, 6-7 at the schedule's 0.05, then the hand-set lr
    expect(steps.slice(0, 8).map((s) => s.lr)).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]);
    expect(new Set(steps.slice(8).map((s) => s.lr))).toEqual(new Set([0.0123]));
    expect(events).toEqual([{ type: "event", epoch: 1, step: 8, message: "lr set by hand to 0.0123 from step 8", control: { action: "set", name: "lr", value: 0.0123, seq: 0 } }]);
  });

  it("a resumed run replays the changes made after its checkpoint and ends bit-identical", async () => {
    const script = () => new Map<number, ControlCommand[]>([[8, [{ action: "set", name: "lr", value: 0.02 }]], [15, [{ action: "set", name: "lr", value: 0.3 }]]]);
    const straight = await run(script());
    // the same run, interrupted after step 17: its events are in "metrics.jsonl" (the JSON round trip)
    const crashed = await run(script(), { abortAfterStep: 17 });
    expect(crashed.history.interrupted).toBe(true);
    const logged = controlEvents(JSON.parse(JSON.stringify(crashed.events)) as unknown[]);
    expect(logged.map((e) => e.step)).toEqual([8, 15]);
    // resumed from the end of epoch 1 (step 6), before either change, with no commands coming in
    const resumed = await run(new Map(), { resume: { store: crashed.store, events: logged } });
    expect(resumed.events).toEqual([]);
    expect(resumed.steps.map((s) => s.lr)).toEqual(straight.steps.slice(6).map((s) => s.lr));
    const a = straight.model.stateDict(), b = resumed.model.stateDict();
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.dataSync()), k).toEqual(Array.from(a[k]!.dataSync()));
  });

  it("pauses until resumed, and refuses malformed commands by field", async () => {
    const source = { queue: [] as ControlCommand[], poll() { return this.queue.splice(0); } };
    const events: ControlEvent[] = [];
    const control = new Control({ source, record: (e) => events.push(e), pollMs: 5 });
    const { model, optimizer } = setup();
    source.queue.push({ action: "pause" });
    const done = fit(model, { train, loss: crossEntropy, optimizer, epochs: 1, batchSize: 10, callbacks: [control], log: () => {} });
    await new Promise((r) => setTimeout(r, 50));
    expect(optimizer.stepCount).toBe(1);
    source.queue.push({ action: "resume" });
    await done;
    expect(optimizer.stepCount).toBe(6);
    expect(events.map((e) => [e.control.action, e.step])).toEqual([["pause", 1], ["resume", 1]]);
    expect(() => parseControlCommand({ action: "set", name: "lr", value: -1 })).toThrow(/"value" must be a finite number >= 0/);
    expect(() => parseControlCommand({ action: "set", name: "momentum", value: 1 })).toThrow(/"name" must be one of lr/);
    expect(() => parseControlCommand({ action: "explode" })).toThrow(/"action" must be one of pause, resume, stop, checkpoint, set/);
  });
});
