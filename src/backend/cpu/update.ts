/**
 * The cpu backend's fused optimizer update (../update.ts): one tight loop per stage over the
 * parameter, on u in a scratch buffer that only grows (no allocation in steady state), slots
 * rewritten in place, and a last loop writing θ + u (with a trailing `scale` stage folded in)
 * into the one new buffer. `r` rounds an intermediate to the dtype (Math.fround for float32),
 * and the typed-array stores round each stage's results, exactly as the separate ops would.
 *
 * NOTE: `r` is a closure made inside each kernel over a loop-invariant flag, not a function
 * passed in: a call site that has seen both Math.fround and the identity stops inlining and
 * runs ~10x slower (measured on the Adam loop).
 */
import { stageSlots, type UpdateStage } from "../update.js";

type Floats = Float32Array | Float64Array;
let scratch32 = new Float32Array(0);
let scratch64 = new Float64Array(0);

function scratchFor(like: Floats, n: number): Floats {
  if (like instanceof Float32Array) {
    if (scratch32.length < n) scratch32 = new Float32Array(n);
    return scratch32.subarray(0, n);
  }
  if (scratch64.length < n) scratch64 = new Float64Array(n);
  return scratch64.subarray(0, n);
}

type Stage<K extends UpdateStage["op"]> = Extract<UpdateStage, { op: K }>;

function scaleStage(s: Stage<"scale">, u: Floats, f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const f = r(s.factor);
  for (let i = 0; i < n; i++) u[i] = u[i]! * f;
}

function weightDecayStage(s: Stage<"weightDecay">, u: Floats, theta: Floats, f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const wd = r(s.wd);
  for (let i = 0; i < n; i++) u[i] = u[i]! + r(theta[i]! * wd);
}

function clampStage(s: Stage<"clamp">, u: Floats): void {
  const n = u.length;
  const lo = s.min, hi = s.max;
  for (let i = 0; i < n; i++) { const v = u[i]!; u[i] = v < lo ? lo : v > hi ? hi : v; }
}

function momentumStage(s: Stage<"momentum">, u: Floats, slots: readonly Floats[], f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const b = slots[0]!;
  const mu = r(s.mu), keep = r(1 - s.dampening);
  if (s.first) b.set(u);
  else if (s.dampening === 0) for (let i = 0; i < n; i++) b[i] = r(b[i]! * mu) + u[i]!;
  else for (let i = 0; i < n; i++) b[i] = r(b[i]! * mu) + r(u[i]! * keep);
  if (s.nesterov) for (let i = 0; i < n; i++) u[i] = u[i]! + r(b[i]! * mu);
  else u.set(b);
}

function emaStage(s: Stage<"ema">, u: Floats, slots: readonly Floats[], f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const v = slots[0]!;
  const beta = r(s.beta), keep = r(1 - s.beta);
  for (let i = 0; i < n; i++) v[i] = r(v[i]! * beta) + r(u[i]! * keep);
  if (s.correction === null) u.set(v);
  else {
    const c = r(s.correction);
    for (let i = 0; i < n; i++) u[i] = v[i]! / c;
  }
}

function adagradStage(s: Stage<"adagrad">, u: Floats, slots: readonly Floats[], f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const sum = slots[0]!;
  const eps = r(s.eps);
  for (let i = 0; i < n; i++) {
    const g = u[i]!;
    sum[i] = sum[i]! + r(g * g);
    u[i] = g / r(r(Math.sqrt(sum[i]!)) + eps);
  }
  if (s.decay !== null) {
    const d = r(s.decay);
    for (let i = 0; i < n; i++) u[i] = u[i]! / d;
  }
}

