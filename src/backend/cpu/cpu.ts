/**
 * The `cpu` backend: TypeScript over typed arrays, float64 capable, the reference every other
 * backend is tested against. Storage is a plain object holding one typed array; the garbage
 * collector frees it. A kernel's output is `owned`: `dispose` (which the autograd engine calls for
 * storage it knows is dead) gives its array to the backend's BufferPool (./pool.ts) for the next
 * kernel of that dtype and size; an uploaded array is the caller's and is only dropped. Either way
 * the handle is emptied, so a use after dispose is an error instead of a read of reused data.
 *
 * Each method allocates its output and has a kernel of its table (CpuKernels) fill it: the
 * TypeScript kernels (TS_KERNELS) here; the wasm backend (../wasm/wasm.ts) is this class with a
 * table of SIMD kernels.
 *
 * Matrix products: float32 runs on the WebAssembly SIMD kernel (./simd/gemm-simd.ts, compiled from
 * wasm/gemm.ts) where the runtime supports it; float64 (the reference path of conformance and
 * gradcheck) runs the table's `gemm`, the TypeScript kernel of ./gemm.ts here. `new CpuBackend({ simd: false })`
 * forces the TypeScript kernel for float32 too; a subclass may hand its own engine to the
 * constructor (the native backend, ../native/native.ts); `gemmKernel` says which one float32 uses.
 * The fused optimizer update (applyUpdate) follows the same choice: float32 programs made of the
 * stages ./simd/update-simd.ts has run there, everything else on ./update.ts (the same bits); an
 * optimizer's slots (updateSlot) then live in that module's memory where it is shared.
 */
import type { UpdateStage } from "../update.js";
import type { Backend, BinaryOp, BroadcastInfo, CrossEntropyReduction, DataId, MatmulInfo, Placement, ReduceOp, UnaryOp, WindowInfo } from "../backend.js";
import { ConfigError, DescentError, DTypeError } from "../../errors/errors.js";
import { type DType, type TypedArray } from "../../tensor/dtype.js";
import { sizeOf } from "../../tensor/shape.js";
import { binaryInto, selectInto, unaryInto } from "./elementwise.js";
import { assembleInto, scatterAddInto, stridedInto, takeInto } from "./movement.js";
import { argReduceInto, reduceInto } from "./reduce.js";
import { gemm } from "./gemm.js";
import { gemmSimdBatch, simdAvailable, singleEngine, type GemmEngine } from "./simd/gemm-simd.js";
import { gemmPool } from "./simd/gemm-threads.js";
import { applyUpdateSimd, residentCopy } from "./simd/update-simd.js";
import { applyUpdateInto } from "./update.js";
import { col2imInto, im2colInto, maxPoolIndicesInto } from "./window.js";
import { crossEntropyBackwardInto, crossEntropyInto } from "./loss.js";
import { BufferPool } from "./pool.js";

/**
 * The kernels that fill a cpu-family backend's outputs, each writing into storage the backend
 * allocated: the TypeScript ones (TS_KERNELS) here; the wasm backend passes a table whose kernels
 * try WebAssembly SIMD first and fall back to these. `gemm` is the product of every case the
 * float32 SIMD matmul does not take.
 */
export interface CpuKernels {
  unary: typeof unaryInto;
  binary: typeof binaryInto;
  select: typeof selectInto;
  reduce: typeof reduceInto;
  strided: typeof stridedInto;
  take: typeof takeInto;
  scatterAdd: typeof scatterAddInto;
  im2col: typeof im2colInto;
  col2im: typeof col2imInto;
  /** maxPoolIndicesInto, and with `values` each window's maximum too (x at its index, take's words) */
  maxPoolIndices: (x: TypedArray, g: WindowInfo, out: Int32Array, values?: TypedArray) => void;
  gemm: (a: TypedArray, aOffsets: ArrayLike<number>, b: TypedArray, bOffsets: ArrayLike<number>, c: TypedArray, info: MatmulInfo) => void;
}

