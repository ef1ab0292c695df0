/**
 * Matrix products on the WebAssembly SIMD kernels of wasm/gemm.ts (AssemblyScript, one generic
 * loop nest: a 4x8 f32x4 micro-kernel for float32, `gemm`, and a 4x4 f64x2 one for float64,
 * `gemm64`; packing happens inside wasm too).
 *
 * An engine is a module instance with its memory and the threads that run it: the default one
 * (this file) is a private instance run by the calling thread; ./gemm-threads.ts makes one over
 * shared memory with a pool of workers (float32 only). Either way the memory is laid out from the
 * heap base as
 *   [kernel scratch of each thread] [batch offsets] [A] [B] [C],
 * grown on demand and never shrunk, so steady state allocates nothing. A call copies the range of
 * A and of B its products read into the wasm memory (memcpy speed), runs the kernel per batch item
 * over bands of columns (one band per thread; see `bands`), and copies all of C out with one
 * `set`: nothing outside C is written. The copies are O(size) beside the O(m k n) product.
 *
 * Threads never change a result: each element of C is computed by one thread, summed in the
 * kernel's fixed order whatever band it falls in, so 1 and 2 threads give the same bits. In float64
 * that order is the one of ../gemm.ts, so `gemmSimdBatch64` returns the TypeScript kernel's bits.
 *
 * Where WebAssembly SIMD is missing (the module fails to validate) or a product would need more
 * than MAX_BYTES of wasm memory, the TypeScript kernel of ../gemm.ts runs instead: `gemmSimdBatch`
 * runs it itself, `gemmSimdBatch64` returns false so that its caller does.
 */
import { gemm, type GemmArgs } from "../gemm.js";
import { wasmFeatures } from "../../features.js";
import { GEMM_RELAXED_WASM_BASE64 } from "./gemm-relaxed-wasm.generated.js";
import { GEMM_WASM_BASE64 } from "./gemm-wasm.generated.js";
import { instantiateSimd } from "./instantiate.js";

export interface GemmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(): number;
  gemm: GemmKernel;
  gemm64: GemmKernel;
  /** im2col / col2im of wasm/movement.ts (geometry as src/backend/wasm/movement-simd.ts passes it, then kFirst) */
  im2col(x: number, cols: number, ...geometry: number[]): void;
  col2im(cols: number, x: number, ...geometry: number[]): void;
  /** dst[j, i, :] = src[i, j, :] for src of [a, b, l] 32-bit words */
  swap01(src: number, dst: number, a: number, b: number, l: number): void;
}

/** `gemm` (float32) or `gemm64` (float64) of wasm/gemm.ts: byte addresses, shape, row stride of C. */
type GemmKernel = (
  a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number, scratch: number, ld: number,
) => void;

/** One product's operands in wasm memory (byte addresses) and shape. */
export interface GemmJob {
  readonly aAt: number;
  readonly bAt: number;
  readonly cAt: number;
  /** byte address of 2·batch int32: each batch item's A and B element offsets from aAt and bAt */
  readonly offsetsAt: number;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA: number;
  readonly transB: number;
}

export interface GemmEngine {
  readonly ex: GemmExports;
  /** how many threads run products (the caller included) */
  readonly threads: number;
  /** first byte after the scratch areas */
  readonly free: number;
  /** Runs the job, its columns split into `bands(n, threads)`; returns when C is complete. */
  run(job: GemmJob): void;
}

const PAGE = 65536;
const MAX_BYTES = 2 ** 31;
/** Products below this many multiply-adds stay on one thread: a hand-off costs ~10-50 µs. */
const PARALLEL_MIN_MACS = 1 << 18;
const NR = 8;

/** The column bands [j0, j1) of n for t threads: equal widths in multiples of the kernel's NR. */
export function bands(n: number, t: number): [number, number][] {
  const w = Math.ceil(n / t / NR) * NR;
  const out: [number, number][] = [];
  for (let j0 = 0; j0 < n; j0 += w) out.push([j0, Math.min(n, j0 + w)]);
  return out;
}

