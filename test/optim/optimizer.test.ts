/**
 * The optimizer API: hand-derived first steps, validation messages, the .grad path, parameter
 * groups, coupled vs decoupled weight decay, clipping, the functional core, and the checkpoint
 * round trip (save after k steps, load into a fresh optimizer, the next step is bit-identical).
 */
import { describe, expect, it } from "vitest";
import {
  applyUpdates, chain, clipByGlobalNorm, clipGradNorm, clipGradValue, ConfigError, createOptimizer, globalNorm, Optimizer,
  OPTIMIZER_NAMES, Parameter, scaleByAdam, scaleByLearningRate, ShapeError, sgd, sum, mul, tensor, traceMomentum,
  type OptimizerName, type OptimizerStateDict, type Tensor,
} from "../../src/index.js";

const f64 = (v: number[], shape?: number[]): Tensor => tensor(v, { dtype: "float64", ...(shape ? { shape } : {}) });
const vals = (t: Tensor): number[] => Array.from(t.dataSync());
const param = (v: number[], shape?: number[]): Parameter => new Parameter(f64(v, shape));

function model(): { w: Parameter; b: Parameter; named: [string, Parameter][] } {
  const w = param([0.5, -1, 2, 0.25], [2, 2]);
  const b = param([0.1, -0.2]);
  return { w, b, named: [["fc.weight", w], ["fc.bias", b]] };
}

/** A deterministic gradient sequence for both parameters. */
function gradsAt(t: number): Record<string, Tensor> {
  return {
    "fc.weight": f64([Math.sin(t + 1), Math.cos(2 * t), 0.3 - 0.1 * t, Math.sin(3 * t) * 2], [2, 2]),
    "fc.bias": f64([0.5 * Math.cos(t), -0.7 + 0.05 * t]),
  };
}

describe("first steps by hand", () => {
  it("sgd with momentum 0.9: b1 = g, b2 = 0.9·b1 + g; nesterov steps by g + 0.9·b", () => {
    const p = param([0]);
    const opt = createOptimizer("momentum", { p }, { lr: 0.1 });
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.1, 15);
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.29, 15);
    const q = param([0]);
    createOptimizer("nesterov", { q }, { lr: 0.1 }).step({ q: f64([1]) });
    expect(q.item()).toBeCloseTo(-0.19, 15);
  });

  it("momentumEma: v = 0.9v + 0.1g, θ -= lr·v", () => {
    const p = param([0]);
    const opt = createOptimizer("momentumEma", { p }, { lr: 1, beta: 0.9 });
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.1, 15);
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.29, 15);
  });

  it("adam's and adagrad's first steps have size lr whatever the gradient's scale", () => {
    for (const name of ["adam", "adagrad", "adamw"] as const) {
      const p = param([1, 1]);
      createOptimizer(name, { p }, { lr: 0.01, weightDecay: 0 }).step({ p: f64([1000, -1e-3]) });
      expect(vals(p)[0]).toBeCloseTo(0.99, 6);
      expect(vals(p)[1]).toBeCloseTo(1.01, 4);
    }
  });

  it("coupled weight decay goes through Adam's scaling, decoupled does not", () => {
    const a = param([1]);
    createOptimizer("adam", { a }, { lr: 0.01, weightDecay: 0.1 }).step({ a: f64([0]) });
    expect(a.item()).toBeCloseTo(0.99, 6); // g' = 0.1·θ, normalized to a step of lr
    const b = param([1]);
    createOptimizer("adamw", { b }, { lr: 0.01, weightDecay: 0.1 }).step({ b: f64([0]) });
    expect(b.item()).toBeCloseTo(0.999, 12); // θ(1 − lr·λ); m = 0 moves nothing
    const c = param([1]);
    createOptimizer("sgd", { c }, { lr: 0.1, weightDecay: 0.5, decoupledWeightDecay: true }).step({ c: f64([0]) });
    expect(c.item()).toBeCloseTo(0.95, 12);
  });
});