export const TS_KERNELS: CpuKernels = {
  unary: unaryInto, binary: binaryInto, select: selectInto, reduce: reduceInto, strided: stridedInto, take: takeInto,
  scatterAdd: scatterAddInto, im2col: im2colInto, col2im: col2imInto,
  maxPoolIndices: (x, g, out, values) => {
    maxPoolIndicesInto(x, g, out);
    if (values) takeInto(x, out, values);
  },
  gemm: (a, aOffsets, b, bOffsets, c, info) => {
    for (let i = 0; i < info.batch; i++) gemm(a, aOffsets[i]!, b, bOffsets[i]!, c, i * info.m * info.n, info);
  },
};

interface CpuData {
  values: TypedArray;
  /** made by a kernel of this backend (recycled on dispose), not uploaded by a caller */
  owned: boolean;
}

function wrap(values: TypedArray): CpuData {
  return { values, owned: false };
}

function vals(id: DataId): TypedArray {
  const values = (id as CpuData).values;
  if (!values) {
    throw new DescentError(
      "this tensor's storage was freed: it was disposed, or it was a gradient the autograd engine had passed on " +
        "(a backward rule must not keep the tensors it is given or makes)",
    );
  }
  return values;
}

export interface CpuBackendOptions {
  /** Use the WebAssembly SIMD kernel for float32 matmul when available (default true). */
  simd?: boolean;
  /**
   * Threads for float32 matmul on the SIMD kernel (default 1): 2 or more start a worker pool over
   * shared memory (./simd/gemm-threads.ts, Node only; elsewhere one thread runs). Results are
   * bit-identical for any count.
   */
  threads?: number;
}

export class CpuBackend implements Backend {
  readonly name: string = "cpu";
  readonly supportsFloat64 = true;
  /** The float32 matmul kernel: "native" (the native backend), "wasm-simd", or "typescript" (forced, or SIMD unavailable). */
  readonly gemmKernel: "native" | "wasm-simd" | "typescript";

  /** Threads the float32 SIMD matmul runs on (1 when no pool could start). */
  readonly threads: number;
  /** The engine float32 products run on: the worker pool (threads > 1), else the calling thread's own. */
  protected readonly gemmEngine: GemmEngine | null;
  private readonly buffers = new BufferPool();

  /**
   * `engine` replaces the WebAssembly engines for float32 products (the native backend's addon):
   * given the thread count, it returns the engine, or null to keep the WebAssembly ones.
   */
  constructor(
    options: CpuBackendOptions = {}, private readonly kernels: CpuKernels = TS_KERNELS,
    engine?: (threads: number) => GemmEngine | null,
  ) {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new ConfigError(`CpuBackend: invalid threads ${threads} (expected an integer >= 1)`);
    const simd = options.simd !== false && simdAvailable();
    const replaced = simd ? (engine?.(threads) ?? null) : null;
    this.gemmKernel = replaced ? "native" : simd ? "wasm-simd" : "typescript";
    const pool = !replaced && simd && threads > 1 ? gemmPool(threads) : null;
    this.gemmEngine = replaced ?? pool ?? (simd ? singleEngine() : null);
    this.threads = replaced ? threads : (pool?.threads ?? 1);
  }

  upload(values: TypedArray): DataId {
    return wrap(values);
  }

  fill(size: number, value: number, dtype: DType): DataId {
    const out = this.alloc(dtype, size, value === 0);
    if (value !== 0) out.fill(value);
    return this.own(out);
  }

  read(id: DataId): Promise<TypedArray> {
    return Promise.resolve(vals(id).slice());
  }

  readSync(id: DataId): TypedArray {
    return vals(id).slice();
  }

  /** The live storage, for CPU-only code paths that must not copy (kernels, serialization). */
  view(id: DataId): TypedArray {
    return vals(id);
  }

  dispose(id: DataId): void {
    const data = id as Partial<CpuData>;
    if (data.owned && data.values) this.buffers.give(data.values);
    data.values = undefined as unknown as TypedArray;
  }