/** How many threads a job uses: all of the engine's for a large enough product, else one. */
export function threadsFor(job: GemmJob, threads: number): number {
  return threads > 1 && job.n >= 2 * NR && job.batch * job.m * job.k * job.n >= PARALLEL_MIN_MACS ? threads : 1;
}

/** Runs the batch of float32 products over columns [j0, j1) on one thread with its scratch. */
export function runBand(ex: GemmExports, heap32: Int32Array, job: GemmJob, j0: number, j1: number, scratch: number): void {
  runItems(ex.gemm, 4, heap32, job, j0, j1, scratch);
}

/** Runs `kernel` (elements of `bytes` bytes) on each batch item of the job, over columns [j0, j1). */
function runItems(
  kernel: GemmKernel, bytes: number, heap32: Int32Array, job: GemmJob, j0: number, j1: number, scratch: number,
): void {
  const { m, k, n, transB } = job;
  const offs = job.offsetsAt / 4;
  const bShift = (transB ? j0 * k : j0) * bytes;
  for (let t = 0; t < job.batch; t++) {
    kernel(
      job.aAt + heap32[offs + 2 * t]! * bytes, job.bAt + heap32[offs + 2 * t + 1]! * bytes + bShift,
      job.cAt + (t * m * n + j0) * bytes, m, k, j1 - j0, job.transA, transB, scratch, n,
    );
  }
}

/** The single-thread engine, with the address of its one scratch area. */
export interface SingleEngine extends GemmEngine {
  readonly scratch: number;
}

let single: SingleEngine | null | undefined; // undefined: not tried yet; null: unavailable

let fused: boolean | undefined;

/**
 * Whether float32 products fuse their multiply-adds: the relaxed-SIMD build of the kernel
 * (f32x4.relaxed_madd) runs wherever relaxed SIMD validates, on one thread and in the pool alike,
 * so a result never depends on the thread count. Decided once per program.
 */
export function fusedMultiplyAdd(): boolean {
  fused ??= wasmFeatures().relaxedSimd;
  return fused;
}

/** The calling thread's own engine, or null where WebAssembly SIMD is unavailable. */
export function singleEngine(): SingleEngine | null {
  if (single !== undefined) return single;
  const ex = instantiateSimd<GemmExports>(fusedMultiplyAdd() ? GEMM_RELAXED_WASM_BASE64 : GEMM_WASM_BASE64);
  if (!ex) return (single = null);
  const scratch = ex.heapBase();
  let heap32 = new Int32Array(0);
  single = {
    ex, threads: 1, scratch, free: scratch + ex.scratchBytes(),
    run(job) {
      if (heap32.buffer !== ex.memory.buffer) heap32 = new Int32Array(ex.memory.buffer);
      runBand(ex, heap32, job, 0, job.n, scratch);
    },
  };
  return single;
}

/** True when the WebAssembly SIMD kernel can run here. */
export function simdAvailable(): boolean {
  return singleEngine() !== null;
}

