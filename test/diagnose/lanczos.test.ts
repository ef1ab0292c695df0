/**
 * Lanczos, Hutchinson and SLQ against the full Hessian (Jacobi) and against matrices whose
 * spectrum is known.
 */
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { fromValues } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { buildSequential } from "../../src/nn/sequential.js";
import { functionalCall } from "../../src/nn/module.js";
import { crossEntropy, mse } from "../../src/losses/index.js";
import { hessianOf, symmetricEigen } from "../../src/diagnose/hessian.js";
import { hutchinsonTrace, lanczos, spectralDensity, type MatVec } from "../../src/diagnose/lanczos.js";
import { lossFunctionOf } from "../../src/diagnose/operator.js";
import { classifyPoint } from "../../src/diagnose/critical.js";
import { evaluateHessianCase, FULL_HESSIAN_MAX } from "../../src/conformance/kinds/hessian.js";

function randomSymmetric(n: number, rng: Generator): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

const dense = (a: Float64Array, n: number): ((x: Float64Array) => Float64Array) => (x) => {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
    y[i] = s;
  }
  return y;
};

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

async function residual(mv: MatVec, value: number, v: Float64Array): Promise<number> {
  const av = await mv(v);
  return Math.sqrt(av.reduce((s, x, i) => s + (x - value * v[i]!) ** 2, 0));
}

describe("lanczos", () => {
  it("finds λmin, λmax and the top-k of random symmetric matrices to 1e-10 relative, with eigenvectors", async () => {
    const rng = new Generator(3);
    for (const n of [2, 5, 30, 120]) {
      const a = randomSymmetric(n, rng);
      const ref = symmetricEigen(a, n).values;
      const mv = dense(a, n);
      const r = await lanczos(mv, n, { k: Math.min(3, n), maxSteps: n, tol: 1e-12 });
      expect(r.converged, `n=${n}`).toBe(true);
      const scale = Math.max(Math.abs(ref[0]!), Math.abs(ref[n - 1]!));
      for (const [i, p] of r.smallest.entries()) {
        expect(Math.abs(p.value - ref[i]!) / scale, `n=${n} smallest ${i}`).toBeLessThan(1e-10);
        expect((await residual(mv, p.value, p.vector)) / scale).toBeLessThan(1e-8);
      }
      r.largest.forEach((p, i) => expect(Math.abs(p.value - ref[n - 1 - i]!) / scale, `n=${n} largest ${i}`).toBeLessThan(1e-10));
    }
  });

  it("stops early on a spectrum with well separated extremes, and on an invariant subspace", async () => {
    const n = 400;
    // diagonal with eigenvalues -5, 1..(n-2)/n spread in [0, 1], and 9: extremes converge fast
    const d = Float64Array.from({ length: n }, (_, i) => (i === 0 ? -5 : i === n - 1 ? 9 : i / n));
    const mv: MatVec = (x) => x.map((v, i) => v * d[i]!);
    const r = await lanczos(mv, n, { tol: 1e-10 });
    expect(r.steps).toBeLessThan(60);
    expect(rel(r.smallest[0]!.value, -5)).toBeLessThan(1e-10);
    expect(rel(r.largest[0]!.value, 9)).toBeLessThan(1e-10);
    expect(Math.abs(r.smallest[0]!.vector[0]!)).toBeCloseTo(1, 8);
    // the identity: one step spans an invariant subspace
    const id = await lanczos((x) => Float64Array.from(x), 50, {});
    expect(id.steps).toBe(1);
    expect(id.smallest[0]!.value).toBeCloseTo(1, 14);
  });

  it("refuses a bad size, k or start vector", async () => {
    const mv: MatVec = (x) => x;
    await expect(lanczos(mv, 0)).rejects.toThrow(/invalid size 0/);
    await expect(lanczos(mv, 3, { k: 0 })).rejects.toThrow(/invalid k 0/);
    await expect(lanczos(mv, 3, { start: new Float64Array(2) })).rejects.toThrow(/start vector has 2 values, expected 3/);
    await expect(lanczos(mv, 3, { start: new Float64Array(3) })).rejects.toThrow(/start vector is zero/);
  });
});

