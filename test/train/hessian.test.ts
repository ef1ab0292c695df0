/**
 * The Hessian tools: hessianOf (exact second derivatives), symmetricEigen (Jacobi) and
 * classifyCriticalPoint.
 */
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/tensor/random.js";
import { fromValues } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { add, matmul, mul, reshape, square, sub, sum, tanh } from "../../src/ops/index.js";
import { classifyCriticalPoint, hessianOf, symmetricEigen } from "../../src/diagnose/hessian.js";

const f64 = (values: number[], shape: number[]) => fromValues(Float64Array.from(values), shape);

/** A random symmetric n x n matrix (float64, row-major). */
function randomSymmetric(n: number, rng: Generator): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** max |A v_k - λ_k v_k| over every pair, and max |V^T V - I|. */
function eigenResiduals(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array) {
  let pair = 0, ortho = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + k]!;
      pair = Math.max(pair, Math.abs(av - values[k]! * vectors[i * n + k]!));
    }
    for (let l = 0; l < n; l++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += vectors[i * n + k]! * vectors[i * n + l]!;
      ortho = Math.max(ortho, Math.abs(d - (k === l ? 1 : 0)));
    }
  }
  return { pair, ortho };
}

describe("hessianOf", () => {
  it("returns A exactly for the quadratic 0.5 xᵀAx (A symmetric), with value and gradient Ax", async () => {
    const A = [4, 1, -2, 1, 3, 0.5, -2, 0.5, 5];
    const x0 = [0.3, -1.2, 2];
    const a = f64(A, [3, 3]);
    const f = (x: Tensor) => mul(sum(mul(x, reshape(matmul(a, reshape(x, [3, 1])), [3]))), 0.5);
    const r = await hessianOf(f, [f64(x0, [3])]);
    expect(r.size).toBe(3);
    expect(Array.from(r.hessian)).toEqual(A);
    const ax = [0, 1, 2].map((i) => A[i * 3]! * x0[0]! + A[i * 3 + 1]! * x0[1]! + A[i * 3 + 2]! * x0[2]!);
    Array.from(r.gradient).forEach((g, i) => expect(g).toBeCloseTo(ax[i]!, 12));
    expect(r.value).toBeCloseTo(0.5 * x0.reduce((s, v, i) => s + v * ax[i]!, 0), 12);
  });

  it("gives the symmetric part (A + Aᵀ)/2 for a non-symmetric A, at any point", async () => {
    const rng = new Generator(4);
    const n = 5;
    const A = Array.from({ length: n * n }, () => Math.round(rng.normal() * 8) / 4); // dyadic: sums are exact
    const a = f64(A, [n, n]);
    const f = (x: Tensor) => mul(sum(mul(x, reshape(matmul(a, reshape(x, [n, 1])), [n]))), 0.5);
    for (const seed of [1, 2]) {
      const g = new Generator(seed);
      const r = await hessianOf(f, [f64(Array.from({ length: n }, () => g.normal()), [n])]);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(r.hessian[i * n + j]).toBe((A[i * n + j]! + A[j * n + i]!) / 2);
    }
  });

  it("flattens several parameters in order and fills the cross terms", async () => {
    // f(u, w) = u0² w0 + 3 u1 w0 + w0³  (u: [2], w: [1]); at u = (1, 2), w = 2
    const pick = (u: Tensor, i: number) => sum(mul(u, f64(i === 0 ? [1, 0] : [0, 1], [2])));
    const f = (u: Tensor, w: Tensor) => {
      const w0 = sum(w);
      return add(add(mul(square(pick(u, 0)), w0), mul(mul(pick(u, 1), w0), 3)), mul(mul(w0, w0), w0));
    };
    const r = await hessianOf(f, [f64([1, 2], [2]), f64([2], [1])]);
    // ∂²/∂u0² = 2w = 4; ∂²/∂u0∂w = 2u0 = 2; ∂²/∂u1∂w = 3; ∂²/∂w² = 6w = 12; ∂²/∂u1² = 0
    expect(Array.from(r.hessian)).toEqual([4, 0, 2, 0, 0, 3, 2, 3, 12]);
    expect(Array.from(r.gradient)).toEqual([2 * 1 * 2, 3 * 2, 1 + 3 * 2 + 3 * 4]);
  });

  it("is zero for a linear function and refuses a non-scalar function", async () => {
    const r = await hessianOf((x: Tensor) => sum(mul(x, 3)), [f64([1, 2], [2])]);
    expect(Array.from(r.hessian)).toEqual([0, 0, 0, 0]);
    await expect(hessianOf((x: Tensor) => mul(x, 2), [f64([1, 2], [2])])).rejects.toThrow(/must return a scalar, got shape \[2\]/);
  });

  it("matches finite differences of the gradient on a nonlinear function", async () => {
    const w = f64([0.5, -1, 2, 0.3, 0.7, -0.4], [2, 3]);
    const f = (x: Tensor) => sum(square(tanh(reshape(matmul(reshape(x, [1, 2]), w), [3]))));
    const x0 = [0.4, -0.8];
    const r = await hessianOf(f, [f64(x0, [2])]);
    const h = 1e-5;
    for (let j = 0; j < 2; j++) {
      const plus = [...x0], minus = [...x0];
      plus[j]! += h;
      minus[j]! -= h;
      const gp = (await hessianOf(f, [f64(plus, [2])])).gradient, gm = (await hessianOf(f, [f64(minus, [2])])).gradient;
      for (let i = 0; i < 2; i++) expect(r.hessian[i * 2 + j]).toBeCloseTo((gp[i]! - gm[i]!) / (2 * h), 6);
    }
    expect(r.hessian[1]).toBe(r.hessian[2]); // symmetric
  });
});

