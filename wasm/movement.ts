/**
 * AssemblyScript source of the float32 sliding-window and data-movement kernels (WebAssembly
 * SIMD), compiled by scripts/build-wasm.mjs into src/backend/wasm/movement-wasm.generated.ts and
 * driven by src/backend/wasm/movement-simd.ts. Each kernel gives the bits of its TypeScript
 * twin in src/backend/cpu/window.ts or src/backend/cpu/movement.ts:
 * - copies (im2col, strided, take) move 32-bit words with integer or v128 loads and stores, never
 *   through a float register, so -0 and every NaN payload pass unchanged (float32 and int32 alike);
 * - sums (col2im, scatterAdd) add each target's terms in the TypeScript loop order, one f32 add
 *   per term (the TypeScript `x[i] += y` rounds a float64 sum of two float32 values, which is the
 *   float32 sum); the vector loops only run over distinct targets of one row at a time. NOTE: the
 *   add is written `y + x`: where both are NaN, V8's `x[i] += y` keeps y's payload on x64, and
 *   so does an f32 add with y first;
 * - maxima (maxPoolIndices) keep the TypeScript rule per window: a later element replaces the
 *   best when it is greater, or when it is NaN and the best is not, so the first maximum wins
 *   ties and the first NaN wins outright; four windows are compared per f32x4 step and picked
 *   with bitselect (no branch on the data).
 * Arrays are byte addresses in this module's memory, laid out by the driver (no allocator;
 * --runtime stub); geometry comes as arguments. The stride-2 pooling loads read up to 4 bytes
 * past the last input word they use: the driver leaves slack after each region.
 */

/** First byte the caller may use, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** ceil(a / b) for b > 0. */
@inline function ceilDiv(a: i32, b: i32): i32 {
  return a > 0 ? (a + b - 1) / b : -(-a / b);
}

/** Rows shorter than this are moved with v128 loops; longer ones with memory.copy/fill. */
const BULK = 128;

/** n 32-bit words from src to dst (no overlap); short runs by v128, the last one overlapping. */
@inline function copyWords(dst: usize, src: usize, n: i32): void {
  if (n >= BULK) {
    memory.copy(dst, src, <usize>n << 2);
  } else if (n >= 4) {
    const end = <usize>n << 2;
    let o: usize = 0;
    for (; o + 16 <= end; o += 16) v128.store(dst + o, v128.load(src + o));
    if (o < end) v128.store(dst + end - 16, v128.load(src + end - 16));
  } else {
    for (let i = 0; i < n; i++) store<i32>(dst + (<usize>i << 2), load<i32>(src + (<usize>i << 2)));
  }
}

/** n copies of the 32-bit word v at dst. */
@inline function fillWords(dst: usize, v: i32, n: i32): void {
  if (n >= 4) {
    const vv = i32x4.splat(v);
    const end = <usize>n << 2;
    let o: usize = 0;
    for (; o + 16 <= end; o += 16) v128.store(dst + o, vv);
    if (o < end) v128.store(dst + end - 16, vv);
  } else {
    for (let i = 0; i < n; i++) store<i32>(dst + (<usize>i << 2), v);
  }
}

/** n words from src, `step` words apart, to consecutive words at dst. */
@inline function gatherWords(dst: usize, src: usize, n: i32, step: i32): void {
  if (n <= 0) return;
  if (step === 1) {
    copyWords(dst, src, n);
  } else if (step === 0) {
    fillWords(dst, load<i32>(src), n);
  } else {
    const s = <usize>(step << 2); // wraps for a negative step, as addresses do
    let p = src;
    for (let i = 0; i < n; i++, p += s) store<i32>(dst + (<usize>i << 2), load<i32>(p));
  }
}

/** dst[i] += src[i·step] for i < n, in float32. */
@inline function accumulate(dst: usize, src: usize, n: i32, step: i32): void {
  let i = 0;
  if (step === 1) {
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(src + o), v128.load(dst + o)));
    }
  }
  const s = <usize>step << 2;
  for (let p = dst + <usize>i * s; i < n; i++, p += s) store<f32>(p, load<f32>(src + (<usize>i << 2)) + load<f32>(p));
}

/**
 * One im2col block (fixed n, c, i, j) of a dense geometry (strides 1, outW = w), where block
 * entry f reads input word `src` + f: the rows in range are one run of the input, copied at
 * once, with zeros written over the padding around it and between its rows.
 */
