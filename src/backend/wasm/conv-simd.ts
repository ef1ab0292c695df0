/**
 * 2-D convolution (groups 1, float32) whose columns never leave the matrix product's memory: the
 * input and the weight are copied into a GEMM engine's WebAssembly memory (../cpu/simd/gemm-simd.ts,
 * single-thread or the worker pool), where the same module's im2col (wasm/movement.ts, compiled
 * into wasm/gemm.ts) lays out the columns, the product runs on them, and only the result is
 * copied out. The composed path of src/ops/conv.ts (im2col, then matmul, then a permute, each
 * with its own copies in and out and its own output array) moves the 7 MB column matrix of
 * W2's second convolution five times a step; this moves the image and the result.
 *
 * Bits: each step is the composed path's own kernel on the same operands. The columns are a copy
 * (im2col); the products have the composed path's shapes and operand order (forward W [out, K] ·
 * cols [K, N·L], run as one product per batch item; backward, over columns laid out [K, N, L],
 * dW = dy [out, N·L] · colsᵀ and dcols = Wᵀ · dy, as the matmul rule forms them), and the kernel
 * sums each element in one fixed order whatever the thread count; col2im adds in the TypeScript
 * order. So a fused convolution equals the composed one bit for bit, on any number of threads
 * (test/backend/conv-fused.test.ts).
 *
 * Memory: the engine's, from its first free byte, laid out per call as consecutive 16-byte
 * aligned regions, grown on demand and never shrunk. Each function returns false, writing
 * nothing, where it does not run a case (a geometry the module does not take, an empty product,
 * more than MAX_WASM_BYTES of memory, memory that cannot grow): the caller runs the composed path.
 */
import type { WindowInfo } from "../backend.js";
import type { GemmEngine } from "../cpu/simd/gemm-simd.js";
import { growMemory } from "../cpu/simd/instantiate.js";
import { windowArgs } from "./movement-simd.js";

/** Byte addresses of regions of the given byte sizes after the engine's scratch, the memory grown to hold them. */
function regions(engine: GemmEngine, sizes: readonly number[]): number[] | null {
  const at: number[] = [];
  let end = Math.ceil(engine.free / 16) * 16;
  for (const s of sizes) {
    at.push(end);
    end += Math.ceil(s / 16) * 16;
  }
  return growMemory(engine.ex.memory, end) ? at : null;
}

/** The sizes of a convolution: K = C·kh·kw rows of columns, L = outH·outW, NL = N·L. */
function sizes(g: WindowInfo) {
  const L = g.outH * g.outW;
  return { K: g.c * g.kh * g.kw, L, NL: g.n * L, xLen: g.n * g.c * g.h * g.w };
}

/** A one-item product on the engine; `offsetsAt` holds the item's two zero offsets. */
function product(engine: GemmEngine, offsetsAt: number, aAt: number, bAt: number, cAt: number, m: number, k: number, n: number, transA: number, transB: number): void {
  engine.run({ aAt, bAt, cAt, offsetsAt, batch: 1, m, k, n, transA, transB });
}

/**
 * out [N, outC, outH·outW] = W [outC, K] · im2col(x) [K, N·L], reordered batch first: the
 * forward of the composed conv2d without its bias. `g` is the geometry of x [N, C, H, W]. It
 * runs as N products W · cols_n over columns laid out [N, K, L], which write the batch-first
 * result directly: the kernel sums each element over K in the same order whatever columns a
 * call covers, so these are the one large product's bits.
 */
