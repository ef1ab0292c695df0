/**
 * The `wasm` backend: the cpu backend's storage (one JS typed array per tensor, freed by the
 * garbage collector, so a user never frees anything) with its float32 hot kernels on WebAssembly
 * SIMD: elementwise maps and broadcasting binaries, select, reductions (./elementwise-simd.ts),
 * im2col / col2im, max-pool argmax, strided copies, gather and scatter-add (./movement-simd.ts),
 * beside the SIMD float32 matrix product and fused optimizer update the cpu backend already has,
 * and float64 matrix products on the f64x2 kernel (gemmSimdBatch64), which gradient checks and
 * the Hessian tools spend their time in.
 *
 * Outputs come from the cpu backend's BufferPool (recycled storage of disposed tensors; see
 * ../cpu/pool.ts), given back when a driver declines. Each driver copies its operands into its module's memory, runs the kernel and copies the result
 * out: a copy costs ~0.07 ns per float, the TypeScript loops 1.5-6 ns per element (bounds checks,
 * float32 <-> float64 conversions, and branches that mispredict on random signs). A driver returns
 * false for what it does not run (another dtype, an op such as exp with no bit-exact SIMD form, a
 * runtime without SIMD) and the TypeScript kernel of the cpu backend runs instead, so this
 * backend is valid everywhere the cpu backend is.
 *
 * Results: copies, maxima, comparisons and the IEEE operations (add, mul, div, sqrt, ...) are
 * bit-identical to the cpu backend; sums accumulate in float64 in SIMD lanes, a fixed order that
 * may differ from the cpu backend's sequential sum in the last bit. Every result is deterministic
 * and independent of the thread count.
 */
import type { BinaryOp, BroadcastInfo, DataId, MatmulInfo, ReduceOp, UnaryOp, WindowInfo } from "../backend.js";
import { CpuBackend, type CpuBackendOptions } from "../cpu/cpu.js";
import { gemmSimdBatch64 } from "../cpu/simd/gemm-simd.js";
import type { DType } from "../../tensor/dtype.js";
import { sizeOf } from "../../tensor/shape.js";
import { binarySimd, reduceSimd, selectSimd, unarySimd } from "./elementwise-simd.js";
import { col2imSimd, im2colSimd, maxPoolIndicesSimd, scatterAddSimd, stridedSimd, takeSimd } from "./movement-simd.js";

export class WasmBackend extends CpuBackend {
  override readonly name: string = "wasm";

  constructor(options: Omit<CpuBackendOptions, "simd"> = {}) {
    super(options);
  }

  private alloc32(size: number, zeroed: boolean): Float32Array {
    return this.alloc("float32", size, zeroed) as Float32Array;
  }

  private f32(id: DataId): Float32Array | null {
    const v = this.view(id);
    return v instanceof Float32Array ? v : null;
  }

  /** 32-bit storage of either kind: what the copying kernels move regardless of meaning. */
  private word(id: DataId): Float32Array | Int32Array | null {
    const v = this.view(id);
    return v instanceof Float32Array || v instanceof Int32Array ? v : null;
  }

  override unary(op: UnaryOp, x: DataId, size: number, dtype: DType, params: readonly number[] = []): DataId {
    const xv = this.f32(x);
    if (dtype === "float32" && xv) {
      const out = this.alloc32(size, false);
      if (unarySimd(op, xv, out, params)) return this.own(out);
      this.unused(out);
    }
    return super.unary(op, x, size, dtype, params);
  }

  override binary(op: BinaryOp, a: DataId, b: DataId, info: BroadcastInfo, dtype: DType): DataId {
    const av = this.f32(a), bv = this.f32(b);
    if (dtype === "float32" && av && bv) {
      const out = this.alloc32(sizeOf(info.outShape), false);
      if (binarySimd(op, av, bv, info, out)) return this.own(out);
      this.unused(out);
    }
    return super.binary(op, a, b, info, dtype);
  }

