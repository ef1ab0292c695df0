/**
 * CPU sliding-window kernels over NCHW input: im2col, its adjoint col2im, and the argmax of each
 * max-pooling window. Convolution is im2col followed by a matrix product (src/ops/conv.ts).
 */
import type { WindowInfo } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

/** The ow in [lo, hi) with 0 <= x0 + ow*stride < w, clipped to [0, outW]. */
function inRange(x0: number, stride: number, w: number, outW: number): [number, number] {
  const lo = Math.min(outW, Math.max(0, Math.ceil(-x0 / stride)));
  const hi = Math.max(lo, Math.min(outW, Math.ceil((w - x0) / stride)));
  return [lo, hi];
}

/** cols[n, (c*kh + i)*kw + j, oh*outW + ow] = x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 outside). */
export function im2colInto(x: TypedArray, g: WindowInfo, cols: TypedArray): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const L = outH * outW;
  const K = c * kh * kw;
  const kFirst = g.layout === "knl";
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xBase = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const row = (ch * kh + i) * kw + j;
          const cBase = (kFirst ? row * n + b : b * K + row) * L;
          // the outputs ow in [lo, hi) read inside the row: 0 <= x0 + ow*strideW < w
          const x0 = j * dilationW - padLeft;
          const [lo, hi] = inRange(x0, strideW, w, outW);
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * strideH - padTop + i * dilationH;
            const o = cBase + oh * outW;
            if (y < 0 || y >= h) {
              for (let ow = 0; ow < outW; ow++) cols[o + ow] = 0;
              continue;
            }
            let ow = 0;
            for (; ow < lo; ow++) cols[o + ow] = 0;
            let xi = xBase + y * w + x0 + lo * strideW;
            for (; ow < hi; ow++, xi += strideW) cols[o + ow] = x[xi]!;
            for (; ow < outW; ow++) cols[o + ow] = 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2colInto: x[...] += cols[...] for every window position (out starts at 0). */
export function col2imInto(cols: TypedArray, g: WindowInfo, x: TypedArray): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const L = outH * outW;
  const K = c * kh * kw;
  const kFirst = g.layout === "knl";
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xBase = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const row = (ch * kh + i) * kw + j;
          const cBase = (kFirst ? row * n + b : b * K + row) * L;
          // the outputs ow in [lo, hi) read inside the row: 0 <= x0 + ow*strideW < w
          const x0 = j * dilationW - padLeft;
          const [lo, hi] = inRange(x0, strideW, w, outW);
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * strideH - padTop + i * dilationH;
            if (y < 0 || y >= h) continue;
            const o = cBase + oh * outW;
            let xi = xBase + y * w + x0 + lo * strideW;
            for (let ow = lo; ow < hi; ow++, xi += strideW) x[xi]! += cols[o + ow]!;
          }
        }
      }
    }
  }
}

/** Flat index into x of each window's maximum; padding never wins; a NaN does, as in PyTorch. */
export function maxPoolIndicesInto(x: TypedArray, g: WindowInfo, out: Int32Array): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++, o++) {
        let best = -1;
        let bv = -Infinity;
        const y0 = oh * strideH - padTop;
        const xc0 = ow * strideW - padLeft;
        if (y0 >= 0 && y0 + (kh - 1) * dilationH < h && xc0 >= 0 && xc0 + (kw - 1) * dilationW < w) {
          // the whole window is inside: no bounds checks; the first element seeds the maximum
          best = base + y0 * w + xc0;
          bv = x[best]!;
          for (let i = 0; i < kh; i++) {
            const r = base + (y0 + i * dilationH) * w + xc0;
            for (let j = 0; j < kw; j++) {
              const idx = r + j * dilationW;
              const v = x[idx]!;
              if (v > bv || (v !== v && bv === bv)) {
                best = idx;
                bv = v;
              }
            }
          }
          out[o] = best;
          continue;
        }
        for (let i = 0; i < kh; i++) {
          const y = oh * strideH - padTop + i * dilationH;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < kw; j++) {
            const xc = ow * strideW - padLeft + j * dilationW;
            if (xc < 0 || xc >= w) continue;
            const idx = base + y * w + xc;
            const v = x[idx]!;
            if (best < 0 || v > bv || (v !== v && bv === bv)) {
              best = idx;
              bv = v;
            }
          }
        }
        out[o] = best;
      }
    }
  }
}