describe("validation", () => {
  const { named } = model();
  it("names the bad hyperparameter and its range", () => {
    expect(() => createOptimizer("adam", named, { betas: [1.2, 0.999] })).toThrow("Invalid beta1: 1.2 (expected 0 <= beta1 < 1)");
    expect(() => createOptimizer("adam", named, { betas: [0.9, -0.1] })).toThrow("Invalid beta2: -0.1");
    expect(() => createOptimizer("sgd", named, { lr: -0.1 })).toThrow("Invalid lr: -0.1 (expected 0 <= lr)");
    expect(() => createOptimizer("rmsprop", named, { eps: 0 })).toThrow("Invalid eps: 0 (expected 0 < eps)");
    expect(() => createOptimizer("adagrad", named, { eps: -1e-8 })).toThrow(ConfigError);
    expect(() => createOptimizer("sgd", named, { momentum: -0.5 })).toThrow("Invalid momentum: -0.5");
    expect(() => createOptimizer("sgd", named, { nesterov: true })).toThrow("Nesterov momentum requires momentum > 0");
    expect(() => createOptimizer("adam", named, { lr: NaN })).toThrow("Invalid lr: NaN");
    expect(() => createOptimizer("adam", named, { weightDecay: -1 })).toThrow("Invalid weightDecay: -1");
  });

  it("refuses unknown optimizers and options", () => {
    expect(() => createOptimizer("adamax" as OptimizerName, named)).toThrow('Unknown optimizer "adamax" (expected one of sgd, momentum');
    expect(() => createOptimizer("adam", named, { momentum: 0.9 } as never)).toThrow('unknown option "momentum"');
  });

  it("a gradient of the wrong shape names its parameter", () => {
    const opt = createOptimizer("sgd", named, { lr: 0.1 });
    expect(() => opt.step({ "fc.weight": f64([1, 2]) })).toThrow(ShapeError);
    expect(() => opt.step({ "fc.weight": f64([1, 2]) })).toThrow('the gradient for "fc.weight" has shape [2], the parameter has [2,2]');
    expect(() => opt.step({ "fc.nope": f64([1]) })).toThrow('"fc.nope", which is not one of');
  });

  it("loading state for other parameters says which names are missing and extra", () => {
    const a = createOptimizer("adam", named, { lr: 0.1 });
    a.step(gradsAt(0));
    const other = createOptimizer("adam", [["fc.weight", param([1, 2, 3, 4], [2, 2])], ["head.bias", param([0])]], { lr: 0.1 });
    expect(() => other.loadStateDict(a.stateDict())).toThrow('the state is for other parameters: missing "head.bias"; extra "fc.bias"');
    const sgdOpt = createOptimizer("sgd", named, { lr: 0.1 });
    expect(() => sgdOpt.loadStateDict(a.stateDict())).toThrow('the state is from optimizer "adam"');
  });

  it("loading a tensor of the wrong shape names it", () => {
    const a = createOptimizer("adam", named, { lr: 0.1 });
    const sd = a.stateDict();
    const key = Object.keys(sd.tensors).find((k) => k.startsWith("fc.bias/"))!;
    sd.tensors[key] = f64([1, 2, 3]);
    expect(() => createOptimizer("adam", named, { lr: 0.1 }).loadStateDict(sd)).toThrow(`"${key}" has shape [3], parameter "fc.bias" needs [2]`);
  });
});

