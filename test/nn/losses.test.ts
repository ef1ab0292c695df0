/**
 * Losses beyond the conformance cases: hand-derived values for class weights, ignored labels,
 * K-dim inputs and the softmax focal form; numerical stability at logits of ±1000 (values and
 * gradients finite); bad input reported; float64 gradchecks; the loss objects; and the weight
 * penalties (selection by name, both L2 forms).
 */
import { describe, expect, it } from "vitest";
import {
  BinaryCrossEntropyLoss, CrossEntropyLoss, FocalLoss, Generator, HuberLoss, L1Loss, MSELoss, RMSELoss, SmoothL1Loss,
  BinaryCrossEntropyWithLogitsLoss, ConfigError, ShapeError, binaryCrossEntropy, binaryCrossEntropyWithLogits, buildSequential,
  crossEntropy, focal, fromValues, gradcheck, gradients, huber, l1, l1Penalty, l2Penalty, mse, rmse, smoothL1, permute, selectParameters,
  type Tensor,
} from "../../src/index.js";
import { asyncCpu, expectClose, f64, i32, normal, uniform } from "../core/helpers.js";
import { checkLossSpec, createLoss } from "../../src/losses/create.js";
import { tensor } from "../../src/tensor/creation.js";

function logSoftmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

function allFinite(t: Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

describe("crossEntropy", () => {
  const logits = [[1, 2, 0.5], [0.1, -1, 2], [3, 0, -2]];
  const lp = logits.map(logSoftmaxRow);

  it("class weights: the weighted mean divides by Σ w_y (PyTorch)", () => {
    const w = [0.2, 1, 3];
    const y = [1, 2, 0];
    const per = y.map((c, n) => -w[c]! * lp[n]![c]!);
    const got = crossEntropy(f64(logits), i32(y), { weight: f64(w) });
    expectClose(got, per.reduce((a, b) => a + b) / (w[1]! + w[2]! + w[0]!));
    expectClose(crossEntropy(f64(logits), i32(y), { weight: f64(w), reduction: "none" }), per);
    expectClose(crossEntropy(f64(logits), i32(y), { weight: f64(w), reduction: "sum" }), per.reduce((a, b) => a + b));
  });

  it("label smoothing with class weights: (1−ε)·nll + ε/C·(−Σ_c w_c log p_c), over Σ w_y", () => {
    const w = [0.5, 2, 1];
    const y = [0, 2, 1];
    const eps = 0.2;
    const nll = y.map((c, n) => -w[c]! * lp[n]![c]!);
    const smooth = lp.map((row) => -row.reduce((s, v, c) => s + w[c]! * v, 0));
    const denom = y.reduce((s, c) => s + w[c]!, 0);
    const want = ((1 - eps) * nll.reduce((a, b) => a + b) + (eps / 3) * smooth.reduce((a, b) => a + b)) / denom;
    expectClose(crossEntropy(f64(logits), i32(y), { weight: f64(w), labelSmoothing: eps }), want);
  });

  it("ignoreIndex drops samples from the sum and the mean's count", () => {
    const y = [2, -100, 0];
    expectClose(crossEntropy(f64(logits), i32(y)), (-lp[0]![2]! - lp[2]![0]!) / 2);
    expectClose(crossEntropy(f64(logits), i32(y), { reduction: "none" }), [-lp[0]![2]!, 0, -lp[2]![0]!]);
  });

  it("ignoreIndex on a backend without synchronous reads: the same values, with ops instead of a read-back", async () => {
    const slow = asyncCpu();
    const on = (v: number[][] | number[], dtype: "float64" | "int32") =>
      fromValues(dtype === "int32" ? Int32Array.from(v as number[]) : Float64Array.from((v as number[][]).flat()), dtype === "int32" ? [v.length] : [v.length, (v as number[][])[0]!.length], { backend: slow });
    const y = [2, -100, 0];
    const mean = crossEntropy(on(logits, "float64"), on(y, "int32"));
    expect(mean.backend).toBe(slow);
    expect((await mean.data())[0]).toBeCloseTo((-lp[0]![2]! - lp[2]![0]!) / 2, 12);
    const smoothed = crossEntropy(on(logits, "float64"), on(y, "int32"), { reduction: "none", labelSmoothing: 0.1 });
    expect(Array.from(await smoothed.data())).toEqual(Array.from(crossEntropy(f64(logits), i32(y), { reduction: "none", labelSmoothing: 0.1 }).dataSync()));
  });

  it("probability targets with weights: the mean divides by N", () => {
    const t = [[0.2, 0.5, 0.3], [1, 0, 0], [0, 0.5, 0.5]];
    const w = [1, 2, 0.5];
    const per = t.map((row, n) => -row.reduce((s, v, c) => s + w[c]! * v * lp[n]![c]!, 0));
    expectClose(crossEntropy(f64(logits), f64(t), { weight: f64(w) }), per.reduce((a, b) => a + b) / 3);
  });

  it("K-dim input [N, C, d] equals the flattened [N·d, C] case", () => {
    const rng = new Generator(3);
    const x = normal(rng, [2, 3, 4]);
    const y = i32([[0, 1, 2, 1], [2, 2, 0, 1]]);
    const flat = permute(x, [0, 2, 1]).reshape([8, 3]);
    expectClose(crossEntropy(x, y), Array.from(crossEntropy(flat, y.reshape([8])).dataSync())[0]!, { rtol: 1e-12 });
    expect(crossEntropy(x, y, { reduction: "none" }).shape).toEqual([2, 4]);
  });

  it("reports the first label outside [0, C) with its index", () => {
    expect(() => crossEntropy(f64(logits), i32([0, 3, -1]))).toThrow(ShapeError);
    expect(() => crossEntropy(f64(logits), i32([0, 3, -1]))).toThrow("crossEntropy: class label 3 at index 1 is outside [0, 3)");
    expect(() => crossEntropy(f64(logits), i32([0, 1]))).toThrow(/target \[2\] must be \[3\]/);
    expect(() => crossEntropy(f64(logits), i32([0, 1, 2]), { labelSmoothing: 1.5 })).toThrow(/invalid labelSmoothing 1.5/);
    expect(() => crossEntropy(f64(logits), i32([0, 1, 2]), { reduction: "avg" as "mean" })).toThrow(/invalid reduction "avg"/);
  });
});

describe("stability at logits of ±1000", () => {
  const big = f64([[1000, -1000, 0], [-1000, 1000, 1000], [0, 0, -1000]]);
  const cases: [string, () => [Tensor, Tensor], (x: Tensor, t: Tensor) => Tensor][] = [
    ["crossEntropy (indices)", () => [big, i32([1, 0, 2])], (x, t) => crossEntropy(x, t, { labelSmoothing: 0.1 })],
    ["crossEntropy (probabilities)", () => [big, f64([[0, 1, 0], [0.5, 0, 0.5], [0, 0, 1]])], (x, t) => crossEntropy(x, t)],
    ["binaryCrossEntropyWithLogits", () => [big, f64([[0, 1, 1], [1, 0, 1], [0.5, 1, 0]])], (x, t) => binaryCrossEntropyWithLogits(x, t)],
    ["focal (sigmoid)", () => [big, f64([[0, 1, 1], [1, 0, 1], [0, 1, 0]])], (x, t) => focal(x, t, { gamma: 2 })],
    ["focal (sigmoid, γ = 0.5)", () => [big, f64([[0, 1, 1], [1, 0, 1], [0, 1, 0]])], (x, t) => focal(x, t, { gamma: 0.5 })],
    ["focal (softmax)", () => [big, i32([0, 1, 2])], (x, t) => focal(x, t, { gamma: 0.5 })],
    ["binaryCrossEntropy at p ∈ {0, 1}", () => [f64([0, 1, 0, 1, 0.5]), f64([1, 0, 0, 1, 1])], (x, t) => binaryCrossEntropy(x, t)],
  ];
  for (const [name, make, f] of cases) {
    it(name, () => {
      const [x0, t] = make();
      const x = x0.requireGrad();
      const value = f(x, t);
      const [g] = gradients([value], [x]);
      expect(allFinite(value), `value ${value.toString()}`).toBe(true);
      expect(allFinite(g!), `gradient ${g!.toString()}`).toBe(true);
    });
  }

  it("gives the exact values: a confident right answer costs 0, a confident wrong one 2000", () => {
    expectClose(crossEntropy(f64([[1000, -1000]]), i32([0])), 0);
    expectClose(crossEntropy(f64([[1000, -1000]]), i32([1])), 2000);
    expectClose(binaryCrossEntropyWithLogits(f64([1000, -1000]), f64([0, 1]), { reduction: "none" }), [1000, 1000]);
    expectClose(binaryCrossEntropy(f64([0, 1]), f64([1, 0]), { reduction: "none" }), [100, 100]);
  });
});

describe("bad input", () => {
  it("binaryCrossEntropy reports probabilities outside [0, 1] instead of making NaN", () => {
    expect(() => binaryCrossEntropy(f64([0.5, 1.2]), f64([1, 0]))).toThrow(ConfigError);
    expect(() => binaryCrossEntropy(f64([0.5, 1.2]), f64([1, 0]))).toThrow(/input 1.2 at index 1 is outside \[0, 1\]/);
    expect(() => binaryCrossEntropy(f64([0.5, NaN]), f64([1, 0]))).toThrow(/input NaN at index 1/);
    expect(() => binaryCrossEntropy(f64([0.5, 0.5]), f64([1, -0.5]))).toThrow(/target -0.5 at index 1/);
  });

  it("regression losses need matching shapes and a float target", () => {
    expect(() => mse(f64([1, 2]), f64([1, 2, 3]))).toThrow(/input \[2\] and target \[3\] must have the same shape/);
    expect(() => l1(f64([1, 2]), i32([1, 2]))).toThrow(/target is int32/);
    expect(() => smoothL1(f64([1]), f64([1]), { beta: -1 })).toThrow(/invalid beta -1/);
  });
});

describe("values", () => {
  it("smoothL1 and huber switch at β / δ (PyTorch)", () => {
    const p = f64([0, 0, 0, 0]);
    const t = f64([0.5, -2, 3, 0]);
    expectClose(smoothL1(p, t, { beta: 1, reduction: "none" }), [0.125, 1.5, 2.5, 0]);
    expectClose(smoothL1(p, t, { beta: 2, reduction: "none" }), [0.0625, 1, 2, 0]);
    expectClose(huber(p, t, { delta: 2, reduction: "none" }), [0.125, 2, 4, 0]);
    expectClose(smoothL1(p, t, { beta: 0, reduction: "none" }), [0.5, 2, 3, 0]);
  });

  it("rmse is sqrt(mean((p − t)²)), with a zero (not NaN) gradient at a perfect fit", () => {
    expectClose(rmse(f64([1, 2, 3]), f64([1, 0, 3])), Math.sqrt(4 / 3));
    const x = f64([1, 2]).requireGrad();
    const [g] = gradients([rmse(x, f64([1, 2]))], [x]);
    expectClose(g!, [0, 0]);
  });

  it("focal: γ = 0 and no α is BCE with logits; the softmax form by hand", () => {
    const rng = new Generator(1);
    const x = normal(rng, [6]);
    const t = f64([1, 0, 1, 1, 0, 0]);
    expectClose(focal(x, t, { gamma: 0, alpha: -1 }), binaryCrossEntropyWithLogits(x, t).item(), { rtol: 1e-12 });
    const logits = [[1, 2, 0.5], [0.1, -1, 2]];
    const y = [1, 2];
    const want = y.map((c, n) => {
      const lp = logSoftmaxRow(logits[n]!)[c]!;
      return -0.5 * (1 - Math.exp(lp)) ** 2 * lp;
    });
    expectClose(focal(f64(logits), i32(y), { gamma: 2, alpha: 0.5, reduction: "none" }), want, { rtol: 1e-12 });
    expectClose(focal(f64(logits), i32(y), { gamma: 2, alpha: f64([1, 0.5, 0.5]), reduction: "sum" }), want[0]! + want[1]!, { rtol: 1e-12 });
  });
});

describe("gradcheck (float64)", () => {
  const rng = new Generator(7);
  const logits = normal(rng, [4, 3]);
  const labels = i32([2, 0, 1, 1]);
  const probs = uniform(rng, [4, 3], 0.05, 0.95);
  const targets = uniform(rng, [4, 3], 0, 1);
  const binary = f64([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]]);
  const rows: [string, (x: Tensor) => Tensor, Tensor][] = [
    ["crossEntropy weighted + smoothing", (x) => crossEntropy(x, labels, { weight: f64([0.5, 1, 2]), labelSmoothing: 0.1 }), logits],
    ["crossEntropy probabilities", (x) => crossEntropy(x, targets), logits],
    ["binaryCrossEntropy", (x) => binaryCrossEntropy(x, targets, { weight: f64([1, 2, 0.5]) }), probs],
    ["binaryCrossEntropyWithLogits posWeight", (x) => binaryCrossEntropyWithLogits(x, targets, { posWeight: f64([2, 1, 0.5]) }), logits],
    ["focal sigmoid", (x) => focal(x, binary, { gamma: 1.5, alpha: 0.3 }), logits],
    ["focal sigmoid, soft targets", (x) => focal(x, targets, { gamma: 2 }), logits],
    ["focal softmax", (x) => focal(x, labels, { gamma: 2 }), logits],
    ["smoothL1", (x) => smoothL1(x, targets, { beta: 0.5 }), logits],
    ["huber", (x) => huber(x, targets, { delta: 0.5 }), logits],
    ["rmse", (x) => rmse(x, targets), logits],
  ];
  for (const [name, f, x] of rows) {
    it(name, async () => {
      const r = await gradcheck(f, [x]);
      expect(r.ok, r.message).toBe(true);
    });
  }
});

