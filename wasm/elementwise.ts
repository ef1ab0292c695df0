/**
 * AssemblyScript source of the float32 elementwise and reduction kernels (WebAssembly SIMD),
 * compiled by scripts/build-wasm.mjs into src/backend/wasm/elementwise-wasm.generated.ts and
 * driven by src/backend/wasm/elementwise-simd.ts, which owns the memory layout (no allocator;
 * --runtime stub). Pointers are byte addresses in this module's memory.
 *
 * Each op is its own export (`unary_relu`, `binary_add`, `reduce_max`, ...), named after the op
 * of src/backend/backend.ts, so the driver finds a kernel by name and no op code is duplicated.
 * An export instantiates an @inline loop with its op as a constant, so every loop body is one
 * straight, branch-free sequence of f32x4 ops: compare masks and v128.bitselect instead of `?:`,
 * which on random signs mispredicts in the TypeScript loops (relu, step, maximum).
 *
 * Bits: every kernel gives the bits of the TypeScript kernel of src/backend/cpu (which reads
 * float32 into float64, computes and rounds back to float32), NaN payloads and signed zeros
 * included:
 * - add, sub, mul, div, sqrt, square and 1/x round once to float32 here and twice there (float64,
 *   then float32), which for these operations gives the same value (53 >= 2·24 + 2 bits);
 * - leakyRelu's product and clamp's comparisons use the float64 parameters, so they run in f64x2;
 * - maximum/minimum/relu/sign/select keep the TypeScript `?:` semantics exactly: maximum(0, -0)
 *   is -0 (the second operand wins ties), a NaN first operand wins, relu(-0) is +0;
 * - reading float32 into float64 quiets a signalling NaN, so ops that pass a value through
 *   (neg, abs, relu, select, max, ...) quiet it too: `quiet` multiplies by 1, which changes no
 *   other value (-0, subnormals and infinities included);
 * - when both operands of add or mul are NaN, V8 returns the second one's payload for `a + b`
 *   and `a * b`, so those two compute `b op a` (the other ops keep `a op b`).
 *
 * Broadcasting: binary and select walk an output shape of rank <= MAX_RANK with per-operand
 * element strides, both written by the driver into the meta block (at shapeAt() and stridesAt(j)):
 * an odometer over the outer dims and a row over the last one. A row whose operands all have
 * inner stride 0 or 1 runs four lanes a step, a stride-0 operand read from a splatted 16-byte
 * slot; other rows run one lane at a time. Tails run the same f32x4 code on one splatted lane.
 *
 * Reductions run one stage [A, R, I] -> [A, I] per call (the driver strings the stages together
 * so a reduction over any axes never transposes its input): I == 1 reduces contiguous blocks of
 * R, I > 1 accumulates R rows of I vertically, 16 columns (one cache line) at a time, then 4,
 * then one.
 * - max/min: the TypeScript kernel keeps the first maximum in order (`e > m`) and stops at the
 *   first NaN. Vertical stages and blocks shorter than SHORT_BLOCK follow that rule lane by
 *   lane, in order. Longer contiguous blocks use f32x4.pmax/pmin and a NaN mask; a block with a
 *   NaN is rescanned for its first NaN, and one whose extreme is zero for its first zero (so
 *   max(0, -0) is 0 and max(-0, 0) is -0).
 * - sum: accumulated in float64 (f32 values promoted into f64x2) in a fixed order: four f64x2
 *   partial sums over a contiguous block, added pairwise, then the tail; sequential over R for a
 *   vertical stage. Stages between two reductions hand float64 partial sums on. The result is
 *   deterministic and as accurate as the TypeScript kernel's sequential float64 sum, but summed
 *   in another order it may differ from it in the last bit of float32, and where NaNs meet (or
 *   inf - inf makes one) the NaN's sign and payload may differ.
 */

const MAX_RANK = 8;
/** meta block (i32 slots): shape, the strides of up to three operands, odometer index, offsets */
const META_SHAPE = 0;
const META_STRIDES = MAX_RANK * 4;
const META_INDEX = META_STRIDES + 3 * MAX_RANK * 4;
const META_OFFSETS = META_INDEX + MAX_RANK * 4;
/** three 16-byte slots for splatted stride-0 operands */
const META_SLOTS = META_OFFSETS + 16;
const META_BYTES = META_SLOTS + 3 * 16;

