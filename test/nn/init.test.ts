/**
 * Initializers: bounds and moments checked statistically on large draws (tolerances a few
 * standard errors wide, with fixed seeds), fans read from shapes, PyTorch's layer defaults, and
 * the study notes' lesson on symmetry: zero weights keep every hidden unit identical through
 * training, Xavier/He weights do not.
 */
import { describe, expect, it } from "vitest";
import {
  Generator, Linear, Conv2d, buildSequential, calculateGain, computeFans, constantInit, heNormal, heUniform, initialize, mse, noGrad,
  normalInit, uniformInit, xavierNormal, xavierUniform, zerosInit, type InitSpec, type Tensor,
} from "../../src/index.js";
import { normal } from "../core/helpers.js";

function moments(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  let s = 0, min = Infinity, max = -Infinity;
  for (const x of v) {
    s += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length), min, max };
}

/** A uniform U[−a, a] draw: inside the bounds, reaching near both, with std a/√3. */
function expectUniform(t: Tensor, a: number): void {
  const m = moments(t);
  expect(m.min).toBeGreaterThanOrEqual(-a);
  expect(m.max).toBeLessThanOrEqual(a);
  expect(m.min).toBeLessThan(-0.99 * a);
  expect(m.max).toBeGreaterThan(0.99 * a);
  expect(Math.abs(m.mean)).toBeLessThan(0.02 * a);
  expect(m.std / (a / Math.sqrt(3))).toBeCloseTo(1, 1);
}

function expectNormal(t: Tensor, std: number, mean = 0): void {
  const m = moments(t);
  expect(Math.abs(m.mean - mean)).toBeLessThan(0.02 * std);
  expect(Math.abs(m.std / std - 1)).toBeLessThan(0.02);
}