@inline function imBlock(src: usize, blk: usize, h: i32, outH: i32, outW: i32, y0: i32, lo: i32, hi: i32): void {
  // the rows oh in [first, last) read inside the input (row y = oh + y0)
  const first = min(outH, max(0, -y0)), last = max(first, min(outH, h - y0));
  if (first === last || lo === hi) {
    fillWords(blk, 0, outH * outW);
    return;
  }
  const a = first * outW + lo, e = (last - 1) * outW + hi;
  fillWords(blk, 0, a);
  copyWords(blk + (<usize>a << 2), src + (<usize>a << 2), e - a);
  for (let oh = first; oh < last - 1; oh++) fillWords(blk + (<usize>(oh * outW + hi) << 2), 0, outW - hi + lo);
  fillWords(blk + (<usize>e << 2), 0, outH * outW - e);
}

/**
 * One col2im block of a dense geometry: input word `dst` + f += block entry f over the rows in
 * range, as one run, after zeroing the block's padding entries between those rows (this
 * module's copy of the columns is the driver's scratch). NOTE: adding +0 leaves every bit of
 * the sum unchanged: it starts at +0 and so is never -0, and NaN + 0 keeps the NaN's payload.
 */
@inline function colBlock(blk: usize, dst: usize, h: i32, outH: i32, outW: i32, y0: i32, lo: i32, hi: i32): void {
  // the rows oh in [first, last) read inside the input (row y = oh + y0)
  const first = min(outH, max(0, -y0)), last = max(first, min(outH, h - y0));
  if (first === last || lo === hi) return;
  const a = first * outW + lo, e = (last - 1) * outW + hi;
  for (let oh = first; oh < last - 1; oh++) fillWords(blk + (<usize>(oh * outW + hi) << 2), 0, outW - hi + lo);
  accumulate(dst + (<usize>a << 2), blk + (<usize>a << 2), e - a, 1);
}

/**
 * cols[n, (c·kh + i)·kw + j, oh·outW + ow] (layout nkl; [(c·kh + i)·kw + j, n, ...] when kFirst)
 * = x[n, c, oh·sh − pt + i·dh, ow·sw − pl + j·dw], 0 outside the input: `im2colInto`.
 */
export function im2col(
  x: usize, cols: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, kFirst: bool,
): void {
  windowRows(true, x, cols, n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, outH, outW, kFirst);
}

/** The adjoint of im2col: x (n·c·h·w float32, zeroed here) += every column entry: `col2imInto`. */
export function col2im(
  cols: usize, x: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, kFirst: bool,
): void {
  memory.fill(x, 0, <usize>(n * c * h * w) << 2);
  windowRows(false, x, cols, n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, outH, outW, kFirst);
}

/**
 * The loop nest of im2col (`toCols`: each column row gathered from the input, zeros outside it)
 * and of col2im (else: each column row added into the input), over every (n, c, i, j) block and
 * output row; `toCols` is a constant at both call sites, so each inlines to its own loop.
 */
@inline function windowRows(
  toCols: bool, x: usize, cols: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32, kFirst: bool,
): void {
  const L = outH * outW;
  const K = c * kh * kw;
  const dense = sh === 1 && sw === 1 && outW === w;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xBase = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const row = (ch * kh + i) * kw + j;
          const cBase = (kFirst ? row * n + b : b * K + row) * L;
          // the outputs ow in [lo, hi) read inside the row: 0 <= x0 + ow·sw < w
          const x0 = j * dw - pl;
          const lo = min(outW, max(0, ceilDiv(-x0, sw)));
          const hi = max(lo, min(outW, ceilDiv(w - x0, sw)));
          if (dense) {
            const blk = cols + (<usize>cBase << 2), src = x + (<usize>(xBase + (i * dh - pt) * w + x0) << 2);
            if (toCols) imBlock(src, blk, h, outH, outW, i * dh - pt, lo, hi);
            else colBlock(blk, src, h, outH, outW, i * dh - pt, lo, hi);
            continue;
          }
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * sh - pt + i * dh;
            const o = cols + (<usize>(cBase + oh * outW) << 2);
            const inRow = x + (<usize>(xBase + y * w + x0 + lo * sw) << 2);
            if (toCols) {
              if (<u32>y >= <u32>h) {
                fillWords(o, 0, outW);
                continue;
              }
              fillWords(o, 0, lo);
              gatherWords(o + (<usize>lo << 2), inRow, hi - lo, sw);
              fillWords(o + (<usize>hi << 2), 0, outW - hi);
            } else if (<u32>y < <u32>h) {
              accumulate(inRow, o + (<usize>lo << 2), hi - lo, sw);
            }
          }
        }
      }
    }
  }
}