/** The meta block of binary and select, 16-byte aligned. */
function metaBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** First byte the caller may use for operands, 16-byte aligned. */
export function heapBase(): usize {
  return metaBase() + ((META_BYTES + 15) & ~15);
}

/** The rank the meta block holds. */
export function maxRank(): i32 {
  return MAX_RANK;
}

/** Where the driver writes the output shape (maxRank() int32). */
export function shapeAt(): usize {
  return metaBase() + META_SHAPE;
}

/** Where the driver writes operand j's element strides (maxRank() int32), j < 3. */
export function stridesAt(j: i32): usize {
  return metaBase() + META_STRIDES + (<usize>(j * MAX_RANK) << 2);
}

// ---------------------------------------------------------------------------------------------
// lane helpers

// @ts-ignore: decorator
@inline
function quiet(v: v128): v128 {
  return f32x4.mul(v, f32x4.splat(1));
}

// @ts-ignore: decorator
@inline
function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** Four f32 lanes from two f64x2 (low lanes first). */
// @ts-ignore: decorator
@inline
function demote2(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** A four-lane mask from two f64x2 masks. */
// @ts-ignore: decorator
@inline
function narrowMask(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(lo, hi, 0, 2, 4, 6);
}

// ---------------------------------------------------------------------------------------------
// unary

const NEG = 0, ABS = 1, SIGN = 2, RELU = 3, STEP = 4, SQUARE = 5, SQRT = 6, RECIPROCAL = 7;
const LEAKY_RELU = 8, CLAMP = 9, FLOOR = 10, CEIL = 11, NON_FINITE = 12;

// @ts-ignore: decorator
@inline
function unaryLanes(op: i32, v: v128, p0: f64, p1: f64): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  switch (op) {
    case NEG: return f32x4.neg(quiet(v));
    case ABS: return f32x4.abs(quiet(v));
    case SIGN: return v128.bitselect(one, v128.bitselect(f32x4.splat(-1), quiet(v), f32x4.lt(v, zero)), f32x4.gt(v, zero));
    case RELU: return v128.and(quiet(v), v128.or(f32x4.gt(v, zero), f32x4.ne(v, v)));
    case STEP: return v128.and(f32x4.gt(v, zero), one);
    case SQUARE: return f32x4.mul(v, v);
    case SQRT: return f32x4.sqrt(v);
    case RECIPROCAL: return f32x4.div(one, v);
    case LEAKY_RELU: {
      const s = f64x2.splat(p0);
      const prod = demote2(f64x2.mul(f64x2.promote_low_f32x4(v), s), f64x2.mul(promoteHigh(v), s));
      return v128.bitselect(v, prod, f32x4.gt(v, zero));
    }
    case CLAMP: {
      const lo = f64x2.splat(p0), hi = f64x2.splat(p1);
      const vl = f64x2.promote_low_f32x4(v), vh = promoteHigh(v);
      const below = narrowMask(f64x2.lt(vl, lo), f64x2.lt(vh, lo));
      const above = narrowMask(f64x2.gt(vl, hi), f64x2.gt(vh, hi));
      return v128.bitselect(f32x4.splat(<f32>p0), v128.bitselect(f32x4.splat(<f32>p1), quiet(v), above), below);
    }
    case FLOOR: return f32x4.floor(v);
    case CEIL: return f32x4.ceil(v);
    case NON_FINITE: return v128.andnot(one, f32x4.lt(f32x4.abs(v), f32x4.splat(Infinity)));
    default: unreachable();
  }
  return v;
}

/** out[i] = op(x[i]) for i < n; out may equal x. */
// @ts-ignore: decorator
@inline
function unaryLoop(op: i32, x: usize, out: usize, n: i32, p0: f64, p1: f64): void {
  const n8 = n & ~7;
  let i = 0;
  for (; i < n8; i += 8) {
    const o = <usize>i << 2;
    const v0 = v128.load(x + o), v1 = v128.load(x + o, 16);
    v128.store(out + o, unaryLanes(op, v0, p0, p1));
    v128.store(out + o, unaryLanes(op, v1, p0, p1), 16);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    v128.store32_lane(out + o, unaryLanes(op, v128.load32_splat(x + o), p0, p1), 0);
  }
}

