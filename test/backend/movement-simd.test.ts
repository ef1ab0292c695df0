/**
 * The WebAssembly SIMD movement kernels give the TypeScript kernels' bits (compared as Uint32
 * words, so -0 and NaN payloads count) on seeded random window geometries (both layouts, edge
 * windows, windows wholly in the padding), values with ties, signed zeros and NaNs, strided views
 * of rank 0 to 5 with negative and zero strides on float32 and int32, and gathers and
 * scatter-adds with repeated and out-of-range indices. Declined cases write nothing, and with no
 * usable module every driver declines.
 */
import { describe, expect, it, vi } from "vitest";
import type { WindowInfo } from "../../src/backend/backend.js";
import { scatterAddInto, stridedInto, takeInto } from "../../src/backend/cpu/movement.js";
import { col2imInto, im2colInto, maxPoolIndicesInto } from "../../src/backend/cpu/window.js";
import {
  col2imSimd, im2colSimd, maxPoolIndicesSimd, movementSimdAvailable, scatterAddSimd, stridedSimd, takeSimd,
} from "../../src/backend/wasm/movement-simd.js";
import { Generator } from "../../src/tensor/random.js";

const bits = (a: Float32Array | Int32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const int = (g: Generator, lo: number, hi: number): number => lo + Math.floor(g.uniform() * (hi - lo + 1));

/** NaNs with several payloads (quiet and signalling, both signs), and ±0. */
const SPECIAL = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7fc12345, 0xffa00001, 0x7f800001, 0x80000000, 0]).buffer);

/** Values on a coarse grid (so maxima tie often), with a share of `special` ones. */
function values(g: Generator, n: number, specialShare: number, grid = 4): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = g.uniform() < specialShare ? SPECIAL[int(g, 0, SPECIAL.length - 1)]! : Math.round((g.uniform() * 2 - 1) * grid) / grid * 3;
  }
  return out;
}

/** A random geometry within the ranges; outH and outW >= 1 (padding may exceed the kernel). */
function geometry(g: Generator, layout: "nkl" | "knl"): WindowInfo {
  for (;;) {
    const kh = int(g, 1, 5), kw = int(g, 1, 5), strideH = int(g, 1, 3), strideW = int(g, 1, 3);
    const dilationH = int(g, 1, 2), dilationW = int(g, 1, 2);
    const padTop = int(g, 0, 2), padLeft = int(g, 0, 2), padBottom = int(g, 0, 2), padRight = int(g, 0, 2);
    const h = int(g, 1, 13), w = int(g, 1, 17);
    const outH = Math.floor((h + padTop + padBottom - dilationH * (kh - 1) - 1) / strideH) + 1;
    const outW = Math.floor((w + padLeft + padRight - dilationW * (kw - 1) - 1) / strideW) + 1;
    if (outH < 1 || outW < 1) continue;
    return { n: int(g, 1, 3), c: int(g, 1, 4), h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW, layout };
  }
}

const colsSize = (g: WindowInfo): number => g.n * g.c * g.kh * g.kw * g.outH * g.outW;
const inputSize = (g: WindowInfo): number => g.n * g.c * g.h * g.w;

