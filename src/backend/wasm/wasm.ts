/**
 * The `wasm` backend: the cpu backend's storage (one JS typed array per tensor, freed by the
 * garbage collector, so a user never frees anything) with its float32 hot kernels on WebAssembly
 * SIMD: elementwise maps and broadcasting binaries, select, reductions (./elementwise-simd.ts),
 * im2col / col2im, max-pool argmax, strided copies, gather and scatter-add (./movement-simd.ts),
 * beside the SIMD float32 matrix product and fused optimizer update the cpu backend already has,
 * and float64 matrix products on the f64x2 kernel (gemmSimdBatch64), which gradient checks and
 * the Hessian tools spend their time in; and a fused float32 convolution (./conv-simd.ts) whose
 * columns stay in the matrix product's memory.
 *
 * The backend is the cpu backend with another kernel table (WASM_KERNELS): allocation, the
 * BufferPool and everything else stay the cpu backend's. Each kernel here tries its SIMD driver,
 * which copies the operands into its module's memory, runs the kernel and copies the result
 * out into the output the backend allocated: a copy costs ~0.07 ns per float, the TypeScript loops 1.5-6 ns per element (bounds checks,
 * float32 <-> float64 conversions, and branches that mispredict on random signs). A driver returns
 * false for what it does not run (another dtype, an op such as exp with no bit-exact SIMD form, a
 * runtime without SIMD) and the TypeScript kernel of the cpu backend fills the same output
 * instead, so this backend is valid everywhere the cpu backend is.
 *
 * Results: copies, maxima, comparisons and the IEEE operations (add, mul, div, sqrt, ...) are
 * bit-identical to the cpu backend; sums accumulate in float64 in SIMD lanes, a fixed order that
 * may differ from the cpu backend's sequential sum in the last bit. Every result is deterministic
 * and independent of the thread count.
 */
import type { DataId, WindowInfo } from "../backend.js";
import type { DType } from "../../tensor/dtype.js";
import { CpuBackend, TS_KERNELS, type CpuBackendOptions, type CpuKernels } from "../cpu/cpu.js";
import { addChannelBias, conv2dBackwardSimd, conv2dSimd } from "./conv-simd.js";
import { gemmSimdBatch64, type GemmEngine } from "../cpu/simd/gemm-simd.js";
import { binarySimd, reduceSimd, selectSimd, unarySimd } from "./elementwise-simd.js";
import { col2imSimd, im2colSimd, maxPoolIndicesSimd, scatterAddSimd, stridedSimd, takeSimd } from "./movement-simd.js";

export const f32 = (x: unknown): x is Float32Array => x instanceof Float32Array;
/** 32-bit storage of either kind: what the copying kernels move regardless of meaning. */
export const words = (x: unknown): x is Float32Array | Int32Array => x instanceof Float32Array || x instanceof Int32Array;

/** The SIMD kernels, each falling back to the TypeScript one of TS_KERNELS for what it declines. */
export const WASM_KERNELS: CpuKernels = {
  unary: (op, x, out, params) => {
    if (!(f32(x) && f32(out) && unarySimd(op, x, out, params))) TS_KERNELS.unary(op, x, out, params);
  },
  binary: (op, a, b, info, out) => {
    if (!(f32(a) && f32(b) && f32(out) && binarySimd(op, a, b, info, out))) TS_KERNELS.binary(op, a, b, info, out);
  },
  select: (cond, a, b, info, out) => {
    if (!(f32(cond) && f32(a) && f32(b) && f32(out) && selectSimd(cond, a, b, info, out))) TS_KERNELS.select(cond, a, b, info, out);
  },
  reduce: (op, x, shape, axes, out) => {
    if (!(f32(x) && f32(out) && reduceSimd(op, x, shape, axes, out))) TS_KERNELS.reduce(op, x, shape, axes, out);
  },
  strided: (x, outShape, strides, offset, out) => {
    if (!(words(x) && words(out) && stridedSimd(x, outShape, strides, offset, out))) TS_KERNELS.strided(x, outShape, strides, offset, out);
  },
  take: (x, indices, out) => {
    if (!(words(x) && words(out) && takeSimd(x, indices, out))) TS_KERNELS.take(x, indices, out);
  },
  scatterAdd: (x, indices, out) => {
    if (!(f32(x) && f32(out) && scatterAddSimd(x, indices, out))) TS_KERNELS.scatterAdd(x, indices, out);
  },
  im2col: (x, g, cols) => {
    if (!(f32(x) && f32(cols) && im2colSimd(x, g, cols))) TS_KERNELS.im2col(x, g, cols);
  },
  col2im: (cols, g, x) => {
    if (!(f32(cols) && f32(x) && col2imSimd(cols, g, x))) TS_KERNELS.col2im(cols, g, x);
  },
  maxPoolIndices: (x, g, out, values) => {
    if (!(f32(x) && maxPoolIndicesSimd(x, g, out))) TS_KERNELS.maxPoolIndices(x, g, out);
    if (values) WASM_KERNELS.take(x, out, values);
  },
  gemm: (a, aOffsets, b, bOffsets, c, info) => {
    const f64 = a instanceof Float64Array && b instanceof Float64Array && c instanceof Float64Array;
    if (!(f64 && gemmSimdBatch64(a, aOffsets, b, bOffsets, c, 0, info))) TS_KERNELS.gemm(a, aOffsets, b, bOffsets, c, info);
  },
};

export class WasmBackend extends CpuBackend {
  override readonly name: string = "wasm";

  /** `engine`: see CpuBackend (the native backend's products); `kernels`: the native backend's table, falling back to these. */
  constructor(options: Omit<CpuBackendOptions, "simd"> = {}, engine?: (threads: number) => GemmEngine | null, kernels: CpuKernels = WASM_KERNELS) {
    super(options, kernels, engine);
  }

  /** The fused float32 convolution of ./conv-simd.ts, on the engine this backend's products use, then the bias. */
  conv2d(x: DataId, weight: DataId, bias: DataId | null, info: WindowInfo, outC: number, dtype: DType): DataId | null {
    const xv = this.view(x), wv = this.view(weight), bv = bias && this.view(bias);
    if (dtype !== "float32" || !f32(xv) || !f32(wv) || (bv && !f32(bv))) return null;
    const out = this.alloc(dtype, info.n * outC * info.outH * info.outW, false) as Float32Array;
    const id = this.own(out);
    if (conv2dSimd(xv, wv, info, outC, out, this.gemmEngine)) {
      if (bv) addChannelBias(out, bv as Float32Array, outC, info.outH * info.outW);
      return id;
    }
    this.dispose(id);
    return null;
  }

  conv2dBackward(
    x: DataId, weight: DataId, dy: DataId, info: WindowInfo, outC: number, needX: boolean, needWeight: boolean, dtype: DType,
  ): { dx: DataId | null; dweight: DataId | null } | null {
    const xv = this.view(x), wv = this.view(weight), dyv = this.view(dy);
    if (dtype !== "float32" || !f32(xv) || !f32(wv) || !f32(dyv)) return null;
    const dx = needX ? this.own(this.alloc(dtype, xv.length, false)) : null;
    const dweight = needWeight ? this.own(this.alloc(dtype, wv.length, false)) : null;
    const floats = (id: DataId | null) => (id ? (this.view(id) as Float32Array) : null);
    if (conv2dBackwardSimd(xv, wv, dyv, info, outC, floats(dx), floats(dweight), this.gemmEngine)) return { dx, dweight };
    for (const id of [dx, dweight]) if (id) this.dispose(id);
    return null;
  }
}