export function unary_neg(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(NEG, x, out, n, p0, p1); }
export function unary_abs(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(ABS, x, out, n, p0, p1); }
export function unary_sign(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(SIGN, x, out, n, p0, p1); }
export function unary_relu(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(RELU, x, out, n, p0, p1); }
export function unary_step(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(STEP, x, out, n, p0, p1); }
export function unary_square(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(SQUARE, x, out, n, p0, p1); }
export function unary_sqrt(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(SQRT, x, out, n, p0, p1); }
export function unary_reciprocal(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(RECIPROCAL, x, out, n, p0, p1); }
export function unary_leakyRelu(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(LEAKY_RELU, x, out, n, p0, p1); }
export function unary_clamp(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(CLAMP, x, out, n, p0, p1); }
export function unary_floor(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(FLOOR, x, out, n, p0, p1); }
export function unary_ceil(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(CEIL, x, out, n, p0, p1); }
export function unary_nonFinite(x: usize, out: usize, n: i32, p0: f64, p1: f64): void { unaryLoop(NON_FINITE, x, out, n, p0, p1); }

// ---------------------------------------------------------------------------------------------
// broadcast walk (binary and select)

/** Rows of the walk: the product of all dims but the last (1 at rank 0; 0 when a dim is 0). */
function rowCount(rank: i32): i32 {
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= load<i32>(metaBase() + META_SHAPE + (<usize>d << 2));
  return rows;
}

/** Length of the last dim (1 at rank 0). */
function rowLength(rank: i32): i32 {
  return rank > 0 ? load<i32>(metaBase() + META_SHAPE + (<usize>(rank - 1) << 2)) : 1;
}

/** Element stride of operand j along the last dim (0 at rank 0). */
function innerStride(rank: i32, j: i32): i32 {
  return rank > 0 ? load<i32>(metaBase() + META_STRIDES + (<usize>(j * MAX_RANK + rank - 1) << 2)) : 0;
}

/** Zeroes the odometer and the k operand offsets. */
function startWalk(rank: i32, k: i32): void {
  const m = metaBase();
  for (let d = 0; d < rank; d++) store<i32>(m + META_INDEX + (<usize>d << 2), 0);
  for (let j = 0; j < k; j++) store<i32>(m + META_OFFSETS + (<usize>j << 2), 0);
}

/** Element offset of operand j in the current row. */
// @ts-ignore: decorator
@inline
function offsetOf(j: i32): usize {
  return <usize>load<i32>(metaBase() + META_OFFSETS + (<usize>j << 2));
}

/** Advances the odometer over dims rank-2 .. 0 and the k operand offsets to the next row. */
function nextRow(rank: i32, k: i32): void {
  const m = metaBase();
  for (let d = rank - 2; d >= 0; d--) {
    const ip = m + META_INDEX + (<usize>d << 2);
    const size = load<i32>(m + META_SHAPE + (<usize>d << 2));
    const i = load<i32>(ip) + 1;
    const wrap = i >= size;
    store<i32>(ip, wrap ? 0 : i);
    for (let j = 0; j < k; j++) {
      const op = m + META_OFFSETS + (<usize>j << 2);
      const s = load<i32>(m + META_STRIDES + (<usize>(j * MAX_RANK + d) << 2));
      store<i32>(op, load<i32>(op) + (wrap ? s - s * size : s));
    }
    if (!wrap) return;
  }
}

/** Where a row reads operand j four lanes at a time: its data (stride 1) or a splat slot (stride 0). */
// @ts-ignore: decorator
@inline
function laneSource(p: usize, stride: i32, j: i32): usize {
  if (stride != 0) return p;
  const slot = metaBase() + META_SLOTS + (<usize>j << 4);
  v128.store(slot, v128.load32_splat(p));
  return slot;
}

// ---------------------------------------------------------------------------------------------
// binary

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;
const EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11, RELU_GRAD = 12;