describe("loss objects", () => {
  it("apply the function with their options", () => {
    const rng = new Generator(2);
    const x = normal(rng, [3, 4]);
    const t = uniform(rng, [3, 4], 0.1, 0.9);
    const y = i32([0, 3, 1]);
    const same = (a: Tensor, b: Tensor) => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    same(new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(x, y), crossEntropy(x, y, { labelSmoothing: 0.1 }));
    same(new BinaryCrossEntropyLoss({ reduction: "sum" }).forward(t, t), binaryCrossEntropy(t, t, { reduction: "sum" }));
    same(new BinaryCrossEntropyWithLogitsLoss().forward(x, t), binaryCrossEntropyWithLogits(x, t));
    same(new FocalLoss({ gamma: 1 }).forward(x, t), focal(x, t, { gamma: 1 }));
    same(new L1Loss().forward(x, t), l1(x, t));
    same(new MSELoss({ reduction: "none" }).forward(x, t), mse(x, t, { reduction: "none" }));
    same(new SmoothL1Loss({ beta: 0.3 }).forward(x, t), smoothL1(x, t, { beta: 0.3 }));
    same(new HuberLoss({ delta: 0.3 }).forward(x, t), huber(x, t, { delta: 0.3 }));
    same(new RMSELoss().forward(x, t), rmse(x, t));
    expect(() => new MSELoss({ reduction: "max" as "mean" })).toThrow(/invalid reduction "max"/);
    expect(() => new HuberLoss({ delta: 0 })).toThrow(/invalid delta 0/);
  });
});

