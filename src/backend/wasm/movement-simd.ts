/**
 * Float32 sliding-window and data-movement kernels (im2col, col2im, maxPoolIndices, strided, take,
 * scatterAdd) on the WebAssembly SIMD module of wasm/movement.ts, for the wasm backend. Each
 * driver gives the bits of its TypeScript kernel in ../cpu/window.ts or ../cpu/movement.ts (the
 * module's header says how: copies move words, sums keep the TypeScript order, maxima keep its
 * NaN and tie rule), and returns false, writing nothing, when it does not run a case: the caller
 * then runs that TypeScript kernel. It declines where WebAssembly SIMD is missing, where a call
 * would need more than MAX_WASM_BYTES of wasm memory (or the memory cannot grow), on arguments it
 * does not take (a stride or dilation below 1, a strided view past either end of x, arrays
 * shorter than the geometry, x and out of different kinds), and where the part of x a strided
 * read or a gather spans is more than SPARSE times its output (copying it in would cost more
 * than the TypeScript loop: a small slice of a large array, a few rows of a data set).
 *
 * Memory: this file owns the module's memory from its heap base and lays it out per call as
 * consecutive regions, each 16-byte aligned and followed by SLACK bytes (the pooling kernel's
 * vector loads may read a few bytes past an input): the inputs are copied in (TypedArray.set, at
 * memcpy speed), the kernel writes its output region, and that region is copied out. Only the
 * range of x a call reads goes in: strided copies [lo, hi) of its view, take the [min, max]
 * of its indices (found by the module after the indices are in). The memory grows on demand and
 * never shrinks, so steady state allocates nothing.
 */
import type { WindowInfo } from "../backend.js";
import { growMemory, instantiateSimd } from "../cpu/simd/instantiate.js";
import { MOVEMENT_WASM_BASE64 } from "./movement-wasm.generated.js";

interface MovementExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  im2col(x: number, cols: number, ...geometry: Geometry): void;
  col2im(cols: number, x: number, ...geometry: Geometry): void;
  maxPoolIndices(x: number, out: number, ...geometry: Window): void;
  strided(x: number, out: number, rank: number, shape: number, strides: number, offset: number, counter: number): void;
  indexRange(indices: number, count: number, result: number): void;
  take(x: number, lo: number, len: number, indices: number, count: number, out: number, fill: number): void;
  scatterAdd(x: number, indices: number, count: number, out: number, size: number, spill: number): void;
}

/** n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW */
export type Window = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
/** a Window and kFirst (layout "knl") */
type Geometry = [...Window, number];

type Words = Float32Array | Int32Array;

const SLACK = 32;
const SPARSE = 8;
/** the bits the TypeScript kernel stores for a read past the end: NaN in float32, 0 in int32 */
const NAN_BITS = 0x7fc00000;

let wasm: MovementExports | null | undefined; // undefined: not tried yet; null: unavailable
let heapF32 = new Float32Array(0);
let heapI32 = new Int32Array(0);

function load(): MovementExports | null {
  if (wasm === undefined) wasm = instantiateSimd<MovementExports>(MOVEMENT_WASM_BASE64);
  return wasm;
}

/** True when the WebAssembly SIMD movement kernels can run here. */
export function movementSimdAvailable(): boolean {
  return load() !== null;
}

/**
 * Byte addresses of consecutive regions of the given sizes in bytes, from `from` (default: the
 * heap base), each 16-byte aligned with SLACK bytes after it; the memory is grown to hold them
 * and the views refreshed. Null when they would pass MAX_WASM_BYTES or the memory cannot grow.
 */
function regions(ex: MovementExports, sizes: readonly number[], from = ex.heapBase()): number[] | null {
  const at: number[] = [];
  let end = Math.ceil(from / 16) * 16;
  for (const s of sizes) {
    at.push(end);
    end += Math.ceil((s + SLACK) / 16) * 16;
  }
  if (!growMemory(ex.memory, end)) return null;
  if (heapF32.buffer !== ex.memory.buffer) {
    heapF32 = new Float32Array(ex.memory.buffer);
    heapI32 = new Int32Array(ex.memory.buffer);
  }
  return at;
}