// @ts-ignore: decorator
@inline
function binaryLanes(op: i32, x: v128, y: v128): v128 {
  const one = f32x4.splat(1);
  switch (op) {
    case ADD: return f32x4.add(y, x);
    case SUB: return f32x4.sub(x, y);
    case MUL: return f32x4.mul(y, x);
    case DIV: return f32x4.div(x, y);
    case MAXIMUM: return quiet(v128.bitselect(x, y, v128.or(f32x4.gt(x, y), f32x4.ne(x, x))));
    case MINIMUM: return quiet(v128.bitselect(x, y, v128.or(f32x4.lt(x, y), f32x4.ne(x, x))));
    case EQ: return v128.and(f32x4.eq(x, y), one);
    case NE: return v128.and(f32x4.ne(x, y), one);
    case LT: return v128.and(f32x4.lt(x, y), one);
    case LE: return v128.and(f32x4.le(x, y), one);
    case GT: return v128.and(f32x4.gt(x, y), one);
    case GE: return v128.and(f32x4.ge(x, y), one);
    case RELU_GRAD: return v128.andnot(quiet(x), f32x4.le(y, f32x4.splat(0))); // +0 where y <= 0, else x
    default: unreachable();
  }
  return x;
}

/** out[i] = op(a[i·sa], b[i·sb]) for i < n. */
// @ts-ignore: decorator
@inline
function binaryRow(op: i32, out: usize, a: usize, sa: i32, b: usize, sb: i32, n: i32): void {
  let i = 0;
  if (<u32>sa <= 1 && <u32>sb <= 1) {
    let pa = laneSource(a, sa, 0), pb = laneSource(b, sb, 1);
    const da = <usize>sa << 4, db = <usize>sb << 4;
    const n4 = n & ~3;
    for (; i < n4; i += 4) {
      v128.store(out + (<usize>i << 2), binaryLanes(op, v128.load(pa), v128.load(pb)));
      pa += da;
      pb += db;
    }
  }
  for (; i < n; i++) {
    const x = v128.load32_splat(a + (<usize>(i * sa) << 2));
    const y = v128.load32_splat(b + (<usize>(i * sb) << 2));
    v128.store32_lane(out + (<usize>i << 2), binaryLanes(op, x, y), 0);
  }
}

/** out = op(a, b) broadcast over the meta block's shape and strides (operands 0 and 1). */
// @ts-ignore: decorator
@inline
function binaryWalk(op: i32, out: usize, a: usize, b: usize, rank: i32): void {
  const rows = rowCount(rank), n = rowLength(rank);
  const sa = innerStride(rank, 0), sb = innerStride(rank, 1);
  startWalk(rank, 2);
  for (let r = 0; r < rows; r++) {
    binaryRow(op, out + (<usize>r * <usize>n << 2), a + (offsetOf(0) << 2), sa, b + (offsetOf(1) << 2), sb, n);
    nextRow(rank, 2);
  }
}

export function binary_add(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(ADD, out, a, b, rank); }
export function binary_sub(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(SUB, out, a, b, rank); }
export function binary_mul(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(MUL, out, a, b, rank); }
export function binary_div(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(DIV, out, a, b, rank); }
export function binary_maximum(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(MAXIMUM, out, a, b, rank); }
export function binary_minimum(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(MINIMUM, out, a, b, rank); }
export function binary_eq(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(EQ, out, a, b, rank); }
export function binary_ne(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(NE, out, a, b, rank); }
export function binary_lt(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(LT, out, a, b, rank); }
export function binary_le(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(LE, out, a, b, rank); }
export function binary_gt(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(GT, out, a, b, rank); }
export function binary_ge(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(GE, out, a, b, rank); }
export function binary_reluGrad(out: usize, a: usize, b: usize, rank: i32): void { binaryWalk(RELU_GRAD, out, a, b, rank); }

// ---------------------------------------------------------------------------------------------
// select

// @ts-ignore: decorator
@inline
function selectLanes(c: v128, x: v128, y: v128): v128 {
  return quiet(v128.bitselect(x, y, f32x4.ne(c, f32x4.splat(0))));
}