  /** Storage for a kernel's output: recycled where the pool has some, cleared if `zeroed`. */
  protected alloc(dtype: DType, size: number, zeroed: boolean): TypedArray {
    return this.buffers.take(dtype, size, zeroed);
  }

  /** The handle of a kernel's output (from `alloc`), which `dispose` may recycle. */
  protected own(values: TypedArray): DataId {
    return { values, owned: true } satisfies CpuData;
  }

  cast(x: DataId, size: number, _from: DType, to: DType): DataId {
    const out = this.alloc(to, size, false);
    const v = vals(x);
    if (to === "int32") for (let i = 0; i < size; i++) out[i] = Math.trunc(v[i]!);
    else out.set(v);
    return this.own(out);
  }

  unary(op: UnaryOp, x: DataId, size: number, dtype: DType, params: readonly number[] = []): DataId {
    const out = this.alloc(dtype, size, false);
    this.kernels.unary(op, vals(x), out, params);
    return this.own(out);
  }

  binary(op: BinaryOp, a: DataId, b: DataId, info: BroadcastInfo, dtype: DType): DataId {
    const out = this.alloc(dtype, sizeOf(info.outShape), false);
    this.kernels.binary(op, vals(a), vals(b), info, out);
    return this.own(out);
  }

  select(cond: DataId, a: DataId, b: DataId, info: BroadcastInfo, _condDType: DType, dtype: DType): DataId {
    const out = this.alloc(dtype, sizeOf(info.outShape), false);
    this.kernels.select(vals(cond), vals(a), vals(b), info, out);
    return this.own(out);
  }

  reduce(op: ReduceOp, x: DataId, shape: readonly number[], axes: readonly number[], dtype: DType): DataId {
    const outSize = sizeOf(shape.filter((_, i) => !axes.includes(i)));
    const out = this.alloc(dtype, outSize, false);
    this.kernels.reduce(op, vals(x), shape, axes, out);
    return this.own(out);
  }

  argReduce(op: "argmax" | "argmin", x: DataId, shape: readonly number[], axis: number): DataId {
    const out = this.alloc("int32", sizeOf(shape) / Math.max(shape[axis]!, 1), false) as Int32Array;
    argReduceInto(op, vals(x), shape, axis, out);
    return this.own(out);
  }

  strided(x: DataId, outShape: readonly number[], strides: readonly number[], offset: number, dtype: DType): DataId {
    const out = this.alloc(dtype, sizeOf(outShape), false);
    this.kernels.strided(vals(x), outShape, strides, offset, out);
    return this.own(out);
  }

  assemble(parts: readonly Placement[], outShape: readonly number[], fill: number, dtype: DType): DataId {
    const out = this.alloc(dtype, sizeOf(outShape), fill === 0);
    if (fill !== 0) out.fill(fill);
    assembleInto(parts.map((p) => ({ values: vals(p.id), placement: p })), outShape, out);
    return this.own(out);
  }

  take(x: DataId, indices: DataId, count: number, dtype: DType): DataId {
    const out = this.alloc(dtype, count, false);
    this.kernels.take(vals(x), vals(indices) as Int32Array, out);
    return this.own(out);
  }

  scatterAdd(x: DataId, indices: DataId, _count: number, size: number, dtype: DType): DataId {
    const out = this.alloc(dtype, size, true);
    this.kernels.scatterAdd(vals(x), vals(indices) as Int32Array, out);
    return this.own(out);
  }

  matmul(a: DataId, b: DataId, info: MatmulInfo, dtype: DType): DataId {
    const { batch, m, n } = info;
    const out = this.alloc(dtype, batch * m * n, false);
    const av = vals(a), bv = vals(b);
    if (this.gemmKernel !== "typescript" && out instanceof Float32Array && av instanceof Float32Array && bv instanceof Float32Array) {
      gemmSimdBatch(av, info.aOffsets, bv, info.bOffsets, out, 0, info, this.gemmEngine);
      return this.own(out);
    }
    this.kernels.gemm(av, info.aOffsets, bv, info.bOffsets, out, info);
    return this.own(out);
  }

