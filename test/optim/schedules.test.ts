/**
 * Schedules: hand-derived values for each closed form, warm-up joined to other schedules,
 * oneCycle (PyTorch's phases), reduceOnPlateau's modes, thresholds, cooldown and minLr, and
 * state round trips. Conformance cases check the PyTorch numbers; these check the edges.
 */
import { describe, expect, it } from "vitest";
import {
  ConfigError, constantSchedule, cosineAnnealing, createOptimizer, createSchedule, exponentialDecay, inverseTimeDecay, linearWarmup,
  multiStepDecay, oneCycle, Parameter, ReduceOnPlateau, SCHEDULE_TYPES, stepDecay, tensor, type Schedule,
} from "../../src/index.js";
import { explicitLength, withRunLength } from "../../src/schedules/create.js";

const lrs = (s: Schedule, n: number): number[] => Array.from({ length: n }, (_, t) => s.lrAt(t));
const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g, `t=${i}`).toBeCloseTo(want[i]!, 12));
};

describe("closed-form schedules", () => {
  it("constant, inverse time, exponential, step", () => {
    close(lrs(constantSchedule({ lr0: 0.3 }), 3), [0.3, 0.3, 0.3]);
    close(lrs(inverseTimeDecay({ lr0: 1, decayRate: 0.5 }), 4), [1, 1 / 1.5, 0.5, 1 / 2.5]);
    close(lrs(exponentialDecay({ lr0: 2, gamma: 0.95 }), 3), [2, 1.9, 1.805]);
    close(lrs(stepDecay({ lr0: 1, stepSize: 2, gamma: 0.5 }), 5), [1, 1, 0.5, 0.5, 0.25]);
  });

  it("multiStep counts repeated milestones twice and sorts them (PyTorch's Counter)", () => {
    close(lrs(multiStepDecay({ lr0: 1, milestones: [4, 2, 2], gamma: 0.5 }), 5), [1, 1, 0.25, 0.25, 0.125]);
  });

  it("cosine: the closed form, continuing past tMax", () => {
    close(lrs(cosineAnnealing({ lr0: 1, tMax: 2, etaMin: 0.2 }), 5), [1, 0.6, 0.2, 0.6, 1]);
  });

  it("linear warm-up joins any schedule", () => {
    close(lrs(linearWarmup(exponentialDecay({ lr0: 1, gamma: 0.5 }), { warmupEpochs: 2 }), 5), [0.5, 1, 1, 0.5, 0.25]);
    const s = createSchedule({ type: "warmup", warmupEpochs: 4, then: { type: "step", stepSize: 1, gamma: 0.1 } }, 0.4);
    close(lrs(s, 6), [0.1, 0.2, 0.3, 0.4, 0.4, 0.04]);
    close(lrs(createSchedule({ type: "warmupCosine", warmupEpochs: 2, totalEpochs: 4 }, 1), 4), [0.5, 1, 1, 0.5]);
  });

  it("oneCycle follows PyTorch's phases, per step", () => {
    const s = oneCycle({ lr0: 1, totalSteps: 10 });
    expect(s.interval).toBe("step");
    const v = lrs(s, 11);
    expect(v[0]).toBeCloseTo(0.04, 15); // max / divFactor
    expect(v[1]).toBeCloseTo(0.52, 15); // halfway up the cosine from 0.04 to 1 (phase ends at step 0.3·10 − 1 = 2)
    expect(v[2]).toBeCloseTo(1, 15);
    expect(v[9]).toBeCloseTo(0.04 / 1e4, 15); // initial / finalDivFactor at totalSteps − 1
    const lin = oneCycle({ lr0: 1, totalSteps: 10, annealStrategy: "linear", threePhase: true });
    // phases end at 2, 4, 9: up 0.04 -> 1, down to 0.04, down to 4e-6
    close([lin.lrAt(1), lin.lrAt(3), lin.lrAt(4)], [0.52, 0.52, 0.04]);
    expect(() => s.lrAt(11)).toThrow("past totalSteps 10");
  });

  it("validates at construction, naming the value", () => {
    expect(() => exponentialDecay({ lr0: -1, gamma: 0.9 })).toThrow("Invalid lr0: -1");
    expect(() => stepDecay({ lr0: 1, stepSize: 0 })).toThrow("Invalid stepSize: 0");
    expect(() => cosineAnnealing({ lr0: 1, tMax: 0 })).toThrow("Invalid tMax: 0");
    expect(() => new ReduceOnPlateau({ lr0: 1, factor: 1 })).toThrow("Invalid factor: 1 (expected 0 <= factor < 1)");
    expect(() => new ReduceOnPlateau({ lr0: 1, mode: "up" as "min" })).toThrow('Invalid mode: "up" (expected "min" or "max")');
    expect(() => exponentialDecay({ lr0: 1, gamma: 0.9 }).lrAt(-1)).toThrow(ConfigError);
  });
});