/** out = cond != 0 ? a : b broadcast over the meta block's shape and strides (operands 0, 1, 2). */
export function select_where(out: usize, cond: usize, a: usize, b: usize, rank: i32): void {
  const rows = rowCount(rank), n = rowLength(rank);
  const sc = innerStride(rank, 0), sa = innerStride(rank, 1), sb = innerStride(rank, 2);
  startWalk(rank, 3);
  for (let r = 0; r < rows; r++) {
    const o = out + (<usize>r * <usize>n << 2);
    const c0 = cond + (offsetOf(0) << 2), a0 = a + (offsetOf(1) << 2), b0 = b + (offsetOf(2) << 2);
    let i = 0;
    if (<u32>sc <= 1 && <u32>sa <= 1 && <u32>sb <= 1) {
      let pc = laneSource(c0, sc, 0), pa = laneSource(a0, sa, 1), pb = laneSource(b0, sb, 2);
      const dc = <usize>sc << 4, da = <usize>sa << 4, db = <usize>sb << 4;
      const n4 = n & ~3;
      for (; i < n4; i += 4) {
        v128.store(o + (<usize>i << 2), selectLanes(v128.load(pc), v128.load(pa), v128.load(pb)));
        pc += dc;
        pa += da;
        pb += db;
      }
    }
    for (; i < n; i++) {
      const c = v128.load32_splat(c0 + (<usize>(i * sc) << 2));
      const x = v128.load32_splat(a0 + (<usize>(i * sa) << 2));
      const y = v128.load32_splat(b0 + (<usize>(i * sb) << 2));
      v128.store32_lane(o + (<usize>i << 2), selectLanes(c, x, y), 0);
    }
    nextRow(rank, 3);
  }
}

// ---------------------------------------------------------------------------------------------
// reductions: one stage [A, R, I] -> [A, I], R >= 1

/** Stores the two float64 lanes of v as dst[i], dst[i + 1] (float64 or float32). */
// @ts-ignore: decorator
@inline
function storeSums(dst: usize, i: i32, v: v128, dstF64: bool): void {
  if (dstF64) v128.store(dst + (<usize>i << 3), v);
  else v128.store64_lane(dst + (<usize>i << 2), f32x4.demote_f64x2_zero(v), 0);
}

// @ts-ignore: decorator
@inline
function storeSum(dst: usize, i: i32, s: f64, dstF64: bool): void {
  if (dstF64) store<f64>(dst + (<usize>i << 3), s);
  else store<f32>(dst + (<usize>i << 2), <f32>s);
}

/** The sum of R contiguous values at p (float32 or float64), in float64. */
// @ts-ignore: decorator
@inline
function blockSum(p: usize, R: i32, srcF64: bool): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
  const r8 = R & ~7;
  let j = 0;
  if (srcF64) {
    for (; j < r8; j += 8) {
      const q = p + (<usize>j << 3);
      s0 = f64x2.add(s0, v128.load(q));
      s1 = f64x2.add(s1, v128.load(q, 16));
      s2 = f64x2.add(s2, v128.load(q, 32));
      s3 = f64x2.add(s3, v128.load(q, 48));
    }
  } else {
    for (; j < r8; j += 8) {
      const q = p + (<usize>j << 2);
      const v0 = v128.load(q), v1 = v128.load(q, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
      s1 = f64x2.add(s1, promoteHigh(v0));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
      s3 = f64x2.add(s3, promoteHigh(v1));
    }
  }
  const s = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; j < R; j++) t += srcF64 ? load<f64>(p + (<usize>j << 3)) : <f64>load<f32>(p + (<usize>j << 2));
  return t;
}

/** Sums of [A, R, I] over R; src and dst hold float32 or float64 as the flags say. */
export function reduce_sum(src: usize, dst: usize, A: i32, R: i32, I: i32, srcF64: bool, dstF64: bool): void {
  if (srcF64) {
    if (dstF64) sumStage(src, dst, A, R, I, true, true);
    else sumStage(src, dst, A, R, I, true, false);
  } else if (dstF64) sumStage(src, dst, A, R, I, false, true);
  else sumStage(src, dst, A, R, I, false, false);
}

