/**
 * CPU sliding-window kernels over NCHW input: im2col, its adjoint col2im, and the argmax of each
 * max-pooling window. Convolution is im2col followed by a matrix product (src/ops/conv.ts).
 */
import type { WindowInfo } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

/** cols[n, (c*kh + i)*kw + j, oh*outW + ow] = x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 outside). */
export function im2colInto(x: TypedArray, g: WindowInfo, cols: TypedArray): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const L = outH * outW;
  const K = c * kh * kw;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xBase = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const row = (ch * kh + i) * kw + j;
          const cBase = (b * K + row) * L;
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * strideH - padTop + i * dilationH;
            const o = cBase + oh * outW;
            if (y < 0 || y >= h) {
              for (let ow = 0; ow < outW; ow++) cols[o + ow] = 0;
              continue;
            }
            const xr = xBase + y * w;
            let xc = j * dilationW - padLeft;
            for (let ow = 0; ow < outW; ow++, xc += strideW) cols[o + ow] = xc >= 0 && xc < w ? x[xr + xc]! : 0;
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
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const xBase = (b * c + ch) * h * w;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const row = (ch * kh + i) * kw + j;
          const cBase = (b * K + row) * L;
          for (let oh = 0; oh < outH; oh++) {
            const y = oh * strideH - padTop + i * dilationH;
            if (y < 0 || y >= h) continue;
            const o = cBase + oh * outW;
            const xr = xBase + y * w;
            let xc = j * dilationW - padLeft;
            for (let ow = 0; ow < outW; ow++, xc += strideW) if (xc >= 0 && xc < w) x[xr + xc]! += cols[o + ow]!;
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