/**
 * The flat index of one window's maximum over its in-range elements, -1 when none is in range
 * (a window wholly in the padding): the scalar form of the rule, for edge windows.
 */
function windowMax(x: usize, base: i32, y0: i32, xc0: i32, h: i32, w: i32, kh: i32, kw: i32, dh: i32, dw: i32): i32 {
  let best = -1;
  let bv: f32 = -Infinity;
  for (let i = 0; i < kh; i++) {
    const y = y0 + i * dh;
    if (<u32>y >= <u32>h) continue;
    for (let j = 0; j < kw; j++) {
      const xc = xc0 + j * dw;
      if (<u32>xc >= <u32>w) continue;
      const idx = base + y * w + xc;
      const v = load<f32>(x + (<usize>idx << 2));
      const take = (best < 0) | (!(v <= bv) & (bv == bv));
      best = select(idx, best, take);
      bv = select(v, bv, take);
    }
  }
  return best;
}

/** The elements at element index idx + l·sw (l < 4) of x, as an f32x4. */
@inline function lanes(x: usize, idx: i32, sw: i32): v128 {
  const p = x + (<usize>idx << 2);
  if (sw === 1) return v128.load(p);
  if (sw === 2) return i32x4.shuffle(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
  const s = <usize>sw << 2;
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + s, v, 1);
  v = v128.load32_lane(p + 2 * s, v, 2);
  return v128.load32_lane(p + 3 * s, v, 3);
}

/** Four windows side by side (ow .. ow+3, all inside the input) at element index first. */
@inline function windowMax4(x: usize, first: i32, h: i32, w: i32, kh: i32, kw: i32, sw: i32, dh: i32, dw: i32, steps: v128): v128 {
  let bv = lanes(x, first, sw);
  let best = i32x4.add(i32x4.splat(first), steps);
  for (let i = 0; i < kh; i++) {
    const r = first + i * dh * w;
    for (let j = i === 0 ? 1 : 0; j < kw; j++) {
      const idx = r + j * dw;
      const v = lanes(x, idx, sw);
      // v > bv, or v is NaN, unless bv is NaN: !(v <= bv) && bv == bv
      const take = v128.andnot(f32x4.eq(bv, bv), f32x4.le(v, bv));
      bv = v128.bitselect(v, bv, take);
      best = v128.bitselect(i32x4.add(i32x4.splat(idx), steps), best, take);
    }
  }
  return best;
}

/**
 * out[plane, oh, ow] = the flat index into x of its window's maximum: `maxPoolIndicesInto`.
 * Windows wholly inside the input go four at a time (a row's last group overlaps the one before
 * rather than leaving a scalar tail: recomputing a window gives the same index); edge windows
 * go one by one.
 */
export function maxPoolIndices(
  x: usize, out: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, outH: i32, outW: i32,
): void {
  // the ow whose window is inside the row: ow·sw − pl >= 0 and ow·sw − pl + (kw − 1)·dw < w
  const owLo = min(outW, ceilDiv(pl, sw));
  const owHi = max(owLo, min(outW, ceilDiv(w - (kw - 1) * dw + pl, sw)));
  const inner = owHi - owLo;
  const steps = i32x4.mul(i32x4(0, 1, 2, 3), i32x4.splat(sw));
  let o = out;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let oh = 0; oh < outH; oh++, o += <usize>outW << 2) {
      const y0 = oh * sh - pt;
      const rowInside = y0 >= 0 && y0 + (kh - 1) * dh < h;
      let ow = 0;
      if (rowInside && inner >= 4) {
        for (; ow < owLo; ow++) store<i32>(o + (<usize>ow << 2), windowMax(x, base, y0, ow * sw - pl, h, w, kh, kw, dh, dw));
        const rowBase = base + y0 * w - pl;
        for (; ; ow += 4) {
          if (ow + 4 > owHi) ow = owHi - 4;
          v128.store(o + (<usize>ow << 2), windowMax4(x, rowBase + ow * sw, h, w, kh, kw, sw, dh, dw, steps));
          if (ow + 4 === owHi) break;
        }
        ow = owHi;
      }
      for (; ow < outW; ow++) store<i32>(o + (<usize>ow << 2), windowMax(x, base, y0, ow * sw - pl, h, w, kh, kw, dh, dw));
    }
  }
}

/**
 * out[i] = x[offset + Σ idx_k·strides_k] over `shape` (rank >= 1, every extent >= 1; shape and
 * strides are int32 arrays at the given addresses, counter has room for rank int32), in 32-bit
 * words: `stridedInto`. Rows of the last axis move as a block copy (stride 1), a fill (stride 0)
 * or a strided gather; an odometer over the other axes steps the row's start.
 */
