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