// @ts-ignore: decorator
@inline
function sumStage(src: usize, dst: usize, A: i32, R: i32, I: i32, srcF64: bool, dstF64: bool): void {
  const size: usize = srcF64 ? 8 : 4;
  if (I == 1) {
    for (let a = 0; a < A; a++) storeSum(dst, a, blockSum(src + <usize>a * <usize>R * size, R, srcF64), dstF64);
    return;
  }
  const rowBytes = <usize>I * size;
  for (let a = 0; a < A; a++) {
    const base = src + <usize>a * <usize>R * rowBytes;
    const o = a * I;
    let i = 0;
    // 16 columns (a cache line of float32) at a time: eight independent f64x2 sums, and no
    // column block re-reads a line (with rows a power of two apart they would evict each other)
    for (; i + 16 <= I; i += 16) {
      let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
      let p = base + <usize>i * size;
      for (let r = 0; r < R; r++) {
        if (srcF64) {
          s0 = f64x2.add(s0, v128.load(p));
          s1 = f64x2.add(s1, v128.load(p, 16));
          s2 = f64x2.add(s2, v128.load(p, 32));
          s3 = f64x2.add(s3, v128.load(p, 48));
          s4 = f64x2.add(s4, v128.load(p, 64));
          s5 = f64x2.add(s5, v128.load(p, 80));
          s6 = f64x2.add(s6, v128.load(p, 96));
          s7 = f64x2.add(s7, v128.load(p, 112));
        } else {
          const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
          s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
          s1 = f64x2.add(s1, promoteHigh(v0));
          s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
          s3 = f64x2.add(s3, promoteHigh(v1));
          s4 = f64x2.add(s4, f64x2.promote_low_f32x4(v2));
          s5 = f64x2.add(s5, promoteHigh(v2));
          s6 = f64x2.add(s6, f64x2.promote_low_f32x4(v3));
          s7 = f64x2.add(s7, promoteHigh(v3));
        }
        p += rowBytes;
      }
      storeSums(dst, o + i, s0, dstF64);
      storeSums(dst, o + i + 2, s1, dstF64);
      storeSums(dst, o + i + 4, s2, dstF64);
      storeSums(dst, o + i + 6, s3, dstF64);
      storeSums(dst, o + i + 8, s4, dstF64);
      storeSums(dst, o + i + 10, s5, dstF64);
      storeSums(dst, o + i + 12, s6, dstF64);
      storeSums(dst, o + i + 14, s7, dstF64);
    }
    for (; i + 4 <= I; i += 4) {
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
      let p = base + <usize>i * size;
      for (let r = 0; r < R; r++) {
        if (srcF64) {
          s0 = f64x2.add(s0, v128.load(p));
          s1 = f64x2.add(s1, v128.load(p, 16));
        } else {
          const v = v128.load(p);
          s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
          s1 = f64x2.add(s1, promoteHigh(v));
        }
        p += rowBytes;
      }
      storeSums(dst, o + i, s0, dstF64);
      storeSums(dst, o + i + 2, s1, dstF64);
    }
    for (; i < I; i++) {
      let s: f64 = 0;
      let p = base + <usize>i * size;
      for (let r = 0; r < R; r++) {
        s += srcF64 ? load<f64>(p) : <f64>load<f32>(p);
        p += rowBytes;
      }
      storeSum(dst, o + i, s, dstF64);
    }
  }
}

/**
 * m after seeing e, in order: e when e beats m (or is NaN) and m is not NaN yet; so the first
 * extreme and the first NaN win, as in the TypeScript loop.
 */
// @ts-ignore: decorator
@inline
function inOrder(isMax: bool, m: v128, e: v128): v128 {
  const beats = isMax ? f32x4.gt(e, m) : f32x4.lt(e, m);
  return v128.bitselect(e, m, v128.and(v128.or(beats, f32x4.ne(e, e)), f32x4.eq(m, m)));
}

/** Blocks shorter than this take the in-order lane loop instead of pmax and a rescan. */
const SHORT_BLOCK = 16;