describe("Hessian of a model's loss from Hessian-vector products", () => {
  const cases = [
    { name: "tanh MLP, mse", specs: [{ type: "linear", outFeatures: 5 }, { type: "tanh" }, { type: "linear", outFeatures: 2 }], loss: "mse" },
    { name: "sigmoid MLP, cross-entropy", specs: [{ type: "linear", outFeatures: 4 }, { type: "sigmoid" }, { type: "linear", outFeatures: 3 }], loss: "ce" },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: λmin and λmax agree with the full Hessian to 1e-6 relative (float64)`, async () => {
      const rng = new Generator(7);
      const model = buildSequential(c.specs as never, { inputShape: [3], rng, dtype: "float64" });
      const x = fromValues(Float64Array.from({ length: 24 }, () => rng.normal()), [8, 3]);
      const y = c.loss === "mse"
        ? fromValues(Float64Array.from({ length: 16 }, () => rng.normal()), [8, 2])
        : fromValues(Int32Array.from({ length: 8 }, (_, i) => i % 3), [8]);
      const lossFn = (o: Tensor, t: Tensor) => (c.loss === "mse" ? mse(o, t) : crossEntropy(o, t));
      const op = await lossFunctionOf(model, lossFn, x, y);
      const named = model.namedParameters();
      const full = await hessianOf((...ps: Tensor[]) => lossFn(functionalCall(model, Object.fromEntries(named.map(([n], i) => [n, ps[i]!])), x), y), named.map(([, p]) => p));
      expect(op.size).toBe(full.size);
      expect(op.value).toBeCloseTo(full.value, 12);
      op.gradient.forEach((g, i) => expect(g).toBeCloseTo(full.gradient[i]!, 12));
      // one product against the dense Hessian
      const v = Float64Array.from({ length: op.size }, () => rng.normal());
      const hv = await op.hvp(v);
      const ref = dense(full.hessian, full.size)(v);
      hv.forEach((e, i) => expect(e).toBeCloseTo(ref[i]!, 10));
      const eig = symmetricEigen(full.hessian, full.size).values;
      const r = await lanczos(op.hvp, op.size, { k: 2 });
      expect(rel(r.smallest[0]!.value, eig[0]!)).toBeLessThan(1e-6);
      expect(rel(r.largest[0]!.value, eig[full.size - 1]!)).toBeLessThan(1e-6);
      expect(rel(r.largest[1]!.value, eig[full.size - 2]!)).toBeLessThan(1e-6);
      // the loss at another point, and the point itself
      expect(await op.lossAt(op.point)).toBeCloseTo(op.value, 12);
      const moved = op.point.map((p, i) => p + 0.1 * v[i]!);
      const direct = (() => {
        const t = op.tensorsAt(moved);
        return lossFn(functionalCall(model, t, x), y).item();
      })();
      expect(await op.lossAt(moved)).toBeCloseTo(direct, 12);
      // the recorded gradient graph still works after a line search
      (await op.hvp(v)).forEach((e, i) => expect(e).toBeCloseTo(ref[i]!, 10));
    });
  }

  it("a float32 model is analysed in float64 (the twin), its own parameters untouched", async () => {
    const rng = new Generator(2);
    const model = buildSequential([{ type: "linear", outFeatures: 3 }, { type: "relu" }, { type: "linear", outFeatures: 1 }], { inputShape: [2], rng });
    const before = model.stateDict()["0.weight"]!.dataSync().slice();
    const op = await lossFunctionOf(model, mse, fromValues(Float32Array.from([1, 2, -1, 0.5]), [2, 2]), fromValues(Float32Array.from([1, -1]), [2, 1]));
    expect(op.size).toBe(13);
    await op.lossAt(op.point.map((v) => v + 1));
    expect(model.stateDict()["0.weight"]!.dtype).toBe("float32");
    expect(Array.from(model.stateDict()["0.weight"]!.dataSync())).toEqual(Array.from(before));
  });
});

describe("hutchinsonTrace and spectralDensity", () => {
  it("Hutchinson is exact on a diagonal matrix and within 4 standard errors on a dense one", async () => {
    const d = Float64Array.from([3, -1, 0.5, 7, 2]);
    const t = await hutchinsonTrace((x) => x.map((v, i) => v * d[i]!), 5, { samples: 3 });
    expect(t.estimate).toBeCloseTo(11.5, 12);
    expect(t.stdError).toBeCloseTo(0, 12);
    const n = 40;
    const a = randomSymmetric(n, new Generator(9));
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i]!;
    const est = await hutchinsonTrace(dense(a, n), n, { samples: 200, seed: 1 });
    expect(est.stdError).toBeGreaterThan(0);
    expect(Math.abs(est.estimate - trace)).toBeLessThan(4 * est.stdError);
    await expect(hutchinsonTrace(dense(a, n), n, { samples: 0 })).rejects.toThrow(/invalid samples 0/);
  });

  it("SLQ: weights sum to 1, nodes lie in the spectrum, the density integrates to 1 and finds the eigenvalues", async () => {
    // eigenvalues clustered at -2 (10 of them) and 3 (30 of them), in a random orthogonal basis
    const n = 40;
    const rng = new Generator(5);
    const { vectors } = symmetricEigen(randomSymmetric(n, rng), n);
    const lam = Float64Array.from({ length: n }, (_, i) => (i < 10 ? -2 : 3));
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += vectors[i * n + k]! * lam[k]! * vectors[j * n + k]!;
    const s = await spectralDensity(dense(a, n), n, { probes: 8, steps: 10, sigma: 0.05, points: 400 });
    expect(s.weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 10);
    for (const th of s.nodes) expect(Math.min(Math.abs(th + 2), Math.abs(th - 3))).toBeLessThan(1e-8);
    const dx = s.grid[1]! - s.grid[0]!;
    expect(s.density.reduce((x, y) => x + y, 0) * dx).toBeCloseTo(1, 3);
    // the mass near -2 is about 10/40 (a stochastic estimate)
    const massLow = s.nodes.reduce((acc, th, i) => acc + (th < 0 ? s.weights[i]! : 0), 0);
    expect(massLow).toBeGreaterThan(0.1);
    expect(massLow).toBeLessThan(0.4);
    expect(s.trace).toBeCloseTo(n * s.nodes.reduce((acc, th, i) => acc + s.weights[i]! * th, 0), 10);
  });
});

describe("classifyPoint", () => {
  it("classes with tolerances relative to the spectrum's scale, at any scale", () => {
    for (const s of [1e-9, 1, 1e6]) {
      expect(classifyPoint(0, -2 * s, 2 * s, 1, 1)).toBe("saddle");
      expect(classifyPoint(0, 0.5 * s, 2 * s, 1, 1)).toBe("minimum");
      expect(classifyPoint(0, -2 * s, -0.1 * s, 1, 1)).toBe("maximum");
      // curvature below 0.1% of the largest is flat
      expect(classifyPoint(0, -1e-4 * s, 2 * s, 1, 1)).toBe("degenerate");
      expect(classifyPoint(0, -2 * s, 1e-4 * s, 1, 1)).toBe("degenerate");
    }
    expect(classifyPoint(0, 0, 0, 1, 1)).toBe("flat");
    // a gradient that is not small for the loss: no critical point, whatever the curvature
    expect(classifyPoint(0.1, -2, 2, 1, 1)).toBe("none");
    expect(classifyPoint(1e-4, -2, 2, 1, 1)).toBe("saddle");
    expect(classifyPoint(1e-4, -2, 2, 1, 1e-3)).toBe("none");
  });
});

describe("conformance kind hessian: Lanczos extremes", () => {
  it("gives λmin and λmax on every case, and only them (with the class) above the full-Hessian size", async () => {
    const rng = new Generator(12);
    const t = (shape: number[]) => ({ shape, data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.5 * rng.normal()) });
    // 6 -> 40 (tanh) -> 4: 6·40 + 40 + 40·4 + 4 = 444 parameters, over FULL_HESSIAN_MAX
    const c = {
      format: "descent-conformance/1", id: "hessian/large", kind: "hessian", dtype: "float64",
      model: [{ type: "linear", inFeatures: 6, outFeatures: 40 }, { type: "tanh" }, { type: "linear", inFeatures: 40, outFeatures: 4 }],
      params: { "0.weight": t([40, 6]), "0.bias": t([40]), "2.weight": t([4, 40]), "2.bias": t([4]) },
      input: t([10, 6]), target: t([10, 4]), loss: "mse", vector: t([444]),
    };
    const r = (await evaluateHessianCase(c as never, "float64")) as Record<string, { data: number[] } | string>;
    expect(444).toBeGreaterThan(FULL_HESSIAN_MAX);
    expect(r["hessian"]).toBeUndefined();
    const model = buildSequential([{ type: "linear", outFeatures: 40 }, { type: "tanh" }, { type: "linear", outFeatures: 4 }], { inputShape: [6], rng, dtype: "float64" });
    const names = ["0.weight", "0.bias", "2.weight", "2.bias"] as const;
    const params = names.map((n) => fromValues(Float64Array.from(c.params[n].data), c.params[n].shape));
    const x = fromValues(Float64Array.from(c.input.data), c.input.shape), y = fromValues(Float64Array.from(c.target.data), c.target.shape);
    const full = await hessianOf((...ps: Tensor[]) => mse(functionalCall(model, Object.fromEntries(names.map((n, i) => [n, ps[i]!])), x), y), params);
    const eig = symmetricEigen(full.hessian, full.size).values;
    expect(rel((r["lambdaMin"] as { data: number[] }).data[0]!, eig[0]!)).toBeLessThan(1e-6);
    expect(rel((r["lambdaMax"] as { data: number[] }).data[0]!, eig[full.size - 1]!)).toBeLessThan(1e-6);
    expect(r["criticalPoint"]).toBe("none");
  });
});
