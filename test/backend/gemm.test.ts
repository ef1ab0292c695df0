import { describe, expect, it } from "vitest";
import type { WindowInfo } from "../../src/backend/backend.js";
import { gemm } from "../../src/backend/cpu/gemm.js";
import { col2imInto, im2colInto, maxPoolIndicesInto } from "../../src/backend/cpu/window.js";
import { naive, rng } from "./helpers.js";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function randomArray(C: Ctor, size: number, r: () => number): Float32Array | Float64Array {
  const x = new C(size);
  for (let i = 0; i < size; i++) x[i] = r() * 2 - 1;
  return x;
}


function check(C: Ctor, m: number, k: number, n: number, transA: boolean, transB: boolean, r: () => number, batch = 1): void {
  // operands sit at non-zero offsets inside larger arrays, as batched matmul passes them
  const pad = 3;
  const a = randomArray(C, pad + batch * m * k + pad, r);
  const b = randomArray(C, pad + batch * k * n + pad, r);
  const c = new C(pad + batch * m * n + pad).fill(7);
  for (let t = 0; t < batch; t++) gemm(a, pad + t * m * k, b, pad + t * k * n, c, pad + t * m * n, { m, k, n, transA, transB });
  const tol = C === Float32Array ? 1e-5 * Math.max(1, Math.sqrt(k)) : 1e-12 * Math.max(1, k);
  for (let t = 0; t < batch; t++) {
    const { ref } = naive(a, pad + t * m * k, b, pad + t * k * n, m, k, n, transA, transB);
    for (let i = 0; i < m * n; i++) {
      const got = c[pad + t * m * n + i]!;
      if (!(Math.abs(got - ref[i]!) <= tol)) {
        throw new Error(`${C.name} m=${m} k=${k} n=${n} tA=${transA} tB=${transB} batch ${t} index ${i}: ${got} vs ${ref[i]}`);
      }
    }
  }
  // nothing outside the output ranges is written
  for (let i = 0; i < pad; i++) {
    expect(c[i]).toBe(7);
    expect(c[pad + batch * m * n + i]).toBe(7);
  }
}

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const DTYPES: Ctor[] = [Float32Array, Float64Array];