describe("weight penalties", () => {
  const model = () => buildSequential(
    [{ type: "conv2d", outChannels: 2, kernelSize: 1 }, { type: "batchNorm2d" }, { type: "prelu" }, { type: "flatten" }, { type: "linear", outFeatures: 2 }],
    { inputShape: [1, 2, 2], rng: new Generator(0), dtype: "float64" },
  );
  const sumOf = (ts: Tensor[], f: (v: number) => number) => ts.reduce((s, t) => s + Array.from(t.dataSync()).reduce((a, v) => a + f(v), 0), 0);

  it("default to Linear and Conv2d weights: no biases, no norm or PReLU parameters", () => {
    const m = model();
    expect(selectParameters(m).map(([n]) => n)).toEqual(["0.weight", "4.weight"]);
    const ws = [m.stateDict()["0.weight"]!, m.stateDict()["4.weight"]!];
    expectClose(l2Penalty(m, 0.1), 0.1 * sumOf(ws, (v) => v * v), { rtol: 1e-12 });
    expectClose(l1Penalty(m, 0.1), 0.1 * sumOf(ws, Math.abs), { rtol: 1e-12 });
  });

  it("the study notes' form λ/(2m)·Σ‖W‖²_F, and its gradient (λ/m)·W", () => {
    const m = model();
    const w = m.stateDict()["4.weight"]!;
    const ws = [m.stateDict()["0.weight"]!, w];
    const p = l2Penalty(m, 0.3, { batchSize: 8 });
    expectClose(p, (0.3 / 16) * sumOf(ws, (v) => v * v), { rtol: 1e-12 });
    expectClose(l2Penalty(m, 0.3, { form: "perBatch", batchSize: 8 }), p.item());
    p.backward();
    expectClose(m.namedParameters().find(([n]) => n === "4.weight")![1].grad!, Array.from(w.dataSync()).map((v) => (0.3 / 8) * v), { shape: w.shape, rtol: 1e-12 });
    expect(m.namedParameters().find(([n]) => n === "4.bias")![1].grad).toBeNull();
    expect(() => l2Penalty(m, 0.3, { form: "perBatch" })).toThrow(/needs batchSize/);
    expect(() => l2Penalty(m, -1)).toThrow(/invalid lambda -1/);
  });

  it("selects by name: include patterns, exclude predicates, regular expressions", () => {
    const m = model();
    expect(selectParameters(m, { include: ["*.bias"] }).map(([n]) => n)).toEqual(["0.bias", "1.bias", "4.bias"]);
    expect(selectParameters(m, { include: [/^[04]\./] , exclude: (n) => n.endsWith("bias") }).map(([n]) => n)).toEqual(["0.weight", "4.weight"]);
    expect(selectParameters(m, { exclude: ["0.*"] }).map(([n]) => n)).toEqual(["4.weight"]);
    expect(l2Penalty(m, 1, { include: ["nothing"] }).item()).toBe(0);
  });
});