export function conv2dSimd(x: Float32Array, w: Float32Array, g: WindowInfo, outC: number, out: Float32Array, engine: GemmEngine | null): boolean {
  const args = windowArgs(g);
  const { K, L, NL, xLen } = sizes(g);
  if (!engine || !args || K === 0 || NL === 0 || outC === 0) return false;
  if (x.length < xLen || w.length < outC * K || out.length < outC * NL) return false;
  const at = regions(engine, [8 * g.n, xLen * 4, outC * K * 4, K * NL * 4, outC * NL * 4]);
  if (!at) return false;
  const [offsetsAt, xAt, wAt, colsAt, yAt] = at as [number, number, number, number, number];
  const { ex } = engine;
  const heap = new Float32Array(ex.memory.buffer);
  const offsets = new Int32Array(ex.memory.buffer, offsetsAt, 2 * g.n);
  for (let b = 0; b < g.n; b++) {
    offsets[2 * b] = 0;
    offsets[2 * b + 1] = b * K * L;
  }
  heap.set(x.subarray(0, xLen), xAt / 4);
  heap.set(w.subarray(0, outC * K), wAt / 4);
  ex.im2col(xAt, colsAt, ...args, 0);
  engine.run({ aAt: wAt, bAt: colsAt, cAt: yAt, offsetsAt, batch: g.n, m: outC, k: K, n: L, transA: 0, transB: 0 });
  out.set(heap.subarray(yAt / 4, yAt / 4 + outC * NL));
  return true;
}

/**
 * out [N, outC, L] += bias [outC] per channel, in place: the broadcast add of the composed
 * conv2d, with its bits (each sum rounded once to float32, as the add kernels round it).
 */
export function addChannelBias(out: Float32Array, bias: Float32Array, outC: number, L: number): void {
  for (let at = 0, n = out.length; at < n; ) {
    for (let c = 0; c < outC; c++, at += L) {
      const b = bias[c]!;
      for (let i = at, end = at + L; i < end; i++) out[i]! += b;
    }
  }
}

/**
 * The gradients of `conv2dSimd` for dy [N, outC, outH·outW]: dw [outC, K] = dy' · im2col(x)ᵀ and
 * dx = col2im(Wᵀ · dy'), dy' being dy reordered [outC, N·L]; either output may be null (not
 * wanted). dx is overwritten whole.
 */
export function conv2dBackwardSimd(
  x: Float32Array, w: Float32Array, dy: Float32Array, g: WindowInfo, outC: number,
  dx: Float32Array | null, dw: Float32Array | null, engine: GemmEngine | null,
): boolean {
  const args = windowArgs(g);
  const { K, L, NL, xLen } = sizes(g);
  if (!engine || !args || K === 0 || NL === 0 || outC === 0) return false;
  if (x.length < xLen || w.length < outC * K || dy.length < outC * NL) return false;
  if ((dx && dx.length < xLen) || (dw && dw.length < outC * K)) return false;
  const at = regions(engine, [8, xLen * 4, outC * K * 4, outC * NL * 4, outC * NL * 4, K * NL * 4, outC * K * 4]);
  if (!at) return false;
  const [offsetsAt, xAt, wAt, dyAt, dyTAt, colsAt, dwAt] = at as [number, number, number, number, number, number, number];
  const { ex } = engine;
  const heap = new Float32Array(ex.memory.buffer);
  new Int32Array(ex.memory.buffer, offsetsAt, 2).fill(0);
  heap.set(dy.subarray(0, outC * NL), dyAt / 4);
  ex.swap01(dyAt, dyTAt, g.n, outC, L);
  if (dw) {
    heap.set(x.subarray(0, xLen), xAt / 4);
    ex.im2col(xAt, colsAt, ...args, 1);
    product(engine, offsetsAt, dyTAt, colsAt, dwAt, outC, NL, K, 0, 1);
    dw.set(heap.subarray(dwAt / 4, dwAt / 4 + outC * K));
  }
  if (dx) {
    heap.set(w.subarray(0, outC * K), wAt / 4);
    product(engine, offsetsAt, wAt, dyTAt, colsAt, K, outC, NL, 1, 0); // the columns' gradient, over the columns
    ex.col2im(colsAt, xAt, ...args, 1);
    dx.set(heap.subarray(xAt / 4, xAt / 4 + xLen));
  }
  return true;
}