describe("reduceOnPlateau", () => {
  it("mode max, abs threshold, cooldown and minLr (hand-traced against PyTorch's rules)", () => {
    const s = new ReduceOnPlateau({ lr0: 1, mode: "max", thresholdMode: "abs", threshold: 0.1, patience: 0, factor: 0.5, cooldown: 1, minLr: 0.2 });
    const got = [1, 1.05, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2].map((m) => s.step(m));
    expect(got).toEqual([1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]);
  });

  it("mode min, rel threshold: an improvement smaller than the threshold counts as bad", () => {
    const s = new ReduceOnPlateau({ lr0: 1, threshold: 0.1, patience: 1, factor: 0.1 });
    expect([1, 0.95, 0.92, 0.5, 0.5].map((m) => s.step(m))).toEqual([1, 1, 0.1, 0.1, 0.1]);
  });

  it("its state round-trips through JSON mid-run", () => {
    const metrics = [1, 0.9, 0.9, 0.95, 0.8, 0.85, 0.85, 0.85, 0.7, 0.7];
    const a = new ReduceOnPlateau({ lr0: 1, patience: 1, factor: 0.5, cooldown: 1 });
    const b = new ReduceOnPlateau({ lr0: 1, patience: 1, factor: 0.5, cooldown: 1 });
    metrics.slice(0, 5).forEach((m) => a.step(m));
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    expect(metrics.slice(5).map((m) => b.step(m))).toEqual(metrics.slice(5).map((m) => a.step(m)));
    const fresh = new ReduceOnPlateau({ lr0: 1 });
    fresh.loadStateDict(JSON.parse(JSON.stringify(new ReduceOnPlateau({ lr0: 1 }).stateDict())));
    expect(fresh.step(5)).toBe(1);
  });
});

describe("createSchedule", () => {
  it("takes lr0 from the optimizer when the spec has none, and drives Optimizer.lr", () => {
    const p = new Parameter(tensor([0], { dtype: "float64" }));
    const opt = createOptimizer("sgd", { p }, { lr: 0.2 });
    const s = createSchedule({ type: "exponential", gamma: 0.5 }, opt.lr!);
    for (let epoch = 0; epoch < 3; epoch++) {
      opt.lr = s.lrAt(epoch);
      opt.step({ p: tensor([1], { dtype: "float64" }) });
    }
    expect(p.item()).toBeCloseTo(-(0.2 + 0.1 + 0.05), 15);
  });

  it("builds every type, and refuses unknown types, unknown keys and a missing lr0", () => {
    const specs = {
      constant: {}, inverseTime: { decayRate: 1 }, exponential: { gamma: 0.9 }, step: { stepSize: 2 }, multiStep: { milestones: [1] },
      cosine: { tMax: 5 }, warmupCosine: { warmupEpochs: 1, totalEpochs: 5 }, warmup: { warmupEpochs: 1, then: { type: "constant" } },
      oneCycle: { totalSteps: 10 }, reduceOnPlateau: { patience: 2 },
    } as const;
    for (const type of SCHEDULE_TYPES) {
      const s = createSchedule({ type, ...specs[type] } as never, 0.1);
      expect(s.lrAt(0)).toBeGreaterThan(0);
      expect(s.stateDict().type).toBe(type);
    }
    expect(() => createSchedule({ type: "linear" } as never, 1)).toThrow('Unknown schedule type "linear"');
    expect(() => createSchedule({ type: "exponential", gamma: 0.9, decay: 1 } as never, 1)).toThrow('unknown option "decay"');
    expect(() => createSchedule({ type: "exponential", gamma: 0.9 })).toThrow("no lr0");
    expect(createSchedule({ type: "cosine", tMax: 10, interval: "step" }, 1).interval).toBe("step");
  });
});

describe("withRunLength", () => {
  it("fills a length left out from the run, in epochs or steps per the interval, and keeps one given", () => {
    const run = { epochs: 10, stepsPerEpoch: 7 };
    expect(withRunLength({ type: "cosine" }, run)).toEqual({ type: "cosine", tMax: 10 });
    expect(withRunLength({ type: "cosine", interval: "step" }, run)).toEqual({ type: "cosine", interval: "step", tMax: 70 });
    expect(withRunLength({ type: "cosine", tMax: 4 }, run)).toEqual({ type: "cosine", tMax: 4 });
    expect(withRunLength({ type: "warmupCosine", warmupEpochs: 2 }, run)).toEqual({ type: "warmupCosine", warmupEpochs: 2, totalEpochs: 10 });
    expect(withRunLength({ type: "oneCycle" }, run)).toEqual({ type: "oneCycle", totalSteps: 70 });
    expect(withRunLength({ type: "warmup", warmupEpochs: 3, then: { type: "cosine" } }, run)).toEqual({ type: "warmup", warmupEpochs: 3, then: { type: "cosine", tMax: 7 } });
    expect(withRunLength({ type: "exponential", gamma: 0.9 }, run)).toEqual({ type: "exponential", gamma: 0.9 });
    // the filled spec builds the schedule a straight run of that length has
    const lr = createSchedule(withRunLength({ type: "cosine" }, run), 0.1).lrAt(5);
    expect(lr).toBeCloseTo(0.05, 12);
    expect(explicitLength({ type: "cosine", tMax: 4 })).toEqual({ key: "tMax", value: 4, unit: "epoch" });
    expect(explicitLength({ type: "warmup", warmupEpochs: 2, then: { type: "oneCycle", totalSteps: 50 } })).toEqual({ key: "then.totalSteps", value: 52, unit: "step" });
    expect(explicitLength({ type: "cosine" })).toBeNull();
    expect(() => createSchedule({ type: "cosine" }, 0.1)).toThrow(/no tMax \(in a config it may be left out: it is then the run's length\)/);
  });
});