  im2col(x: DataId, info: WindowInfo, dtype: DType): DataId {
    const out = this.alloc(dtype, info.n * info.c * info.kh * info.kw * info.outH * info.outW, false);
    this.kernels.im2col(vals(x), info, out);
    return this.own(out);
  }

  col2im(cols: DataId, info: WindowInfo, dtype: DType): DataId {
    const out = this.alloc(dtype, info.n * info.c * info.h * info.w, true);
    this.kernels.col2im(vals(cols), info, out);
    return this.own(out);
  }

  maxPoolIndices(x: DataId, info: WindowInfo): DataId {
    const out = this.alloc("int32", info.n * info.c * info.outH * info.outW, false) as Int32Array;
    this.kernels.maxPoolIndices(vals(x), info, out);
    return this.own(out);
  }

  maxPool(x: DataId, info: WindowInfo, dtype: DType): { values: DataId; indices: DataId } {
    const size = info.n * info.c * info.outH * info.outW;
    const indices = this.alloc("int32", size, false) as Int32Array;
    const values = this.alloc(dtype, size, false);
    this.kernels.maxPoolIndices(vals(x), info, indices, values);
    return { values: this.own(values), indices: this.own(indices) };
  }

  crossEntropy(logits: DataId, labels: DataId, rows: number, classes: number, ignoreIndex: number, reduction: CrossEntropyReduction, dtype: DType): DataId {
    const out = this.alloc(dtype, reduction === "none" ? rows : 1, false);
    this.withScratch(dtype, (make) => crossEntropyInto(this.kernels, vals(logits), vals(labels) as Int32Array, rows, classes, ignoreIndex, reduction, out, make));
    return this.own(out);
  }

  crossEntropyBackward(
    logits: DataId, labels: DataId, grad: DataId, rows: number, classes: number, ignoreIndex: number, reduction: CrossEntropyReduction, dtype: DType,
  ): DataId {
    const dx = this.alloc(dtype, rows * classes, false);
    this.withScratch(dtype, (make) =>
      crossEntropyBackwardInto(this.kernels, vals(logits), vals(labels) as Int32Array, vals(grad), rows, classes, ignoreIndex, reduction, dx, make));
    return this.own(dx);
  }

  /** Runs fn with a maker of scratch arrays of dtype, all given back to the pool when it returns. */
  private withScratch(dtype: DType, fn: (make: (size: number) => TypedArray) => void): void {
    const made: TypedArray[] = [];
    try {
      fn((size) => {
        const a = this.alloc(dtype, size, false);
        made.push(a);
        return a;
      });
    } finally {
      for (const a of made) this.buffers.give(a);
    }
  }

  /** A resident copy in the SIMD update's shared memory where there is one (never pooled: freed when collected), else a plain copy. */
  updateSlot(x: DataId, size: number, dtype: DType): DataId {
    const v = vals(x);
    const resident = this.gemmKernel !== "typescript" && v instanceof Float32Array ? residentCopy(v.subarray(0, size)) : null;
    return resident ? wrap(resident) : this.strided(x, [size], [1], 0, dtype);
  }

  applyUpdate(stages: readonly UpdateStage[], param: DataId, grad: DataId, slots: readonly DataId[], size: number, dtype: DType): DataId {
    const out = this.alloc(dtype, size, false);
    const floats = (id: DataId): Float32Array | Float64Array => {
      const v = vals(id);
      if (v instanceof Int32Array) throw new DTypeError(`applyUpdate: expected float storage, got int32`);
      return v;
    };
    const p = floats(param), g = floats(grad), ss = slots.map(floats);
    const simd = this.gemmKernel !== "typescript" && out instanceof Float32Array && p instanceof Float32Array && g instanceof Float32Array;
    const ss32 = ss.filter((x): x is Float32Array => x instanceof Float32Array);
    if (simd && ss32.length === ss.length && applyUpdateSimd(stages, p, g, ss32, out)) return this.own(out);
    applyUpdateInto(stages, p, g, ss, floats(this.own(out)));
    return this.own(out);
  }
}

export const cpu = new CpuBackend();
