/**
 * AssemblyScript source of the fused optimizer update's float32 stages (WebAssembly SIMD),
 * compiled by scripts/build-wasm.mjs into src/backend/cpu/simd/update-wasm.generated.ts and
 * driven by src/backend/cpu/simd/update-simd.ts. The stages are those of
 * src/backend/update.ts with the same op-by-op math: every f32x4 (and tail f32) operation rounds
 * to float32 as the TypeScript kernel's Math.fround does, so results are bit-identical to it.
 * Arrays are byte addresses of n float32 values in this module's memory, owned by the driver
 * (no allocator; --runtime stub); the SIMD loops run over n & ~3 and a scalar tail does the rest.
 */

/** First byte the caller may use, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** u = f·u */
export function scale(u: usize, n: i32, f: f32): void {
  const fv = f32x4.splat(f);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const p = u + (<usize>i << 2);
    v128.store(p, f32x4.mul(v128.load(p), fv));
  }
  for (; i < n; i++) {
    const p = u + (<usize>i << 2);
    store<f32>(p, load<f32>(p) * f);
  }
}

/** u = u + wd·θ */
export function weightDecay(u: usize, theta: usize, n: i32, wd: f32): void {
  const w = f32x4.splat(wd);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(u + o, f32x4.add(v128.load(u + o), f32x4.mul(v128.load(theta + o), w)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(u + o, load<f32>(u + o) + load<f32>(theta + o) * wd);
  }
}

/**
 * Adam with bias correction: m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
 * u = (m / bc1) / (√v / bc2 + ε); k1 = 1 − β1 and k2 = 1 − β2 as float32 constants.
 */
export function adam(u: usize, m: usize, v: usize, n: i32, b1: f32, k1: f32, b2: f32, k2: f32, eps: f32, bc1: f32, bc2: f32): void {
  const B1 = f32x4.splat(b1), K1 = f32x4.splat(k1), B2 = f32x4.splat(b2), K2 = f32x4.splat(k2);
  const E = f32x4.splat(eps), C1 = f32x4.splat(bc1), C2 = f32x4.splat(bc2);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(u + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), B1), f32x4.mul(g, K1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), B2), f32x4.mul(f32x4.mul(g, g), K2));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(u + o, f32x4.div(f32x4.div(mi, C1), f32x4.add(f32x4.div(f32x4.sqrt(vi), C2), E)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(u + o);
    const mi: f32 = load<f32>(m + o) * b1 + g * k1;
    const vi: f32 = load<f32>(v + o) * b2 + (g * g) * k2;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(u + o, (mi / bc1) / (Mathf.sqrt(vi) / bc2 + eps));
  }
}

/** θ = θ + f·u (scaled) or θ + u, in place over θ. */
export function apply(theta: usize, u: usize, n: i32, f: f32, scaled: bool): void {
  const fv = f32x4.splat(f);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(u + o);
    v128.store(theta + o, f32x4.add(v128.load(theta + o), scaled ? f32x4.mul(x, fv) : x));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(u + o);
    store<f32>(theta + o, load<f32>(theta + o) + (scaled ? x * f : x));
  }
}

/**
 * Heavy-ball momentum: b = u (first), b = μ·b + u (not dampened) or μ·b + keep·u; then
 * u = u + μ·b (nesterov) or u = b. keep = 1 − dampening as a float32 constant.
 */
export function momentum(u: usize, b: usize, n: i32, mu: f32, keep: f32, dampened: bool, nesterov: bool, first: bool): void {
  const M = f32x4.splat(mu), K = f32x4.splat(keep);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(u + o);
    const bi = first ? g : f32x4.add(f32x4.mul(v128.load(b + o), M), dampened ? f32x4.mul(g, K) : g);
    v128.store(b + o, bi);
    v128.store(u + o, nesterov ? f32x4.add(g, f32x4.mul(bi, M)) : bi);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(u + o);
    const bi: f32 = first ? g : load<f32>(b + o) * mu + (dampened ? g * keep : g);
    store<f32>(b + o, bi);
    store<f32>(u + o, nesterov ? g + bi * mu : bi);
  }
}

/** Adagrad: s = s + g², u = g / (√s + ε), then u / decay when decayed. */
export function adagrad(u: usize, s: usize, n: i32, eps: f32, decay: f32, decayed: bool): void {
  const E = f32x4.splat(eps), D = f32x4.splat(decay);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(u + o);
    const si = f32x4.add(v128.load(s + o), f32x4.mul(g, g));
    v128.store(s + o, si);
    const q = f32x4.div(g, f32x4.add(f32x4.sqrt(si), E));
    v128.store(u + o, decayed ? f32x4.div(q, D) : q);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(u + o);
    const si: f32 = load<f32>(s + o) + g * g;
    store<f32>(s + o, si);
    const q: f32 = g / (Mathf.sqrt(si) + eps);
    store<f32>(u + o, decayed ? q / decay : q);
  }
}

/**
 * RMSProp: sq = α·sq + keep·g²; ga = α·ga + keep·g and d = √(sq − ga²) + ε (centered), else
 * d = √sq + ε; b = μ·b + g/d and u = b (with momentum), else u = g/d. keep = 1 − α.
 */
export function rms(u: usize, sq: usize, ga: usize, b: usize, n: i32, alpha: f32, keep: f32, eps: f32, mu: f32, centered: bool, withMomentum: bool): void {
  const A = f32x4.splat(alpha), K = f32x4.splat(keep), E = f32x4.splat(eps), M = f32x4.splat(mu);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(u + o);
    const s = f32x4.add(f32x4.mul(v128.load(sq + o), A), f32x4.mul(f32x4.mul(g, g), K));
    v128.store(sq + o, s);
    let d: v128;
    if (centered) {
      const m = f32x4.add(f32x4.mul(v128.load(ga + o), A), f32x4.mul(g, K));
      v128.store(ga + o, m);
      d = f32x4.add(f32x4.sqrt(f32x4.sub(s, f32x4.mul(m, m))), E);
    } else {
      d = f32x4.add(f32x4.sqrt(s), E);
    }
    if (withMomentum) {
      const bi = f32x4.add(f32x4.mul(v128.load(b + o), M), f32x4.div(g, d));
      v128.store(b + o, bi);
      v128.store(u + o, bi);
    } else {
      v128.store(u + o, f32x4.div(g, d));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(u + o);
    const s: f32 = load<f32>(sq + o) * alpha + (g * g) * keep;
    store<f32>(sq + o, s);
    let d: f32;
    if (centered) {
      const m: f32 = load<f32>(ga + o) * alpha + g * keep;
      store<f32>(ga + o, m);
      d = Mathf.sqrt(s - m * m) + eps;
    } else {
      d = Mathf.sqrt(s) + eps;
    }
    if (withMomentum) {
      const bi: f32 = load<f32>(b + o) * mu + g / d;
      store<f32>(b + o, bi);
      store<f32>(u + o, bi);
    } else {
      store<f32>(u + o, g / d);
    }
  }
}