function minMax(xs: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** A batch laid out in an engine's memory: the job, and the heap view its offsets were written through. */
interface Staged {
  readonly job: GemmJob;
  readonly heap32: Int32Array;
}

/**
 * Lays the batch out after `free` as [offsets][A][B][C] (each region 16-byte aligned), grows the
 * memory to hold it, and copies the offsets and the ranges of A and B that the products read.
 * Null when it would need more than MAX_BYTES. Requires batch, m, n, k >= 1.
 */
function stage(
  memory: WebAssembly.Memory, free: number, a: Float32Array | Float64Array, aOffsets: ArrayLike<number>,
  b: Float32Array | Float64Array, bOffsets: ArrayLike<number>, args: GemmArgs,
): Staged | null {
  const { m, k, n, transA, transB } = args;
  const batch = aOffsets.length;
  const e = a.BYTES_PER_ELEMENT;
  const [aLo, aHi] = minMax(aOffsets);
  const [bLo, bHi] = minMax(bOffsets);
  const aLen = aHi - aLo + m * k, bLen = bHi - bLo + k * n;
  const al = (bytes: number): number => Math.ceil(bytes / 16) * 16;
  const offsetsAt = free, aAt = offsetsAt + al(8 * batch), bAt = aAt + al(aLen * e), cAt = bAt + al(bLen * e);
  const bytes = cAt + batch * m * n * e;
  if (bytes > MAX_BYTES) return null;
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
  const heap = e === 4 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);
  const heap32 = new Int32Array(memory.buffer);
  for (let t = 0; t < batch; t++) {
    heap32[offsetsAt / 4 + 2 * t] = aOffsets[t]! - aLo;
    heap32[offsetsAt / 4 + 2 * t + 1] = bOffsets[t]! - bLo;
  }
  heap.set(a.subarray(aLo, aLo + aLen), aAt / e);
  heap.set(b.subarray(bLo, bLo + bLen), bAt / e);
  return {
    job: { aAt, bAt, cAt, offsetsAt, batch, m, k, n, transA: transA ? 1 : 0, transB: transB ? 1 : 0 },
    heap32,
  };
}

/**
 * For t < aOffsets.length: C[cOff + t*m*n ..) = op(A at aOffsets[t]) @ op(B at bOffsets[t]), the
 * contract of `gemm` in ../gemm.ts per batch item, on `engine` (default: the single-thread one).
 */
export function gemmSimdBatch(
  a: Float32Array, aOffsets: ArrayLike<number>, b: Float32Array, bOffsets: ArrayLike<number>,
  c: Float32Array, cOff: number, args: GemmArgs, engine: GemmEngine | null = singleEngine(),
): void {
  const { m, k, n } = args;
  const batch = aOffsets.length;
  const mn = m * n;
  if (batch === 0 || mn === 0) return;
  if (k === 0) {
    c.fill(0, cOff, cOff + batch * mn);
    return;
  }
  const staged = engine && stage(engine.ex.memory, engine.free, a, aOffsets, b, bOffsets, args);
  if (!engine || !staged) {
    for (let t = 0; t < batch; t++) gemm(a, aOffsets[t]!, b, bOffsets[t]!, c, cOff + t * mn, args);
    return;
  }
  engine.run(staged.job);
  c.set(new Float32Array(engine.ex.memory.buffer, staged.job.cAt, batch * mn), cOff);
}

/**
 * The float64 `gemmSimdBatch`, on the single-thread engine's `gemm64` (4x4 f64x2 tiles). Returns
 * false, having written nothing, where WebAssembly SIMD is unavailable or the batch would need more
 * than MAX_BYTES of wasm memory: the caller then runs the TypeScript kernel of ../gemm.ts.
 */
export function gemmSimdBatch64(
  a: Float64Array, aOffsets: ArrayLike<number>, b: Float64Array, bOffsets: ArrayLike<number>,
  c: Float64Array, cOff: number, args: GemmArgs,
): boolean {
  const engine = singleEngine();
  if (!engine) return false;
  const { m, k, n } = args;
  const batch = aOffsets.length;
  const mn = m * n;
  if (batch === 0 || mn === 0) return true;
  if (k === 0) {
    c.fill(0, cOff, cOff + batch * mn);
    return true;
  }
  const staged = stage(engine.ex.memory, engine.free, a, aOffsets, b, bOffsets, args);
  if (!staged) return false;
  runItems(engine.ex.gemm64, 8, staged.heap32, staged.job, 0, n, engine.scratch);
  c.set(new Float64Array(engine.ex.memory.buffer, staged.job.cAt, batch * mn), cOff);
  return true;
}

/** C[cOff .. cOff + m*n) = op(A) @ op(B): `gemm` of ../gemm.ts for float32, on the SIMD kernel. */
export function gemmSimd(
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, c: Float32Array, cOff: number, args: GemmArgs,
): void {
  gemmSimdBatch(a, [aOff], b, [bOff], c, cOff, args);
}