function rmsStage(s: Stage<"rms">, u: Floats, slots: readonly Floats[], f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const sq = slots[0]!;
  const ga = s.centered ? slots[1]! : null;
  const buf = s.momentum > 0 ? slots[s.centered ? 2 : 1]! : null;
  const alpha = r(s.alpha), keep = r(1 - s.alpha), eps = r(s.eps), mu = r(s.momentum);
  for (let i = 0; i < n; i++) {
    const g = u[i]!;
    sq[i] = r(sq[i]! * alpha) + r(r(g * g) * keep);
    let avg: number;
    if (ga) {
      ga[i] = r(ga[i]! * alpha) + r(g * keep);
      const m = ga[i]!;
      avg = r(r(Math.sqrt(r(sq[i]! - r(m * m)))) + eps);
    } else {
      avg = r(r(Math.sqrt(sq[i]!)) + eps);
    }
    if (buf) {
      buf[i] = r(buf[i]! * mu) + r(g / avg);
      u[i] = buf[i]!;
    } else {
      u[i] = g / avg;
    }
  }
}

function adamStage(s: Stage<"adam">, u: Floats, slots: readonly Floats[], f32: boolean): void {
  const n = u.length;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const m = slots[0]!, v = slots[1]!;
  const vMax = s.amsgrad ? slots[2]! : null;
  const b1 = r(s.b1), k1 = r(1 - s.b1), b2 = r(s.b2), k2 = r(1 - s.b2), eps = r(s.eps);
  const bc1 = s.bc1 === null ? 0 : r(s.bc1), bc2 = s.bc2Sqrt === null ? 0 : r(s.bc2Sqrt);
  const correct = s.bc1 !== null && s.bc2Sqrt !== null;
  if (correct && !vMax) {
    // the default Adam, without the per-element branches of the general loop below
    for (let i = 0; i < n; i++) {
      const g = u[i]!;
      const mi = r(r(m[i]! * b1) + r(g * k1));
      const vi = r(r(v[i]! * b2) + r(r(g * g) * k2));
      m[i] = mi;
      v[i] = vi;
      u[i] = r(mi / bc1) / r(r(r(Math.sqrt(vi)) / bc2) + eps);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const g = u[i]!;
    m[i] = r(m[i]! * b1) + r(g * k1);
    v[i] = r(v[i]! * b2) + r(r(g * g) * k2);
    let w = v[i]!;
    if (vMax) {
      const x = vMax[i]!;
      w = x > w || x !== x ? x : w;
      vMax[i] = w;
    }
    u[i] = correct ? r(m[i]! / bc1) / r(r(r(Math.sqrt(w)) / bc2) + eps) : m[i]! / r(r(Math.sqrt(w)) + eps);
  }
}

/** One stage over all of u; each op is its own function so V8 optimizes each loop alone. */
function runStage(s: UpdateStage, u: Floats, theta: Floats, slots: readonly Floats[], f32: boolean): void {
  switch (s.op) {
    case "scale": return scaleStage(s, u, f32);
    case "weightDecay": return weightDecayStage(s, u, theta, f32);
    case "clamp": return clampStage(s, u);
    case "momentum": return momentumStage(s, u, slots, f32);
    case "ema": return emaStage(s, u, slots, f32);
    case "adagrad": return adagradStage(s, u, slots, f32);
    case "rms": return rmsStage(s, u, slots, f32);
    case "adam": return adamStage(s, u, slots, f32);
    default:
      s satisfies never;
  }
}

/** Runs the stages on u = grad and writes θ + u into `out` (see the file header). */
export function applyUpdateInto(stages: readonly UpdateStage[], theta: Floats, grad: Floats, slots: readonly Floats[], out: Floats): void {
  const n = theta.length;
  const f32 = theta instanceof Float32Array;
  const r = (x: number): number => (f32 ? Math.fround(x) : x);
  const u = scratchFor(theta, n);
  u.set(grad);
  const last = stages[stages.length - 1];
  const folded = last?.op === "scale" ? last : null;
  let k = 0;
  stages.forEach((s, j) => {
    const m = stageSlots(s);
    if (!(folded && j === stages.length - 1)) runStage(s, u, theta, slots.slice(k, k + m), f32);
    k += m;
  });
  if (folded) {
    const f = r(folded.factor);
    for (let i = 0; i < n; i++) out[i] = theta[i]! + r(u[i]! * f);
  } else {
    for (let i = 0; i < n; i++) out[i] = theta[i]! + u[i]!;
  }
}