describe("cpu gemm", () => {
  it("matches a naive product on random shapes 0..70, all transposes, float32 and float64", () => {
    const r = rng(1);
    for (const C of DTYPES) {
      for (const [tA, tB] of TRANS) {
        for (let t = 0; t < 25; t++) {
          const m = Math.floor(r() * 71), k = Math.floor(r() * 71), n = Math.floor(r() * 71);
          check(C, m, k, n, tA, tB, r);
        }
      }
    }
  });

  it("handles empty and unit dimensions", () => {
    const r = rng(2);
    const dims = [0, 1, 2, 3, 4, 5];
    for (const C of DTYPES) {
      for (const [tA, tB] of TRANS) {
        for (const m of dims) for (const k of dims) for (const n of dims) check(C, m, k, n, tA, tB, r);
      }
    }
  });

  it("zeroes C when k is 0", () => {
    const c = new Float32Array(6).fill(5);
    gemm(new Float32Array(0), 0, new Float32Array(0), 0, c, 0, { m: 2, k: 0, n: 3, transA: false, transB: false });
    expect([...c]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("is exact across block boundaries (63, 64, 65, 127, 128, 129, 257)", () => {
    const r = rng(3);
    const sizes = [1, 63, 64, 65, 127, 128, 129, 257];
    const shapes: [number, number, number][] = [
      [65, 257, 63], [129, 64, 127], [64, 129, 65], [1, 257, 129], [128, 1, 65], [63, 128, 1], [257, 65, 64],
    ];
    for (const s of sizes) shapes.push([s, Math.max(1, 130 - s), 7]);
    for (const C of DTYPES) {
      for (const [tA, tB] of TRANS) for (const [m, k, n] of shapes) check(C, m, k, n, tA, tB, r);
    }
  });

  it("covers panel widths past NC and depths past KC", () => {
    const r = rng(4);
    check(Float64Array, 5, 600, 1030, false, false, r);
    check(Float32Array, 9, 520, 1100, true, true, r);
  });

  it("handles batched offsets and the W2 CNN shapes", () => {
    const r = rng(5);
    // conv1 forward / backward, conv2 forward / backward, dense (batch of 3 images each)
    const cases: [number, number, number, boolean, boolean][] = [
      [16, 9, 784, false, false], [16, 784, 9, false, true], [9, 16, 784, true, false],
      [32, 144, 196, false, false], [32, 196, 144, false, true], [144, 32, 196, true, false],
      [64, 1568, 10, false, true],
    ];
    for (const C of DTYPES) for (const [m, k, n, tA, tB] of cases) check(C, m, k, n, tA, tB, r, 3);
  });

  it("propagates NaN and Infinity like the naive product", () => {
    const a = new Float64Array([1, NaN, 2, 3, Infinity, 0]);
    const b = new Float64Array([1, 0, 2, 1, 0, 0]);
    const c = new Float64Array(4);
    gemm(a, 0, b, 0, c, 0, { m: 2, k: 3, n: 2, transA: false, transB: false });
    const { ref } = naive(a, 0, b, 0, 2, 3, 2, false, false);
    expect([...c]).toEqual([...ref]);
  });
});

function windowInfo(
  n: number, c: number, h: number, w: number, kh: number, kw: number,
  stride: [number, number], pad: [number, number], dil: [number, number],
): WindowInfo {
  const outH = Math.floor((h + 2 * pad[0] - dil[0] * (kh - 1) - 1) / stride[0]) + 1;
  const outW = Math.floor((w + 2 * pad[1] - dil[1] * (kw - 1) - 1) / stride[1]) + 1;
  return {
    n, c, h, w, kh, kw, strideH: stride[0], strideW: stride[1], padTop: pad[0], padLeft: pad[1],
    dilationH: dil[0], dilationW: dil[1], outH, outW,
  };
}

const GEOMS: WindowInfo[] = [
  windowInfo(2, 1, 28, 28, 3, 3, [1, 1], [1, 1], [1, 1]),
  windowInfo(2, 3, 14, 14, 3, 3, [1, 1], [1, 1], [1, 1]),
  windowInfo(1, 2, 7, 9, 2, 3, [2, 1], [0, 1], [1, 1]),
  windowInfo(2, 2, 8, 8, 3, 2, [2, 3], [2, 1], [2, 1]),
  windowInfo(1, 1, 5, 5, 5, 5, [1, 1], [0, 0], [1, 1]),
  windowInfo(1, 2, 6, 7, 1, 1, [1, 1], [0, 0], [1, 1]),
  windowInfo(1, 1, 9, 9, 3, 3, [3, 3], [2, 2], [1, 1]),
];

/** Naive im2col, straight from the definition. */
function naiveIm2col(x: Float64Array, g: WindowInfo): Float64Array {
  const L = g.outH * g.outW, K = g.c * g.kh * g.kw;
  const out = new Float64Array(g.n * K * L);
  for (let b = 0; b < g.n; b++) for (let ch = 0; ch < g.c; ch++) for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
    for (let oh = 0; oh < g.outH; oh++) for (let ow = 0; ow < g.outW; ow++) {
      const y = oh * g.strideH - g.padTop + i * g.dilationH;
      const xc = ow * g.strideW - g.padLeft + j * g.dilationW;
      const v = y >= 0 && y < g.h && xc >= 0 && xc < g.w ? x[((b * g.c + ch) * g.h + y) * g.w + xc]! : 0;
      out[(b * K + (ch * g.kh + i) * g.kw + j) * L + oh * g.outW + ow] = v;
    }
  }
  return out;
}

describe("cpu window kernels", () => {
  it("im2col matches the definition", () => {
    const r = rng(6);
    for (const g of GEOMS) {
      const x = randomArray(Float64Array, g.n * g.c * g.h * g.w, r) as Float64Array;
      const cols = new Float64Array(g.n * g.c * g.kh * g.kw * g.outH * g.outW).fill(9);
      im2colInto(x, g, cols);
      expect([...cols]).toEqual([...naiveIm2col(x, g)]);
    }
  });

  it("col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>", () => {
    const r = rng(7);
    for (const g of GEOMS) {
      const x = randomArray(Float64Array, g.n * g.c * g.h * g.w, r);
      const cs = randomArray(Float64Array, g.n * g.c * g.kh * g.kw * g.outH * g.outW, r);
      const cols = new Float64Array(cs.length);
      im2colInto(x, g, cols);
      const back = new Float64Array(x.length);
      col2imInto(cs, g, back);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < cs.length; i++) lhs += cols[i]! * cs[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * back[i]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-9 * Math.max(1, Math.abs(lhs)));
    }
  });

  it("maxPoolIndices matches a naive argmax (padding never wins, NaN wins, first max on ties)", () => {
    const r = rng(8);
    const pools: WindowInfo[] = [
      windowInfo(2, 3, 28, 28, 2, 2, [2, 2], [0, 0], [1, 1]),
      windowInfo(1, 2, 7, 7, 2, 2, [2, 2], [0, 0], [1, 1]),
      windowInfo(1, 2, 7, 8, 3, 3, [2, 2], [1, 1], [1, 1]),
      windowInfo(2, 1, 9, 9, 3, 2, [1, 2], [1, 0], [2, 1]),
    ];
    for (const g of pools) {
      const x = randomArray(Float32Array, g.n * g.c * g.h * g.w, r);
      // ties, negatives and a NaN
      for (let i = 0; i < x.length; i += 5) x[i] = Math.round(x[i]! * 2) / 2 - 2;
      x[3] = NaN;
      const got = new Int32Array(g.n * g.c * g.outH * g.outW);
      maxPoolIndicesInto(x, g, got);
      let o = 0;
      for (let plane = 0; plane < g.n * g.c; plane++) {
        for (let oh = 0; oh < g.outH; oh++) for (let ow = 0; ow < g.outW; ow++, o++) {
          let best = -1, bv = -Infinity;
          for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
            const y = oh * g.strideH - g.padTop + i * g.dilationH;
            const xc = ow * g.strideW - g.padLeft + j * g.dilationW;
            if (y < 0 || y >= g.h || xc < 0 || xc >= g.w) continue;
            const idx = plane * g.h * g.w + y * g.w + xc;
            const v = x[idx]!;
            if (best < 0 || v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) {
              best = idx;
              bv = v;
            }
          }
          expect(got[o]).toBe(best);
        }
      }
    }
  });
});