describe("wasm SIMD movement kernels", () => {
  it("the module validates here (Node has WebAssembly SIMD)", () => {
    expect(movementSimdAvailable()).toBe(true);
  });

  it("im2col and col2im: the TypeScript kernels' bits on 160 random geometries, both layouts", () => {
    const g = new Generator(11);
    for (let t = 0; t < 160; t++) {
      const info = geometry(g, t % 2 === 0 ? "nkl" : "knl");
      const x = values(g, inputSize(info), 0.1);
      const want = new Float32Array(colsSize(info)), got = new Float32Array(colsSize(info)).fill(7);
      im2colInto(x, info, want);
      expect(im2colSimd(x, info, got)).toBe(true);
      expect(bits(got), JSON.stringify(info)).toEqual(bits(want));

      // col2im sums overlapping windows: values of many magnitudes make the order show
      const cols = Float32Array.from({ length: colsSize(info) }, () => (g.uniform() - 0.5) * 10 ** int(g, -3, 3));
      for (let i = 0; i < cols.length; i += 97) cols[i] = SPECIAL[i % SPECIAL.length]!;
      const back = new Float32Array(inputSize(info)), backSimd = new Float32Array(inputSize(info));
      col2imInto(cols, info, back);
      expect(col2imSimd(cols, info, backSimd)).toBe(true);
      expect(bits(backSimd), JSON.stringify(info)).toEqual(bits(back));
    }
  });

  it("im2col and col2im on dense geometries (strides 1, outW = w: one run per block), both layouts", () => {
    const g = new Generator(19);
    // [n, c, h, w, kh, kw, padTop, padLeft, outH, dilation]
    const cases: [number, number, number, number, number, number, number, number, number, number][] = [
      [2, 3, 9, 9, 3, 3, 1, 1, 9, 1], // "same" 3x3, as in the CNN
      [1, 2, 7, 10, 5, 5, 2, 2, 7, 1],
      [2, 1, 8, 6, 3, 3, 2, 2, 8, 2], // dilated
      [1, 2, 6, 5, 1, 1, 0, 0, 6, 1],
      [1, 2, 6, 7, 3, 3, 0, 2, 6, 1], // asymmetric padding: all of it on the left and at the bottom
      [1, 1, 4, 6, 1, 3, 2, 1, 6, 1], // padding rows wholly outside the input
      [3, 2, 1, 12, 3, 3, 1, 1, 1, 1], // a single row
      [1, 1, 3, 3, 3, 3, 2, 1, 1, 1], // fewer output rows than input rows
    ];
    for (const [n, c, h, w, kh, kw, padTop, padLeft, outH, d] of cases) {
      for (const layout of ["nkl", "knl"] as const) {
        const info: WindowInfo = { n, c, h, w, kh, kw, strideH: 1, strideW: 1, padTop, padLeft, dilationH: d, dilationW: d, outH, outW: w, layout };
        const x = values(g, inputSize(info), 0.1);
        const want = new Float32Array(colsSize(info)), got = new Float32Array(colsSize(info)).fill(7);
        im2colInto(x, info, want);
        expect(im2colSimd(x, info, got)).toBe(true);
        expect(bits(got), JSON.stringify(info)).toEqual(bits(want));
        const cols = values(g, colsSize(info), 0.2, 1000);
        const back = new Float32Array(inputSize(info)), backSimd = new Float32Array(inputSize(info));
        col2imInto(cols, info, back);
        expect(col2imSimd(cols, info, backSimd)).toBe(true);
        expect(bits(backSimd), JSON.stringify(info)).toEqual(bits(back));
      }
    }
  });

  it("col2im and scatterAdd: where NaNs of different payloads meet, the TypeScript kernels' payload wins", () => {
    const g = new Generator(18);
    for (const strideW of [1, 2]) {
      const info: WindowInfo = { n: 2, c: 3, h: 9, w: 11, kh: 3, kw: 3, strideH: 1, strideW, padTop: 1, padLeft: 1, dilationH: 1, dilationW: 1, outH: 9, outW: strideW === 1 ? 11 : 6, layout: "knl" };
      const cols = values(g, colsSize(info), 0.4, 1000);
      const want = new Float32Array(inputSize(info)), got = new Float32Array(inputSize(info));
      col2imInto(cols, info, want);
      expect(col2imSimd(cols, info, got)).toBe(true);
      expect(bits(got)).toEqual(bits(want));
    }
    const x = values(g, 3000, 0.4, 1000);
    const indices = Int32Array.from({ length: 3000 }, () => int(g, 0, 99));
    const want = new Float32Array(100), got = new Float32Array(100);
    scatterAddInto(x, indices, want);
    expect(scatterAddSimd(x, indices, got)).toBe(true);
    expect(bits(got)).toEqual(bits(want));
  });

  it("maxPoolIndices: the same index on 200 random geometries with ties, ±0 and NaNs", () => {
    const g = new Generator(12);
    for (let t = 0; t < 200; t++) {
      const info = geometry(g, "nkl");
      const x = values(g, inputSize(info), t % 3 === 0 ? 0 : 0.15, t % 2 === 0 ? 1 : 64);
      const size = info.n * info.c * info.outH * info.outW;
      const want = new Int32Array(size), got = new Int32Array(size).fill(-7);
      maxPoolIndicesInto(x, info, want);
      expect(maxPoolIndicesSimd(x, info, got)).toBe(true);
      expect(Array.from(got), JSON.stringify(info)).toEqual(Array.from(want));
    }
  });

  it("maxPoolIndices on long rows: the CNN's 2x2 stride 2, and strides 1 and 3, with NaNs", () => {
    const g = new Generator(13);
    // [n, c, h, w, k, stride, pad, dilation]
    const cases = [[2, 3, 28, 28, 2, 2, 0, 1], [1, 2, 14, 14, 2, 2, 0, 1], [1, 1, 6, 70, 2, 2, 0, 1], [1, 1, 3, 9, 2, 2, 0, 1],
      [1, 2, 9, 20, 3, 1, 1, 1], [1, 1, 10, 40, 3, 3, 1, 2], [2, 1, 5, 33, 2, 3, 0, 1]] as const;
    for (const [n, c, h, w, k, s, p, d] of cases) {
      const out = (size: number): number => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
      const info: WindowInfo = {
        n, c, h, w, kh: k, kw: k, strideH: s, strideW: s, padTop: p, padLeft: p, dilationH: d, dilationW: d, outH: out(h), outW: out(w),
      };
      const x = values(g, inputSize(info), 0.05, 16);
      const want = new Int32Array(n * c * info.outH * info.outW), got = new Int32Array(want.length);
      maxPoolIndicesInto(x, info, want);
      expect(maxPoolIndicesSimd(x, info, got)).toBe(true);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it("a window wholly in the padding gets index -1, as in the TypeScript kernel", () => {
    const info: WindowInfo = { n: 1, c: 1, h: 2, w: 2, kh: 1, kw: 1, strideH: 1, strideW: 1, padTop: 2, padLeft: 2, dilationH: 1, dilationW: 1, outH: 6, outW: 6 };
    const x = Float32Array.of(1, 2, 3, 4);
    const want = new Int32Array(36), got = new Int32Array(36);
    maxPoolIndicesInto(x, info, want);
    expect(maxPoolIndicesSimd(x, info, got)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(got[0]).toBe(-1);
    expect(got[2 * 6 + 2]).toBe(0);
  });

  it("empty batches write nothing and succeed", () => {
    const info: WindowInfo = { n: 0, c: 2, h: 4, w: 4, kh: 3, kw: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, dilationH: 1, dilationW: 1, outH: 4, outW: 4 };
    expect(im2colSimd(new Float32Array(0), info, new Float32Array(0))).toBe(true);
    expect(col2imSimd(new Float32Array(0), info, new Float32Array(0))).toBe(true);
    expect(maxPoolIndicesSimd(new Float32Array(0), info, new Int32Array(0))).toBe(true);
  });

  /** A random strided view: extents 0-4 (rarely 0), strides in [-4, 4], an offset that keeps every read in x. */
  function view(g: Generator, rank: number): { shape: number[]; strides: number[]; offset: number; xLen: number } {
    const shape = Array.from({ length: rank }, () => (g.uniform() < 0.03 ? 0 : int(g, 1, 4)));
    const strides = Array.from({ length: rank }, () => int(g, -4, 4));
    let lo = 0, hi = 1;
    shape.forEach((e, d) => {
      const span = Math.max(e - 1, 0) * strides[d]!;
      if (span < 0) lo += span;
      else hi += span;
    });
    const pad = int(g, 0, 3);
    return { shape, strides, offset: pad - lo, xLen: pad + hi - lo + int(g, 0, 3) };
  }

  it("strided: the same words on 400 random views of rank 0 to 5 (negative and zero strides), float32 and int32", () => {
    const g = new Generator(14);
    for (let t = 0; t < 400; t++) {
      const { shape, strides, offset, xLen } = view(g, t % 6);
      const size = shape.reduce((a, b) => a * b, 1);
      const f = values(g, xLen, 0.2, 1000);
      const i32 = Int32Array.from({ length: xLen }, () => (g.nextUint32() | 0));
      for (const x of [f, i32]) {
        const want = x instanceof Float32Array ? new Float32Array(size) : new Int32Array(size);
        const got = x instanceof Float32Array ? new Float32Array(size) : new Int32Array(size);
        stridedInto(x, shape, strides, offset, want);
        expect(stridedSimd(x, shape, strides, offset, got)).toBe(true);
        expect(bits(got), JSON.stringify({ shape, strides, offset })).toEqual(bits(want));
      }
    }
  });

  it("strided: permutes, slices and expands with short and long rows", () => {
    const g = new Generator(15);
    const cases: [number[], number[], number, number][] = [
      [[16, 8, 196], [196, 3136, 1], 0, 16 * 8 * 196], // the CNN's [C, N, L] -> [N, C, L] permute, smaller
      [[8, 16, 130], [130, 1040, 1], 0, 8 * 16 * 130],
      [[3, 5, 7], [1, 3, 15], 0, 105], // a full reversal of axes: every stride > 1
      [[4, 6], [20, 1], 3, 83], // a slice with an offset
      [[5, 9], [0, 1], 2, 11], // expand along the first axis
      [[7, 300], [-300, 1], 1800, 2100], // rows in reverse order, each a bulk copy
      [[2, 3, 4, 5, 6], [360, 120, 30, 6, 1], 0, 720], // contiguous: collapses into one row
      [[1, 1, 1], [5, 7, 9], 4, 5], // one element
      [[6, 5], [-1, -6], 35, 36], // both strides negative
    ];
    for (const [shape, strides, offset, xLen] of cases) {
      const x = values(g, xLen, 0.1, 1000);
      const size = shape.reduce((a, b) => a * b, 1);
      const want = new Float32Array(size), got = new Float32Array(size);
      stridedInto(x, shape, strides, offset, want);
      expect(stridedSimd(x, shape, strides, offset, got)).toBe(true);
      expect(bits(got), JSON.stringify({ shape, strides })).toEqual(bits(want));
    }
  });

  it("strided declines a sparse read of a large array and a view past the end of x, writing nothing", () => {
    const big = new Float32Array(1 << 16);
    const out = new Float32Array(4).fill(3);
    expect(stridedSimd(big, [4], [16000], 0, out)).toBe(false);
    expect(stridedSimd(new Float32Array(5), [4], [2], 0, out)).toBe(false);
    expect(stridedSimd(new Float32Array(8), [4], [1], 0, new Int32Array(4))).toBe(false);
    expect(Array.from(out)).toEqual([3, 3, 3, 3]);
  });

  it("take: the same words with repeated and out-of-range indices, float32 and int32", () => {
    const g = new Generator(16);
    for (const [len, count] of [[1, 1], [10, 3], [100, 1000], [5000, 777], [7, 64]] as const) {
      const indices = Int32Array.from({ length: count }, () => (g.uniform() < 0.05 ? int(g, -3, len + 3) : int(g, 0, len - 1)));
      const f = values(g, len, 0.2, 1000);
      const i32 = Int32Array.from({ length: len }, () => (g.nextUint32() | 0));
      for (const x of [f, i32]) {
        const want = x instanceof Float32Array ? new Float32Array(count) : new Int32Array(count);
        const got = x instanceof Float32Array ? new Float32Array(count) : new Int32Array(count);
        takeInto(x, indices, want);
        expect(takeSimd(x, indices, got)).toBe(true);
        expect(bits(got)).toEqual(bits(want));
      }
    }
    expect(takeSimd(new Float32Array(3), new Int32Array(0), new Float32Array(0))).toBe(true);
  });

  it("take gathers only the indexed range, and declines a few rows of a large array", () => {
    const x = Float32Array.from({ length: 1 << 16 }, (_, i) => i);
    const got = new Float32Array(3);
    expect(takeSimd(x, Int32Array.of(40000, 40002, 40001), got)).toBe(true);
    expect(Array.from(got)).toEqual([40000, 40002, 40001]);
    const out = new Float32Array(2).fill(9);
    expect(takeSimd(x, Int32Array.of(0, 60000), out)).toBe(false);
    expect(Array.from(out)).toEqual([9, 9]);
  });

  it("scatterAdd: the same sums, in index order, with repeats and out-of-range indices", () => {
    const g = new Generator(17);
    for (const [size, count] of [[1, 5], [10, 200], [1000, 300], [64, 4096]] as const) {
      const x = Float32Array.from({ length: count }, () => (g.uniform() - 0.5) * 10 ** int(g, -4, 4));
      x[0] = -0;
      const indices = Int32Array.from({ length: count }, () => (g.uniform() < 0.05 ? int(g, -2, size + 2) : int(g, 0, size - 1)));
      const want = new Float32Array(size), got = new Float32Array(size).fill(5);
      scatterAddInto(x, indices, want);
      expect(scatterAddSimd(x, indices, got)).toBe(true);
      expect(bits(got)).toEqual(bits(want));
    }
  });

  it("declines a zero stride and coordinates past int32, writing nothing", () => {
    const ok: WindowInfo = { n: 1, c: 1, h: 3, w: 3, kh: 1, kw: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, dilationH: 1, dilationW: 1, outH: 3, outW: 3 };
    for (const info of [{ ...ok, strideH: 0 }, { ...ok, strideW: 2 ** 30 }, { ...ok, dilationH: 1.5 }]) {
      const cols = new Float32Array(9).fill(2), idx = new Int32Array(9).fill(2);
      expect(im2colSimd(new Float32Array(9), info, cols)).toBe(false);
      expect(col2imSimd(new Float32Array(9), info, cols)).toBe(false);
      expect(maxPoolIndicesSimd(new Float32Array(9), info, idx)).toBe(false);
      expect(Array.from(cols)).toEqual(new Array(9).fill(2));
      expect(Array.from(idx)).toEqual(new Array(9).fill(2));
    }
  });

  it("with no usable module (no WebAssembly SIMD) every driver declines and writes nothing", async () => {
    vi.resetModules();
    vi.doMock("../../src/backend/wasm/movement-wasm.generated.js", () => ({ MOVEMENT_WASM_BASE64: "" }));
    try {
      const m = await import("../../src/backend/wasm/movement-simd.js");
      const info: WindowInfo = { n: 1, c: 1, h: 2, w: 2, kh: 2, kw: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, dilationH: 1, dilationW: 1, outH: 1, outW: 1 };
      const x = Float32Array.of(1, 2, 3, 4);
      const out = new Float32Array(4).fill(8), idx = new Int32Array(1).fill(8);
      expect(m.movementSimdAvailable()).toBe(false);
      expect(m.im2colSimd(x, info, out)).toBe(false);
      expect(m.col2imSimd(x, info, out)).toBe(false);
      expect(m.maxPoolIndicesSimd(x, info, idx)).toBe(false);
      expect(m.stridedSimd(x, [4], [1], 0, out)).toBe(false);
      expect(m.takeSimd(x, Int32Array.of(0, 1), out)).toBe(false);
      expect(m.scatterAddSimd(x, Int32Array.of(0, 1, 2, 3), out)).toBe(false);
      expect(Array.from(out)).toEqual([8, 8, 8, 8]);
      expect(Array.from(idx)).toEqual([8]);
    } finally {
      vi.doUnmock("../../src/backend/wasm/movement-wasm.generated.js");
      vi.resetModules();
    }
  });
});