  override select(cond: DataId, a: DataId, b: DataId, info: BroadcastInfo, condDType: DType, dtype: DType): DataId {
    const cv = this.f32(cond), av = this.f32(a), bv = this.f32(b);
    if (dtype === "float32" && condDType === "float32" && cv && av && bv) {
      const out = this.alloc32(sizeOf(info.outShape), false);
      if (selectSimd(cv, av, bv, info, out)) return this.own(out);
      this.unused(out);
    }
    return super.select(cond, a, b, info, condDType, dtype);
  }

  override reduce(op: ReduceOp, x: DataId, shape: readonly number[], axes: readonly number[], dtype: DType): DataId {
    const xv = this.f32(x);
    if (dtype === "float32" && xv) {
      const out = this.alloc32(sizeOf(shape.filter((_, i) => !axes.includes(i))), false);
      if (reduceSimd(op, xv, shape, axes, out)) return this.own(out);
      this.unused(out);
    }
    return super.reduce(op, x, shape, axes, dtype);
  }

  override strided(x: DataId, outShape: readonly number[], strides: readonly number[], offset: number, dtype: DType): DataId {
    const xv = this.word(x);
    if (xv && dtype !== "float64") {
      const size = sizeOf(outShape);
      const out = this.alloc(xv instanceof Float32Array ? "float32" : "int32", size, false) as Float32Array | Int32Array;
      if (stridedSimd(xv, outShape, strides, offset, out)) return this.own(out);
      this.unused(out);
    }
    return super.strided(x, outShape, strides, offset, dtype);
  }

  override take(x: DataId, indices: DataId, count: number, dtype: DType): DataId {
    const xv = this.word(x), iv = this.view(indices);
    if (xv && iv instanceof Int32Array && dtype !== "float64") {
      const out = this.alloc(xv instanceof Float32Array ? "float32" : "int32", count, false) as Float32Array | Int32Array;
      if (takeSimd(xv, iv, out)) return this.own(out);
      this.unused(out);
    }
    return super.take(x, indices, count, dtype);
  }

  override scatterAdd(x: DataId, indices: DataId, count: number, size: number, dtype: DType): DataId {
    const xv = this.f32(x), iv = this.view(indices);
    if (dtype === "float32" && xv && iv instanceof Int32Array) {
      const out = this.alloc32(size, true);
      if (scatterAddSimd(xv, iv, out)) return this.own(out);
      this.unused(out);
    }
    return super.scatterAdd(x, indices, count, size, dtype);
  }

  override matmul(a: DataId, b: DataId, info: MatmulInfo, dtype: DType): DataId {
    const av = this.view(a), bv = this.view(b);
    if (dtype === "float64" && av instanceof Float64Array && bv instanceof Float64Array) {
      const out = this.alloc("float64", info.batch * info.m * info.n, false) as Float64Array;
      if (gemmSimdBatch64(av, info.aOffsets, bv, info.bOffsets, out, 0, info)) return this.own(out);
      this.unused(out);
    }
    return super.matmul(a, b, info, dtype);
  }

  override im2col(x: DataId, info: WindowInfo, dtype: DType): DataId {
    const xv = this.f32(x);
    if (dtype === "float32" && xv) {
      const out = this.alloc32(info.n * info.c * info.kh * info.kw * info.outH * info.outW, false);
      if (im2colSimd(xv, info, out)) return this.own(out);
      this.unused(out);
    }
    return super.im2col(x, info, dtype);
  }

  override col2im(cols: DataId, info: WindowInfo, dtype: DType): DataId {
    const cv = this.f32(cols);
    if (dtype === "float32" && cv) {
      const out = this.alloc32(info.n * info.c * info.h * info.w, true);
      if (col2imSimd(cv, info, out)) return this.own(out);
      this.unused(out);
    }
    return super.col2im(cols, info, dtype);
  }

  override maxPoolIndices(x: DataId, info: WindowInfo): DataId {
    const xv = this.f32(x);
    if (xv) {
      const out = this.alloc("int32", info.n * info.c * info.outH * info.outW, false) as Int32Array;
      if (maxPoolIndicesSimd(xv, info, out)) return this.own(out);
      this.unused(out);
    }
    return super.maxPoolIndices(x, info);
  }
}