/** max (or min) of R >= 1 contiguous float32 values at p, as one splatted lane. */
// @ts-ignore: decorator
@inline
function blockExtreme(isMax: bool, p: usize, R: i32): v128 {
  const init = f32x4.splat(isMax ? -Infinity : Infinity);
  if (R < SHORT_BLOCK) {
    let m = init;
    for (let j = 0; j < R; j++) m = inOrder(isMax, m, v128.load32_splat(p + (<usize>j << 2)));
    return m;
  }
  let m0 = init, m1 = init, nan = f32x4.splat(0);
  const r8 = R & ~7;
  let j = 0;
  for (; j < r8; j += 8) {
    const q = p + (<usize>j << 2);
    const v0 = v128.load(q), v1 = v128.load(q, 16);
    m0 = isMax ? f32x4.pmax(m0, v0) : f32x4.pmin(m0, v0);
    m1 = isMax ? f32x4.pmax(m1, v1) : f32x4.pmin(m1, v1);
    nan = v128.or(nan, v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)));
  }
  for (; j < R; j++) {
    const v = v128.load32_splat(p + (<usize>j << 2));
    m0 = isMax ? f32x4.pmax(m0, v) : f32x4.pmin(m0, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  let m = isMax ? f32x4.pmax(m0, m1) : f32x4.pmin(m0, m1);
  const m2 = i32x4.shuffle(m, m, 2, 3, 0, 1);
  m = isMax ? f32x4.pmax(m, m2) : f32x4.pmin(m, m2);
  const m3 = i32x4.shuffle(m, m, 1, 0, 3, 2);
  m = isMax ? f32x4.pmax(m, m3) : f32x4.pmin(m, m3);
  if (v128.any_true(nan)) {
    // the first NaN wins
    j = 0;
    while (load<f32>(p + (<usize>j << 2)) == load<f32>(p + (<usize>j << 2))) j++;
    return v128.load32_splat(p + (<usize>j << 2));
  }
  if (f32x4.extract_lane(m, 0) == 0) {
    // the first zero of either sign wins
    j = 0;
    while (load<f32>(p + (<usize>j << 2)) != 0) j++;
    return v128.load32_splat(p + (<usize>j << 2));
  }
  return m;
}

// @ts-ignore: decorator
@inline
function extremeStage(isMax: bool, src: usize, dst: usize, A: i32, R: i32, I: i32): void {
  const init = f32x4.splat(isMax ? -Infinity : Infinity);
  if (I == 1) {
    for (let a = 0; a < A; a++) {
      const m = blockExtreme(isMax, src + (<usize>a * <usize>R << 2), R);
      v128.store32_lane(dst + (<usize>a << 2), quiet(m), 0);
    }
    return;
  }
  const rowBytes = <usize>I << 2;
  for (let a = 0; a < A; a++) {
    const base = src + <usize>a * <usize>R * rowBytes;
    const o = dst + (<usize>a * <usize>I << 2);
    let i = 0;
    // 16 columns at a time, as in sumStage: four independent in-order chains
    for (; i + 16 <= I; i += 16) {
      let m0 = init, m1 = init, m2 = init, m3 = init;
      let p = base + (<usize>i << 2);
      for (let r = 0; r < R; r++) {
        m0 = inOrder(isMax, m0, v128.load(p));
        m1 = inOrder(isMax, m1, v128.load(p, 16));
        m2 = inOrder(isMax, m2, v128.load(p, 32));
        m3 = inOrder(isMax, m3, v128.load(p, 48));
        p += rowBytes;
      }
      const q = o + (<usize>i << 2);
      v128.store(q, quiet(m0));
      v128.store(q, quiet(m1), 16);
      v128.store(q, quiet(m2), 32);
      v128.store(q, quiet(m3), 48);
    }
    for (; i + 4 <= I; i += 4) {
      let m = init;
      let p = base + (<usize>i << 2);
      for (let r = 0; r < R; r++) {
        m = inOrder(isMax, m, v128.load(p));
        p += rowBytes;
      }
      v128.store(o + (<usize>i << 2), quiet(m));
    }
    for (; i < I; i++) {
      let m = init;
      let p = base + (<usize>i << 2);
      for (let r = 0; r < R; r++) {
        m = inOrder(isMax, m, v128.load32_splat(p));
        p += rowBytes;
      }
      v128.store32_lane(o + (<usize>i << 2), quiet(m), 0);
    }
  }
}

/** Maxima of [A, R, I] over R (float32 in and out). */
export function reduce_max(src: usize, dst: usize, A: i32, R: i32, I: i32): void { extremeStage(true, src, dst, A, R, I); }
/** Minima of [A, R, I] over R (float32 in and out). */
export function reduce_min(src: usize, dst: usize, A: i32, R: i32, I: i32): void { extremeStage(false, src, dst, A, R, I); }