describe("initializers", () => {
  const rng = () => new Generator(42);

  it("fans follow PyTorch: [out, in, ...kernel]", () => {
    expect(computeFans([10, 20])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(computeFans([8, 4, 3, 3])).toEqual({ fanIn: 36, fanOut: 72 });
    expect(calculateGain("relu")).toBeCloseTo(Math.SQRT2, 15);
    expect(calculateGain("tanh")).toBeCloseTo(5 / 3, 15);
    expect(calculateGain("leakyRelu", Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
  });

  it("zeros, constant, uniform, normal", () => {
    expect(Array.from(zerosInit([3]).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(constantInit([2], { value: 0.5, dtype: "float64" }).dataSync())).toEqual([0.5, 0.5]);
    const u = uniformInit([20000], { rng: rng(), low: -2, high: 4, dtype: "float64" });
    const mu = moments(u);
    expect(mu.min).toBeGreaterThanOrEqual(-2);
    expect(mu.max).toBeLessThan(4);
    expect(mu.mean).toBeCloseTo(1, 1);
    expectNormal(normalInit([20000], { rng: rng(), mean: 3, std: 0.5, dtype: "float64" }), 0.5, 3);
    expect(() => normalInit([2], { rng: rng(), std: -1 })).toThrow(/invalid std -1/);
  });

  it("xavierUniform: U[−√(6/(fanIn+fanOut)), +…]; xavierNormal: std √(2/(fanIn+fanOut))", () => {
    expectUniform(xavierUniform([200, 300], { rng: rng(), dtype: "float64" }), Math.sqrt(6 / 500));
    expectUniform(xavierUniform([200, 300], { rng: rng(), gain: 2, dtype: "float64" }), 2 * Math.sqrt(6 / 500));
    expectNormal(xavierNormal([200, 300], { rng: rng(), dtype: "float64" }), Math.sqrt(2 / 500));
  });

  it("heUniform: U[−√(6/fanIn), +…]; heNormal: std √(2/fanIn); fanOut mode and gains", () => {
    expectUniform(heUniform([300, 200], { rng: rng(), dtype: "float64" }), Math.sqrt(6 / 200));
    expectUniform(heUniform([300, 200], { rng: rng(), mode: "fanOut", dtype: "float64" }), Math.sqrt(6 / 300));
    expectUniform(heUniform([64, 16, 3, 3], { rng: rng(), dtype: "float64" }), Math.sqrt(6 / 144));
    expectNormal(heNormal([300, 200], { rng: rng(), dtype: "float64" }), Math.sqrt(2 / 200));
    expectNormal(heNormal([300, 200], { rng: rng(), nonlinearity: "tanh", dtype: "float64" }), (5 / 3) / Math.sqrt(200));
    expectNormal(heNormal([300, 200], { rng: rng(), nonlinearity: "leakyRelu", a: 0.2, dtype: "float64" }), Math.sqrt(2 / 1.04) / Math.sqrt(200));
    expectUniform(heUniform([300, 200], { rng: rng(), a: Math.sqrt(5), dtype: "float64" }), 1 / Math.sqrt(200));
  });

  it("initialize(spec) matches the named functions", () => {
    const specs: [InitSpec, (r: Generator) => Tensor][] = [
      ["xavierUniform", (r) => xavierUniform([5, 7], { rng: r })],
      [{ type: "heNormal", mode: "fanOut" }, (r) => heNormal([5, 7], { rng: r, mode: "fanOut" })],
      [{ type: "normal", std: 0.1 }, (r) => normalInit([5, 7], { rng: r, std: 0.1 })],
    ];
    for (const [spec, direct] of specs) {
      expect(Array.from(initialize(spec, [5, 7], { rng: rng() }).dataSync())).toEqual(Array.from(direct(rng()).dataSync()));
    }
  });

  it("Linear and Conv2d default to U(−1/√fanIn, 1/√fanIn) for weight and bias (PyTorch)", () => {
    const lin = new Linear({ inFeatures: 400, outFeatures: 300, rng: rng(), dtype: "float64" });
    expectUniform(lin.weight, 1 / 20);
    const b = moments(lin.bias!);
    expect(b.max).toBeLessThanOrEqual(1 / 20);
    expect(b.min).toBeGreaterThanOrEqual(-1 / 20);
    const conv = new Conv2d({ inChannels: 16, outChannels: 200, kernelSize: 5, rng: rng(), dtype: "float64" });
    expectUniform(conv.weight, 1 / 20);
    const custom = new Linear({ inFeatures: 400, outFeatures: 300, rng: rng(), weightInit: "heNormal", biasInit: "zeros", dtype: "float64" });
    expectNormal(custom.weight, Math.sqrt(2 / 400));
    expect(moments(custom.bias!).max).toBe(0);
  });
});

describe("symmetry breaking (the study notes' lesson)", () => {
  /** Trains a 3-4-2 sigmoid MLP by hand, 20 steps of plain gradient descent; returns the hidden weights [4, 3]. */
  function train(weightInit: InitSpec): number[][] {
    const rng = new Generator(0);
    const model = buildSequential(
      [{ type: "linear", outFeatures: 4, weightInit, biasInit: "zeros" }, { type: "sigmoid" }, { type: "linear", outFeatures: 2, weightInit, biasInit: "zeros" }],
      { inputShape: [3], rng, dtype: "float64" },
    );
    const x = normal(new Generator(1), [8, 3]);
    const y = normal(new Generator(2), [8, 2]);
    const lr = 0.5;
    for (let step = 0; step < 20; step++) {
      model.zeroGrad();
      mse(model.forward(x), y).backward();
      noGrad(() => {
        for (const p of model.parameters()) p.assign(p.sub(p.grad!.mul(lr)));
      });
    }
    return model.stateDict()["0.weight"]!.toArray() as number[][];
  }

  it("with all-zero weights every hidden unit stays identical (though the weights do move)", () => {
    const w = train("zeros");
    for (const row of w) expect(row).toEqual(w[0]);
    expect(w[0]!.some((v) => Math.abs(v) > 1e-4)).toBe(true);
  });

  it("with Xavier or He weights the hidden units differ", () => {
    for (const init of ["xavierUniform", "heNormal"] as const) {
      const w = train(init);
      const distinctRows = new Set(w.map((r) => r.join(",")));
      expect(distinctRows.size).toBe(4);
    }
  });
});