describe("symmetricEigen", () => {
  it("A v = λ v for every pair, V orthonormal, eigenvalues ascending, on random symmetric matrices", () => {
    const rng = new Generator(11);
    for (const n of [1, 2, 3, 6, 12, 25]) {
      const a = randomSymmetric(n, rng);
      const { values, vectors } = symmetricEigen(a, n);
      expect(values).toHaveLength(n);
      expect(vectors).toHaveLength(n * n);
      for (let k = 1; k < n; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!);
      const { pair, ortho } = eigenResiduals(a, n, values, vectors);
      expect(pair, `n=${n}`).toBeLessThan(1e-10);
      expect(ortho, `n=${n}`).toBeLessThan(1e-12);
      // the trace is the sum of the eigenvalues
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a[i * n + i]!;
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
    }
  });

  it("is accurate at any scale: a tiny Hessian (near a plateau) as well as a large one", () => {
    const rng = new Generator(5);
    const n = 12;
    const base = randomSymmetric(n, rng);
    const ref = symmetricEigen(base, n).values;
    for (const scale of [1e-20, 1e-9, 1e8]) {
      const a = base.map((v) => v * scale);
      const { values, vectors } = symmetricEigen(a, n);
      values.forEach((v, k) => expect(Math.abs(v / scale - ref[k]!), `scale ${scale}`).toBeLessThan(1e-12));
      const { pair, ortho } = eigenResiduals(a, n, values, vectors);
      expect(pair / scale, `scale ${scale}`).toBeLessThan(1e-10);
      expect(ortho).toBeLessThan(1e-12);
    }
    // [[0, ε], [ε, 0]] has eigenvalues ±ε however small ε is
    const eps = symmetricEigen(Float64Array.from([0, 1e-18, 1e-18, 0]), 2).values;
    expect(eps[0]! / 1e-18).toBeCloseTo(-1, 12);
    expect(eps[1]! / 1e-18).toBeCloseTo(1, 12);
    expect(Array.from(symmetricEigen(new Float64Array(9), 3).values)).toEqual([0, 0, 0]);
  });

  it("does not change its input", () => {
    const a = randomSymmetric(4, new Generator(2));
    const copy = Float64Array.from(a);
    symmetricEigen(a, 4);
    expect(a).toEqual(copy);
  });

  it("diagonal matrices: the diagonal, sorted, with unit vectors", () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3);
    expect(Array.from(values)).toEqual([-1, 2, 3]);
    // column k is ±e_(index of the k-th smallest diagonal entry)
    expect(Array.from(vectors).map(Math.abs)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it("known 2x2 cases", () => {
    // [[2, 1], [1, 2]]: λ = 1 along (1, -1)/√2, λ = 3 along (1, 1)/√2
    const r = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(r.values[0]).toBeCloseTo(1, 14);
    expect(r.values[1]).toBeCloseTo(3, 14);
    const s = Math.SQRT1_2;
    expect(Math.abs(r.vectors[0]!)).toBeCloseTo(s, 14);
    expect(r.vectors[2]! / r.vectors[0]!).toBeCloseTo(-1, 14);
    expect(r.vectors[3]! / r.vectors[1]!).toBeCloseTo(1, 14);
    // [[0, 1], [1, 0]]: ±1; [[4, 0], [0, 4]]: a double eigenvalue
    expect(Array.from(symmetricEigen(Float64Array.from([0, 1, 1, 0]), 2).values).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([-1, 1]);
    expect(Array.from(symmetricEigen(Float64Array.from([4, 0, 0, 4]), 2).values)).toEqual([4, 4]);
    // [[1, 2], [2, -2]]: λ = -3, 2
    const t = symmetricEigen(Float64Array.from([1, 2, 2, -2]), 2);
    expect(t.values[0]).toBeCloseTo(-3, 13);
    expect(t.values[1]).toBeCloseTo(2, 13);
  });

  it("refuses a matrix of the wrong size", () => {
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(/expected 4 values for \[2,2\], got 5/);
  });
});

describe("classifyCriticalPoint", () => {
  it("names the four classes, and 'none' away from a critical point", () => {
    expect(classifyCriticalPoint(0, [1, 2, 3])).toBe("minimum");
    expect(classifyCriticalPoint(0, [-3, -2, -0.5])).toBe("maximum");
    expect(classifyCriticalPoint(0, [-1, 2])).toBe("saddle");
    expect(classifyCriticalPoint(0, [-1, 0, 2])).toBe("saddle"); // mixed signs decide, a zero does not matter
    expect(classifyCriticalPoint(0, [0, 2])).toBe("degenerate");
    expect(classifyCriticalPoint(0, [-1, 1e-12])).toBe("degenerate");
    expect(classifyCriticalPoint(0.5, [1, 2])).toBe("none");
  });

  it("uses tol for both the gradient norm and the eigenvalues", () => {
    expect(classifyCriticalPoint(1e-9, [1, 2])).toBe("minimum");
    expect(classifyCriticalPoint(1e-3, [1, 2], 1e-2)).toBe("minimum");
    expect(classifyCriticalPoint(0, [1e-3, 1], 1e-2)).toBe("degenerate");
    expect(classifyCriticalPoint(0, [-1e-3, 1], 1e-4)).toBe("saddle");
  });

  it("f = x² - y² at the origin is a saddle whose negative eigenvector points along y", async () => {
    const f = (p: Tensor) => {
      const v = mul(p, p);
      return sub(sum(mul(v, f64([1, 0], [2]))), sum(mul(v, f64([0, 1], [2]))));
    };
    const r = await hessianOf(f, [f64([0, 0], [2])]);
    expect(Array.from(r.hessian, (v) => v + 0)).toEqual([2, 0, 0, -2]); // + 0: -0 is 0
    const norm = Math.hypot(...r.gradient);
    expect(norm).toBe(0);
    const { values, vectors } = symmetricEigen(r.hessian, 2);
    expect(Array.from(values)).toEqual([-2, 2]);
    expect(classifyCriticalPoint(norm, values)).toBe("saddle");
    // the eigenvector of the negative eigenvalue (column 0) is ±(0, 1): a direction of descent
    expect(Math.abs(vectors[0]!)).toBe(0);
    expect(Math.abs(vectors[2]!)).toBe(1);
    // and a minimum and a maximum for x² + y² and -(x² + y²)
    const bowl = await hessianOf((p: Tensor) => sum(mul(p, p)), [f64([0, 0], [2])]);
    expect(classifyCriticalPoint(Math.hypot(...bowl.gradient), symmetricEigen(bowl.hessian, 2).values)).toBe("minimum");
    const cap = await hessianOf((p: Tensor) => mul(sum(mul(p, p)), -1), [f64([0, 0], [2])]);
    expect(classifyCriticalPoint(Math.hypot(...cap.gradient), symmetricEigen(cap.hessian, 2).values)).toBe("maximum");
    // away from the origin the gradient is not zero: no critical point
    const off = await hessianOf(f, [f64([0.1, 0], [2])]);
    expect(classifyCriticalPoint(Math.hypot(...off.gradient), symmetricEigen(off.hessian, 2).values)).toBe("none");
  });
});