function put(src: Words, at: number): void {
  if (src instanceof Float32Array) heapF32.set(src, at / 4);
  else heapI32.set(src, at / 4);
}

function get(dst: Words, at: number, len: number): void {
  if (dst instanceof Float32Array) dst.set(heapF32.subarray(at / 4, at / 4 + len));
  else dst.set(heapI32.subarray(at / 4, at / 4 + len));
}

const sameKind = (a: Words, b: Words): boolean => a instanceof Float32Array === b instanceof Float32Array;

/** Coordinates a window reaches along one axis stay far inside int32. */
const fits = (out: number, k: number, stride: number, dilation: number, size: number, pad: number): boolean =>
  stride >= 1 && dilation >= 1 && out * stride + k * dilation + size + pad < 2 ** 30;

/**
 * The window geometry as the module takes it (non-negative integers), or null unless every
 * stride and dilation is >= 1 and the coordinates fit int32.
 */
export function windowArgs(g: WindowInfo): Window | null {
  const args: Window = [g.n, g.c, g.h, g.w, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW, g.outH, g.outW];
  if (!args.every((v) => Number.isInteger(v) && v >= 0)) return null;
  if (!fits(g.outH, g.kh, g.strideH, g.dilationH, g.h, g.padTop) || !fits(g.outW, g.kw, g.strideW, g.dilationW, g.w, g.padLeft)) return null;
  return args;
}

/**
 * Runs one sliding-window kernel over the geometry: copies `src` (its first srcLen words) in,
 * calls `kernel(srcAt, dstAt, ...geometry)`, copies dstLen words out into `dst`. False when it
 * does not run (see the header); nothing is written then.
 */
function windowKernel(
  g: WindowInfo, src: Words, srcLen: number, dst: Words, dstLen: number,
  kernel: (ex: MovementExports, srcAt: number, dstAt: number, args: Window) => void,
): boolean {
  const ex = load();
  const args = windowArgs(g);
  if (!ex || !args) return false;
  if (src.length < srcLen || dst.length < dstLen) return false;
  if (dstLen === 0) return true;
  const at = regions(ex, [srcLen * 4, dstLen * 4]);
  if (!at) return false;
  const [srcAt, dstAt] = at as [number, number];
  put(src.subarray(0, srcLen), srcAt);
  kernel(ex, srcAt, dstAt, args);
  get(dst, dstAt, dstLen);
  return true;
}

const inputLength = (g: WindowInfo): number => g.n * g.c * g.h * g.w;
const columnsLength = (g: WindowInfo): number => g.n * g.c * g.kh * g.kw * g.outH * g.outW;

/** im2colInto (../cpu/window.ts) for float32; false when it does not run (see the header). */
export function im2colSimd(x: Float32Array, g: WindowInfo, cols: Float32Array): boolean {
  return windowKernel(g, x, inputLength(g), cols, columnsLength(g), (ex, xAt, colsAt, args) => ex.im2col(xAt, colsAt, ...args, g.layout === "knl" ? 1 : 0));
}

/** col2imInto (../cpu/window.ts) for float32 (every element of x is written); false when it does not run. */
export function col2imSimd(cols: Float32Array, g: WindowInfo, x: Float32Array): boolean {
  return windowKernel(g, cols, columnsLength(g), x, inputLength(g), (ex, colsAt, xAt, args) => ex.col2im(colsAt, xAt, ...args, g.layout === "knl" ? 1 : 0));
}

/** maxPoolIndicesInto (../cpu/window.ts) for float32; false when it does not run. */
export function maxPoolIndicesSimd(x: Float32Array, g: WindowInfo, out: Int32Array): boolean {
  return windowKernel(g, x, inputLength(g), out, g.n * g.c * g.outH * g.outW, (ex, xAt, outAt, args) => ex.maxPoolIndices(xAt, outAt, ...args));
}

/**
 * The axes of a strided view with extent-1 axes dropped and each axis merged into the next
 * when it steps exactly over it (stride_d = stride_{d+1}·extent_{d+1}): the same elements in the
 * same order, in longer rows. Rank >= 1 (a scalar is one row of one).
 */