describe("the stateful Optimizer", () => {
  it("step() reads .grad, skips parameters without one, and zeroGrad clears them", () => {
    const { w, b, named } = model();
    const opt = createOptimizer("adam", named, { lr: 0.1 });
    const loss = sum(mul(w, f64([1, 2, 3, 4], [2, 2])));
    loss.backward();
    expect(b.grad).toBeNull();
    const b0 = vals(b);
    opt.step();
    expect(vals(b)).toEqual(b0);
    expect(vals(w)[0]).toBeCloseTo(0.5 - 0.1, 6);
    expect(opt.state.inner["0.scaleByAdam"]!.counts).toEqual({ "fc.weight": 1, "fc.bias": 0 });
    opt.zeroGrad();
    expect(w.grad).toBeNull();
    // b's first update later is still Adam's first step (PyTorch keeps per-parameter step counts).
    opt.step({ "fc.bias": f64([3, -3]) });
    expect(vals(b)[0]).toBeCloseTo(0.1 - 0.1, 6);
    expect(opt.stepCount).toBe(2);
  });

  it("lr is settable between steps (a schedule), and recorded in stateDict", () => {
    const p = param([0]);
    const opt = createOptimizer("sgd", { p }, { lr: 0.1 });
    expect(opt.lr).toBe(0.1);
    opt.lr = 0.5;
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.5, 15);
    opt.lr = 0;
    opt.step({ p: f64([1]) });
    expect(p.item()).toBeCloseTo(-0.5, 15);
    expect(opt.stateDict().meta.lr).toBe(0);
    expect(() => (opt.lr = -1)).toThrow("Invalid lr: -1");
  });

  it("parameter groups by name: no weight decay on biases and norms, a group lrScale", () => {
    const { w, b, named } = model();
    const opt = createOptimizer("adamw", named, { lr: 0.1, weightDecay: 0.5, groups: [{ select: "biasAndNorm", weightDecay: 0 }] });
    opt.step({ "fc.weight": f64([0, 0, 0, 0], [2, 2]), "fc.bias": f64([0, 0]) });
    expect(vals(w)).toEqual([0.5, -1, 2, 0.25].map((v) => v * (1 - 0.1 * 0.5)));
    expect(vals(b)).toEqual([0.1, -0.2]);
    const x = param([0]);
    const y = param([0]);
    const o2 = createOptimizer("sgd", [["backbone.x", x], ["head.y", y]], { lr: 0.1, groups: [{ select: /^backbone\./, lrScale: 0.1, name: "backbone" }] });
    o2.step({ "backbone.x": f64([1]), "head.y": f64([1]) });
    expect(x.item()).toBeCloseTo(-0.01, 15);
    expect(y.item()).toBeCloseTo(-0.1, 15);
    o2.lr = 1;
    o2.step({ "backbone.x": f64([1]), "head.y": f64([1]) });
    expect(x.item()).toBeCloseTo(-0.11, 15);
    expect(y.item()).toBeCloseTo(-1.1, 15);
  });

  it("keeps the parameters' dtype (float32 in training) and records no graph", () => {
    const p = new Parameter(tensor([1, 2, 3], { dtype: "float32" }));
    const opt = createOptimizer("adam", { p }, { lr: 0.1 });
    const loss = sum(mul(p, p));
    loss.backward();
    opt.step();
    expect(p.dtype).toBe("float32");
    for (const t of Object.values(opt.stateDict().tensors)) {
      expect(t.dtype).toBe("float32");
      expect(t.requiresGrad).toBe(false);
    }
    expect(p.node).toBeNull();
  });
});

describe("gradient clipping", () => {
  it("clipGradNorm returns the total norm before clipping and rescales every grad", () => {
    const a = param([0, 0]);
    const b = param([0]);
    a.grad = f64([3, 0]);
    b.grad = f64([4]);
    const n = clipGradNorm([["a", a], ["b", b]], 1);
    expect(n).toBeCloseTo(5, 15);
    expect(vals(a.grad)[0]).toBeCloseTo(0.6, 6);
    expect(vals(b.grad)[0]).toBeCloseTo(0.8, 6);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(vals(b.grad)[0]).toBeCloseTo(0.8, 6);
    expect(clipGradNorm([a, b], 10, { normType: Infinity })).toBeCloseTo(0.8, 5);
  });

  it("clipGradValue clamps elementwise; the transforms do the same inside a chain", () => {
    const a = param([0, 0, 0]);
    a.grad = f64([-3, 0.5, 2]);
    clipGradValue({ a }, 1);
    expect(vals(a.grad)).toEqual([-1, 0.5, 1]);
    const opt = createOptimizer("sgd", { a }, { lr: 1, clipNorm: 1 });
    opt.step({ a: f64([3, 4, 0]) });
    expect(vals(a)[0]).toBeCloseTo(-0.6, 6);
    expect(vals(a)[1]).toBeCloseTo(-0.8, 6);
    const [u] = clipByGlobalNorm(0.5).update({ x: f64([0.3]), y: f64([0.4]) }, { slots: {}, counts: {}, scalars: {}, inner: {} }, { x: f64([0]), y: f64([0]) });
    expect(globalNorm(u)!.item()).toBeCloseTo(0.5, 5);
  });
});

