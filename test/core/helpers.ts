/**
 * Shared helpers for the numerical-core tests: float64 tensors from literals or a seeded
 * Generator (kept away from kinks and ties), and an allclose assertion that names the element.
 */
import { expect } from "vitest";
import { CpuBackend, Generator, Tensor, tensor, type Backend, type NestedArray } from "../../src/index.js";

/** A float64 tensor from nested arrays. */
export function f64(data: NestedArray): Tensor {
  return tensor(data, { dtype: "float64" });
}

/** An int32 tensor from nested arrays. */
export function i32(data: NestedArray): Tensor {
  return tensor(data, { dtype: "int32" });
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function make(shape: readonly number[], fill: (i: number) => number): Tensor {
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = fill(i);
  return tensor(v, { shape: [...shape] });
}

/** Standard normal values. */
export function normal(rng: Generator, shape: readonly number[], scale = 1): Tensor {
  return make(shape, () => scale * rng.normal());
}

/** Uniform values in [lo, hi). */
export function uniform(rng: Generator, shape: readonly number[], lo: number, hi: number): Tensor {
  return make(shape, () => lo + (hi - lo) * rng.uniform());
}

/** Values with |v| >= margin and random signs: safe around kinks at 0 (relu, abs, prelu). */
export function awayFromZero(rng: Generator, shape: readonly number[], margin = 0.2): Tensor {
  return make(shape, () => {
    const v = rng.normal();
    return Math.sign(v || 1) * (Math.abs(v) + margin);
  });
}

/**
 * Distinct values at least `gap` apart in random order: no ties for max, min, maxPool, maximum.
 * (A tie is a kink; finite differences there straddle two branches.)
 */
export function distinct(rng: Generator, shape: readonly number[], gap = 0.1): Tensor {
  const n = sizeOf(shape);
  const perm = rng.permutation(n);
  return make(shape, (i) => (perm[i]! - n / 2) * gap + 0.3 * gap * rng.uniform());
}

/** Flattens a nested array or number to a flat list. */
function flat(x: NestedArray): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

function shapeOfNested(x: NestedArray): number[] {
  const s: number[] = [];
  let cur = x;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    cur = cur[0]!;
  }
  return s;
}

/**
 * Asserts t's shape equals `want`'s and every value is within atol + rtol·|want|.
 * Pass `shape` when `want` is flat but t is not.
 */
export function expectClose(t: Tensor, want: NestedArray, options: { atol?: number; rtol?: number; shape?: readonly number[] } = {}): void {
  const { atol = 1e-12, rtol = 1e-9 } = options;
  const shape = options.shape ?? shapeOfNested(want);
  expect([...t.shape], "shape").toEqual([...shape]);
  const got = Array.from(t.dataSync());
  const w = flat(want);
  expect(got.length).toBe(w.length);
  w.forEach((wv, i) => {
    const g = got[i]!;
    if (Number.isNaN(wv)) {
      expect(Number.isNaN(g), `element ${i}: ${g}, expected NaN`).toBe(true);
      return;
    }
    const ok = Math.abs(g - wv) <= atol + rtol * Math.abs(wv) || g === wv;
    expect(ok, `element ${i}: got ${g}, expected ${wv}`).toBe(true);
  });
}

/**
 * The cpu kernels behind a Backend without `readSync`, as an asynchronous (GPU) backend offers:
 * any synchronous read in library code throws on it (dataSync names the backend).
 */
export function asyncCpu(): Backend {
  return Object.create(new CpuBackend(), { name: { value: "async-cpu" }, readSync: { value: undefined } }) as Backend;
}