function collapse(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const e = shape[d]!, s = strides[d]!;
    if (e === 1) continue;
    const k = outShape.length - 1;
    if (k >= 0 && s === outStrides[k]! * outShape[k]!) {
      outShape[k]! *= e;
    } else {
      outShape.push(e);
      outStrides.push(s);
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: [1] };
  return { shape: outShape.reverse(), strides: outStrides.reverse() };
}

/**
 * stridedInto (../cpu/movement.ts) on 32-bit elements (float32 or int32, x and out of one kind):
 * out[i] = x[offset + Σ idx_k·strides_k] over outShape; false when it does not run.
 */
export function stridedSimd(
  x: Words, outShape: readonly number[], strides: readonly number[], offset: number, out: Words,
): boolean {
  const ex = load();
  if (!ex || !sameKind(x, out) || strides.length !== outShape.length) return false;
  let size = 1;
  for (const e of outShape) size *= e;
  if (size === 0) return true;
  if (out.length < size) return false;
  const v = collapse(outShape, strides);
  const rank = v.shape.length;
  // the range [lo, hi) of x the view reads
  let lo = offset, hi = offset + 1;
  for (let d = 0; d < rank; d++) {
    const span = (v.shape[d]! - 1) * v.strides[d]!;
    if (span < 0) lo += span;
    else hi += span;
  }
  if (!Number.isInteger(lo) || lo < 0 || hi > x.length || hi - lo > SPARSE * size + 4096) return false;
  const at = regions(ex, [rank * 12, (hi - lo) * 4, size * 4]);
  if (!at) return false;
  const [intsAt, xAt, outAt] = at as [number, number, number];
  const ints = intsAt / 4;
  heapI32.set(v.shape, ints);
  heapI32.set(v.strides, ints + rank);
  put(x.subarray(lo, hi), xAt);
  ex.strided(xAt, outAt, rank, intsAt, intsAt + rank * 4, offset - lo, intsAt + rank * 8);
  get(out, outAt, size);
  return true;
}

/** takeInto (../cpu/movement.ts) on 32-bit elements: out[i] = x[indices[i]]; false when it does not run. */
export function takeSimd(x: Words, indices: Int32Array, out: Words): boolean {
  const ex = load();
  if (!ex || !sameKind(x, out) || out.length < indices.length) return false;
  const count = indices.length;
  if (count === 0) return true;
  const first = regions(ex, [8, count * 4, count * 4]);
  if (!first) return false;
  const [rangeAt, indicesAt, outAt] = first as [number, number, number];
  heapI32.set(indices, indicesAt / 4);
  ex.indexRange(indicesAt, count, rangeAt);
  const lo = Math.max(0, heapI32[rangeAt / 4]!);
  const len = Math.max(0, Math.min(x.length, heapI32[rangeAt / 4 + 1]! + 1) - lo);
  if (len > SPARSE * count + 4096) return false;
  const second = regions(ex, [len * 4], outAt + count * 4 + SLACK);
  if (!second) return false;
  const [xAt] = second as [number];
  put(x.subarray(lo, lo + len), xAt);
  ex.take(xAt, lo, len, indicesAt, count, outAt, x instanceof Float32Array ? NAN_BITS : 0);
  get(out, outAt, count);
  return true;
}

/** scatterAddInto (../cpu/movement.ts) for float32: out = 0, out[indices[i]] += x[i]; false when it does not run. */
export function scatterAddSimd(x: Float32Array, indices: Int32Array, out: Float32Array): boolean {
  const ex = load();
  const count = indices.length, size = out.length;
  if (!ex || x.length < count) return false;
  if (size === 0) return true;
  const at = regions(ex, [4, count * 4, count * 4, size * 4]);
  if (!at) return false;
  const [spillAt, xAt, indicesAt, outAt] = at as [number, number, number, number];
  put(x.subarray(0, count), xAt);
  heapI32.set(indices, indicesAt / 4);
  ex.scatterAdd(xAt, indicesAt, count, outAt, size, spillAt);
  get(out, outAt, size);
  return true;
}