describe("the functional core", () => {
  it("init/update/applyUpdates over name-keyed trees, with a learning rate schedule", () => {
    const tx = chain(traceMomentum({ momentum: 0.5 }), scaleByLearningRate((t) => 0.1 / (1 + t)));
    let params: Record<string, Tensor> = { "a.b": f64([0]) };
    let state = tx.init(params);
    for (let t = 0; t < 2; t++) {
      const [u, s] = tx.update({ "a.b": f64([1]) }, state, params);
      params = applyUpdates(params, u);
      state = s;
    }
    // step 1: b = 1, θ = −0.1; step 2: b = 1.5, lr 0.05, θ = −0.1 − 0.075
    expect(params["a.b"]!.item()).toBeCloseTo(-0.175, 15);
  });

  it("an Optimizer wraps any transformation; named ones are chains", () => {
    const p = param([1]);
    const opt = new Optimizer({ p }, chain(scaleByAdam(), scaleByLearningRate(0.1)), { name: "myAdam" });
    opt.step({ p: f64([2]) });
    expect(p.item()).toBeCloseTo(0.9, 6);
    expect(sgd({ lr: 0.1 }).name).toBe("chain");
  });
});

describe("checkpoint round trip: the next step is bit-identical", () => {
  const configs: [OptimizerName, Record<string, unknown>][] = [
    ["sgd", { lr: 0.1 }],
    ["momentum", { lr: 0.05, weightDecay: 0.01, dampening: 0.1 }],
    ["nesterov", { lr: 0.05 }],
    ["momentumEma", { lr: 0.1, biasCorrection: true }],
    ["adagrad", { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1, weightDecay: 0.01 }],
    ["rmsprop", { lr: 0.01, centered: true, momentum: 0.9 }],
    ["adam", { lr: 0.01, amsgrad: true, clipNorm: 1 }],
    ["adamw", { lr: 0.01, groups: [{ select: "biasAndNorm", weightDecay: 0 }] }],
  ];

  /** What a checkpoint writer does: tensors to bytes, meta through JSON. */
  function throughDisk(sd: OptimizerStateDict): OptimizerStateDict {
    const tensors = Object.fromEntries(Object.entries(sd.tensors).map(([k, t]) => [k, tensor(Float64Array.from(t.dataSync()), { shape: [...t.shape], dtype: "float64" })]));
    return { tensors, meta: JSON.parse(JSON.stringify(sd.meta)) };
  }

  it("covers every optimizer name", () => {
    expect(new Set(configs.map(([n]) => n))).toEqual(new Set(OPTIMIZER_NAMES));
  });

  it.each(configs)("%s", (name, options) => {
    const a = model();
    const opt = createOptimizer(name, a.named, options as never);
    for (let t = 0; t < 3; t++) opt.step(gradsAt(t));
    const saved = throughDisk(opt.stateDict());
    const b = { w: param(vals(a.w), [2, 2]), b: param(vals(a.b)) };
    const fresh = createOptimizer(name, [["fc.weight", b.w], ["fc.bias", b.b]], options as never);
    fresh.loadStateDict(saved);
    expect(fresh.stepCount).toBe(3);
    opt.step(gradsAt(3));
    fresh.step(gradsAt(3));
    expect(vals(b.w)).toEqual(vals(a.w));
    expect(vals(b.b)).toEqual(vals(a.b));
  });
});