describe("createLoss (the config's loss)", () => {
  const logits = tensor([[2, -1, 0.5], [0.1, 0.2, 3], [-1, 1, 0]], { dtype: "float64" });
  const labels = fromValues(Int32Array.from([0, 2, 1]), [3]);
  const classes = { classification: true, outputs: 3, dtype: "float64" } as const;

  it("the default is cross-entropy for class labels and MSE for numbers; a regression's [N] targets are compared as [N, 1]", () => {
    expect(createLoss(null, classes)(logits, labels).item()).toBeCloseTo(crossEntropy(logits, labels).item(), 12);
    const out = tensor([[1], [2], [4]], { dtype: "float64" });
    const y = tensor([1.5, 2, 3], { dtype: "float64" });
    expect(createLoss(null, { classification: false, outputs: 1, dtype: "float64" })(out, y).item()).toBeCloseTo((0.25 + 0 + 1) / 3, 12);
    expect(createLoss("l1", { classification: false, outputs: 1, dtype: "float64" })(out, y).item()).toBeCloseTo(1.5 / 3, 12);
  });

  it("a loss of values compares the outputs with the one-hot labels; crossEntropy and focal take the labels, with their options", () => {
    const onehot = tensor([[1, 0, 0], [0, 0, 1], [0, 1, 0]], { dtype: "float64" });
    expect(createLoss("mse", classes)(logits, labels).item()).toBeCloseTo(mse(logits, onehot).item(), 12);
    expect(createLoss({ type: "smoothL1", beta: 0.5 }, classes)(logits, labels).item()).toBeCloseTo(smoothL1(logits, onehot, { beta: 0.5 }).item(), 12);
    expect(createLoss({ type: "crossEntropy", labelSmoothing: 0.1, weight: [1, 2, 3] }, classes)(logits, labels).item()).toBeCloseTo(
      crossEntropy(logits, labels, { labelSmoothing: 0.1, weight: tensor([1, 2, 3], { dtype: "float64" }) }).item(), 12,
    );
    expect(createLoss({ type: "focal", gamma: 1, alpha: 0.5 }, classes)(logits, labels).item()).toBeCloseTo(focal(logits, labels, { gamma: 1, alpha: 0.5 }).item(), 12);
    expect(createLoss("binaryCrossEntropyWithLogits", classes)(logits, labels).item()).toBeCloseTo(binaryCrossEntropyWithLogits(logits, onehot).item(), 12);
  });

  it("refuses an unknown loss or option, a bad value, a per-class array of the wrong length, and cross-entropy on numbers", () => {
    expect(() => createLoss("hinge", classes)).toThrow("unknown loss \"hinge\" (expected one of crossEntropy, focal, binaryCrossEntropyWithLogits, binaryCrossEntropy, mse, l1, smoothL1, huber, rmse)");
    expect(() => createLoss({ type: "focal", gama: 2 }, classes)).toThrow('loss focal: unknown option "gama" (expected one of gamma, alpha)');
    expect(() => createLoss({ type: "mse", reduction: "sum" }, classes)).toThrow('loss mse: unknown option "reduction"');
    expect(() => createLoss({ type: "focal", gamma: -1 }, classes)).toThrow(/^loss focal: .*gamma/);
    expect(() => createLoss({ type: "crossEntropy", weight: [1, 2] }, classes)).toThrow("loss crossEntropy: weight must be an array of 3 finite numbers (one per class), got [1,2]");
    expect(() => createLoss("crossEntropy", { classification: false, outputs: 1, dtype: "float32" })).toThrow(/^loss crossEntropy needs class labels/);
    expect(() => checkLossSpec({ type: "huber", delta: 0 })).toThrow(/^loss huber: .*delta/);
    expect(() => checkLossSpec({ type: "crossEntropy", weight: 2 })).toThrow("loss crossEntropy: weight must be an array of finite numbers (one per output), got 2");
  });
});