export function strided(x: usize, out: usize, rank: i32, shape: usize, strides: usize, offset: i32, counter: usize): void {
  const last = <usize>(rank - 1) << 2;
  const n = load<i32>(shape + last);
  const s = load<i32>(strides + last);
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= load<i32>(shape + (<usize>d << 2));
  memory.fill(counter, 0, <usize>rank << 2);
  let base = offset;
  let o = out;
  for (let r = 0; r < rows; r++, o += <usize>n << 2) {
    gatherWords(o, x + (<usize>base << 2), n, s);
    for (let d = rank - 2; d >= 0; d--) {
      const at = <usize>d << 2;
      const k = load<i32>(counter + at) + 1;
      const sd = load<i32>(strides + at);
      base += sd;
      if (k < load<i32>(shape + at)) {
        store<i32>(counter + at, k);
        break;
      }
      base -= sd * k;
      store<i32>(counter + at, 0);
    }
  }
}

/**
 * The least and greatest of count int32 indices, written as two int32 at `result` (count >= 1):
 * the driver copies only that range of the gathered array.
 */
export function indexRange(indices: usize, count: i32, result: usize): void {
  let lo = i32x4.splat(i32.MAX_VALUE);
  let hi = i32x4.splat(i32.MIN_VALUE);
  const n4 = count & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const v = v128.load(indices + (<usize>i << 2));
    lo = i32x4.min_s(lo, v);
    hi = i32x4.max_s(hi, v);
  }
  let a = min(min(i32x4.extract_lane(lo, 0), i32x4.extract_lane(lo, 1)), min(i32x4.extract_lane(lo, 2), i32x4.extract_lane(lo, 3)));
  let b = max(max(i32x4.extract_lane(hi, 0), i32x4.extract_lane(hi, 1)), max(i32x4.extract_lane(hi, 2), i32x4.extract_lane(hi, 3)));
  for (; i < count; i++) {
    const v = load<i32>(indices + (<usize>i << 2));
    a = min(a, v);
    b = max(b, v);
  }
  store<i32>(result, a);
  store<i32>(result, b, 4);
}

/**
 * out[i] = x[indices[i] − lo] in 32-bit words, where x holds elements [lo, lo + len) of the
 * gathered array; an index outside that range gives `fill` (the TypeScript kernel reads
 * undefined there: NaN in float32, 0 in int32): `takeInto`.
 */
export function take(x: usize, lo: i32, len: i32, indices: usize, count: i32, out: usize, fill: i32): void {
  const lov = i32x4.splat(lo), lenv = i32x4.splat(len), fillv = i32x4.splat(fill);
  const n4 = count & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const at = <usize>i << 2;
    const j = i32x4.sub(v128.load(indices + at), lov);
    const inside = i32x4.lt_u(j, lenv);
    const k = v128.and(j, inside);
    let v = v128.load32_zero(x + (<usize>i32x4.extract_lane(k, 0) << 2));
    v = v128.load32_lane(x + (<usize>i32x4.extract_lane(k, 1) << 2), v, 1);
    v = v128.load32_lane(x + (<usize>i32x4.extract_lane(k, 2) << 2), v, 2);
    v = v128.load32_lane(x + (<usize>i32x4.extract_lane(k, 3) << 2), v, 3);
    v128.store(out + at, v128.bitselect(v, fillv, inside));
  }
  for (; i < count; i++) {
    const at = <usize>i << 2;
    const j = load<i32>(indices + at) - lo;
    const inside = <u32>j < <u32>len;
    const v = load<i32>(x + (<usize>select(j, 0, inside) << 2));
    store<i32>(out + at, select(v, fill, inside));
  }
}

/**
 * out = zeros(size), then out[indices[i]] += x[i] for i in order, in float32; an index outside
 * [0, size) adds into the 4-byte `spill` instead (the TypeScript kernel's write there is a
 * no-op): `scatterAddInto`.
 */
export function scatterAdd(x: usize, indices: usize, count: i32, out: usize, size: i32, spill: usize): void {
  memory.fill(out, 0, <usize>size << 2);
  for (let i = 0; i < count; i++) {
    const at = <usize>i << 2;
    const j = load<i32>(indices + at);
    const p = select(out + (<usize>j << 2), spill, <u32>j < <u32>size);
    store<f32>(p, load<f32>(x + at) + load<f32>(p));
  }
}
