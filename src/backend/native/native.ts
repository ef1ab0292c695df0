/**
 * The `native` backend: the `wasm` backend with its float32 matrix products on descent's own
 * native kernel (native/sgemm.c: AVX2 + FMA, 6x16 tiles, its own thread pool), a Node-API addon
 * that `npm ci` builds where a C compiler and Node's headers exist (scripts/build-native.mjs).
 * WebAssembly's 128-bit SIMD tops out near 16 flops a cycle; the addon's 256-bit fused
 * multiply-adds reach twice that and more, which is what a matrix product needs to keep pace with
 * PyTorch's OpenBLAS.
 *
 * What runs natively: every float32 `matmul` (read and written in the tensors' own arrays, no
 * staging copy; for linear, with its bias added as each block of sums is finished: matmulBias),
 * the fused optimizer update (native/update.c, in place in the parameter, gradient and slot
 * arrays), and the float32 convolution and its gradients (native/conv.c, in the tensors' arrays,
 * threads over the batch), and the float32 elementwise maps, broadcasting binaries, max-pool
 * argmax (the maxima gathered in the same pass), gather and scatter-add (native/elementwise.c)
 * and float32 sums (native/reduce.c), the kernel table of nativeKernels. A strided convolution's
 * forward runs the wasm backend's fused convolution (src/backend/wasm/conv-simd.ts), whose
 * products the engine here hands to the addon over the WebAssembly module's memory. Everything
 * else (max and min, exp and log, strided copies, ...) is the wasm backend's.
 *
 * Bits: the addon sums each element in the order of the relaxed-SIMD WebAssembly kernel (KC blocks
 * of 256, one fused multiply-add per step), so a product equals that build's bits, and 1 and 2
 * threads give the same bits (test/backend/native.test.ts).
 *
 * Node only, and only where the addon was built and the CPU has AVX2 and FMA: `nativeAddon()` is
 * null elsewhere (a browser, an ARM machine, a machine without a compiler at install, or
 * DESCENT_NATIVE=0 in the environment), and the registry falls back to `wasm`.
 */
import type { BinaryOp, DataId, MatmulInfo, UnaryOp, WindowInfo } from "../backend.js";
import { stageSlots, type UpdateStage } from "../update.js";
import type { DType } from "../../tensor/dtype.js";
import { singleEngine, type GemmEngine, type GemmJob } from "../cpu/simd/gemm-simd.js";
import { simdStage } from "../cpu/simd/update-simd.js";
import type { CpuBackendOptions, CpuKernels } from "../cpu/cpu.js";
import { coalesce } from "../cpu/elementwise.js";
import { MIN_SIZES, reducePlan } from "../wasm/elementwise-simd.js";
import { windowArgs } from "../wasm/movement-simd.js";
import { f32, WASM_KERNELS, WasmBackend, words } from "../wasm/wasm.js";

/** The addon's exports (native/sgemm.c). */
export interface NativeAddon {
  /** whether this CPU runs the kernel (AVX2 and FMA) */
  available(): boolean;
  /**
   * For each t: C[cOffset + t·m·ldc ..] (row stride ldc) = op(A at aOffsets[t]) @ op(B at
   * bOffsets[t]), m x k by k x n; offsets in elements; throws a RangeError for any out-of-range access.
   */
  sgemm(
    a: Float32Array, aOffsets: Int32Array, b: Float32Array, bOffsets: Int32Array, c: Float32Array,
    cOffset: number, ldc: number, m: number, k: number, n: number, transA: number, transB: number, threads: number,
    bias?: Float32Array, // undefined: none
  ): void;
  /**
   * out [N, outC, outH·outW] = the convolution of x [N, C, H, W] by w [outC, C, kh, kw] over
   * `geometry` (windowArgs), plus bias [outC] per channel when given, for stride 1
   * (native/conv.c); false, writing nothing, for other strides.
   */
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, geometry: Int32Array, outC: number, threads: number, bias?: Float32Array | null): boolean;
  /** The gradients of conv2d for dy, each overwritten whole where not null. */
  conv2dBackward(
    x: Float32Array, w: Float32Array, dy: Float32Array, dx: Float32Array | null, dw: Float32Array | null,
    geometry: Int32Array, outC: number, threads: number,
  ): void;
  /**
   * out[i] = op(x[i]) (native/elementwise.c); `op` indexes UNARY_OPS; false for an op it lacks. This
   * and the two below split large arrays over `threads` (default 1), with the same bits.
   */
  unary(op: number, x: Float32Array, out: Float32Array, threads?: number): boolean;
  /** out = a op b over a coalesced broadcast (`strides`: a's per dim, then b's); `op` indexes BINARY_OPS. */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array, strides: Int32Array, threads?: number): boolean;
  /** with `values` (not undefined), also each window's maximum (x at its index, as words), gathered per plane while it is in cache */
  maxPoolIndices(x: Float32Array, out: Int32Array, geometry: Int32Array, threads?: number, values?: Float32Array): void;
  /**
   * out = the sum of x over the reduced groups of `plan` ([size, reduced, ...] pairs from
   * reducePlan), in the WebAssembly reduce_sum's float64 order (native/reduce.c): its bits.
   */
  sum(x: Float32Array, out: Float32Array, plan: Int32Array, threads: number): void;
  take(x: Float32Array | Int32Array, indices: Int32Array, out: Float32Array | Int32Array): void;
  scatterAdd(x: Float32Array, indices: Int32Array, out: Float32Array): void;
  /**
   * The fused optimizer update (native/update.c): out = grad run through the program `stages`
   * (numbers of STAGE), each stage's arrays after u listed in order in `arrays` and its constants
   * in `constants`; slots are updated in place.
   */
  update(stages: Int32Array, arrays: readonly (Float32Array | null)[], constants: Float64Array, grad: Float32Array, out: Float32Array): void;
}

/** The ops of native/elementwise.c, in its numbering. */
export const UNARY_OPS: readonly UnaryOp[] = ["neg", "abs", "relu", "step", "square", "sqrt", "reciprocal"];
export const BINARY_OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "reluGrad"];
/** Below this many elements a call into the addon costs more than the kernel it saves. */
const MIN_NATIVE = 256;

/**
 * The wasm backend's kernel table with the addon's elementwise maps, broadcasting binaries,
 * max-pool argmax (the maxima gathered in the same pass), gather and scatter-add
 * (native/elementwise.c) and float32 sums (native/reduce.c), which work in the arrays themselves;
 * each falls back to the WebAssembly kernel (and so the TypeScript one) for what it declines:
 * another dtype, an op it lacks, a small array, a broadcast of rank above 8.
 */
function nativeKernels(native: NativeAddon, threads: number): CpuKernels {
  return {
    ...WASM_KERNELS,
    unary: (op, x, out, params) => {
      const k = UNARY_OPS.indexOf(op);
      if (!(k >= 0 && f32(x) && f32(out) && out.length >= MIN_NATIVE && native.unary(k, x, out, threads))) WASM_KERNELS.unary(op, x, out, params);
    },
    binary: (op, a, b, info, out) => {
      const k = BINARY_OPS.indexOf(op);
      if (k >= 0 && f32(a) && f32(b) && f32(out) && out.length >= MIN_NATIVE) {
        const { outShape, strides } = coalesce(info);
        if (native.binary(k, a, b, out, Int32Array.from(outShape), Int32Array.from([...strides[0]!, ...strides[1]!]), threads)) return;
      }
      WASM_KERNELS.binary(op, a, b, info, out);
    },
    maxPoolIndices: (x, g, out, values) => {
      const geometry = windowArgs(g);
      if (f32(x) && geometry && (!values || f32(values))) native.maxPoolIndices(x, out, Int32Array.from(geometry), threads, values);
      else WASM_KERNELS.maxPoolIndices(x, g, out, values);
    },
    reduce: (op, x, shape, axes, out) => {
      // where the WebAssembly sum would run (its size floor), the same sum in place
      if (op === "sum" && f32(x) && f32(out) && x.length >= Math.max(MIN_NATIVE, MIN_SIZES.reduce)) {
        native.sum(x, out, Int32Array.from(reducePlan(shape, axes).flatMap((g) => [g.size, g.reduced ? 1 : 0])), threads);
      } else WASM_KERNELS.reduce(op, x, shape, axes, out);
    },
    take: (x, indices, out) => {
      if (words(x) && words(out) && x.constructor === out.constructor && indices.length >= MIN_NATIVE) native.take(x, indices, out);
      else WASM_KERNELS.take(x, indices, out);
    },
    scatterAdd: (x, indices, out) => {
      if (f32(x) && f32(out) && indices.length >= MIN_NATIVE) native.scatterAdd(x, indices, out);
      else WASM_KERNELS.scatterAdd(x, indices, out);
    },
  };
}

/** The stage numbers of native/update.c. */
const STAGE = { scale: 0, weightDecay: 1, adam: 2, momentum: 3, adagrad: 4, rms: 5, apply: 6 } as const;

/**
 * out = θ + u for the program `stages` (src/backend/update.ts) in one call to the addon: u starts as
 * a copy of the gradient in `out`, each stage rewrites it and its slots in place, and a last
 * `scale` folds into the final add, as the WebAssembly update does (the same bits). Every stage
 * must be one the addon runs (simdStage), which the caller checks first.
 */
function applyUpdateNative(
  native: NativeAddon, stages: readonly UpdateStage[], theta: Float32Array, grad: Float32Array, slots: readonly Float32Array[], out: Float32Array,
): void {
  const last = stages[stages.length - 1];
  const folded = last?.op === "scale" ? last.factor : null;
  const codes: number[] = [], arrays: (Float32Array | null)[] = [], constants: number[] = [];
  const add = (stage: number, with_: (Float32Array | null)[], ...values: number[]) => {
    codes.push(stage);
    arrays.push(...with_);
    constants.push(...values);
  };
  let k = 0;
  stages.forEach((s, j) => {
    if (folded !== null && j === stages.length - 1) return;
    switch (s.op) {
      case "scale":
        return add(STAGE.scale, [], s.factor);
      case "weightDecay":
        return add(STAGE.weightDecay, [theta], s.wd);
      case "adam":
        add(STAGE.adam, [slots[k]!, slots[k + 1]!], s.b1, 1 - s.b1, s.b2, 1 - s.b2, s.eps, s.bc1!, s.bc2Sqrt!);
        k += 2;
        return;
      case "momentum":
        add(STAGE.momentum, [slots[k]!], s.mu, 1 - s.dampening, s.dampening === 0 ? 0 : 1, s.nesterov ? 1 : 0, s.first ? 1 : 0);
        k += 1;
        return;
      case "adagrad":
        add(STAGE.adagrad, [slots[k]!], s.eps, s.decay ?? 1, s.decay === null ? 0 : 1);
        k += 1;
        return;
      case "rms": {
        const ga = s.centered ? slots[k + 1]! : null;
        const b = s.momentum > 0 ? slots[k + (s.centered ? 2 : 1)]! : null;
        add(STAGE.rms, [slots[k]!, ga, b], s.alpha, 1 - s.alpha, s.eps, s.momentum, s.centered ? 1 : 0, s.momentum > 0 ? 1 : 0);
        k += stageSlots(s);
        return;
      }
      case "clamp": case "ema":
        throw new Error(`applyUpdateNative: no native stage "${s.op}"`);
      default:
        return s satisfies never;
    }
  });
  add(STAGE.apply, [theta], folded ?? 1, folded === null ? 0 : 1);
  native.update(Int32Array.from(codes), arrays, Float64Array.from(constants), grad, out);
}

type NodeProcess = { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> };
type NodeModule = { createRequire(url: string): (id: string) => unknown };

let addon: NativeAddon | null | undefined; // undefined: not tried yet

/** The loaded addon, or null where it cannot run here (see the file header). Loaded once. */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.env?.DESCENT_NATIVE === "0") return addon;
  const mod = proc?.getBuiltinModule?.("node:module") as NodeModule | undefined;
  if (!mod) return addon;
  try {
    // dist/src/backend/native/native.js or src/backend/native/native.ts -> the package root
    const up = import.meta.url.includes("/dist/src/") ? "../../../../" : "../../../";
    const loaded = mod.createRequire(import.meta.url)(`${up}native/build/descent.node`) as NativeAddon;
    if (loaded.available()) addon = loaded;
  } catch {
    // not built here (no compiler at install): the wasm backend runs instead
  }
  return addon;
}

const NO_OFFSET = new Int32Array([0]);

/**
 * A GEMM engine over the single WebAssembly engine's memory and exports (im2col, col2im, swap01 for
 * the fused convolution), whose products run on the addon with `threads` threads.
 */
function nativeEngine(native: NativeAddon, threads: number): GemmEngine | null {
  const base = singleEngine();
  if (!base) return null;
  let heap = new Float32Array(0), heap32 = new Int32Array(0);
  return {
    ex: base.ex, threads, free: base.free,
    run(job: GemmJob) {
      if (heap.buffer !== base.ex.memory.buffer) {
        heap = new Float32Array(base.ex.memory.buffer);
        heap32 = new Int32Array(base.ex.memory.buffer);
      }
      const aOffsets = new Int32Array(job.batch), bOffsets = new Int32Array(job.batch);
      for (let t = 0; t < job.batch; t++) {
        aOffsets[t] = job.aAt / 4 + heap32[job.offsetsAt / 4 + 2 * t]!;
        bOffsets[t] = job.bAt / 4 + heap32[job.offsetsAt / 4 + 2 * t + 1]!;
      }
      native.sgemm(heap, aOffsets, heap, bOffsets, heap, job.cAt / 4, job.n, job.m, job.k, job.n, job.transA, job.transB, threads);
    },
  };
}

/** The geometry as native/conv.c takes it, or null for what it does not run (empty products, a geometry windowArgs refuses). */
function nativeGeometry(info: WindowInfo, outC: number): Int32Array | null {
  const args = windowArgs(info);
  const K = info.c * info.kh * info.kw;
  if (!args || K === 0 || info.n * info.outH * info.outW === 0 || outC === 0 || info.c === 0) return null;
  return Int32Array.from(args);
}

function int32(offsets: ArrayLike<number>): Int32Array {
  if (offsets.length === 1 && offsets[0] === 0) return NO_OFFSET;
  return offsets instanceof Int32Array ? offsets : Int32Array.from(offsets);
}

export class NativeBackend extends WasmBackend {
  override readonly name: string = "native";

  constructor(private readonly native: NativeAddon, options: Omit<CpuBackendOptions, "simd"> = {}) {
    super(options, (threads) => nativeEngine(native, threads), nativeKernels(native, options.threads ?? 1));
  }

  override matmul(a: DataId, b: DataId, info: MatmulInfo, dtype: DType): DataId {
    return this.product(a, b, null, info, dtype) ?? super.matmul(a, b, info, dtype);
  }

  /** The product with the bias added to each block of sums as the addon finishes it (native/sgemm.c). */
  matmulBias(a: DataId, b: DataId, bias: DataId, info: MatmulInfo, dtype: DType): DataId | null {
    return this.product(a, b, bias, info, dtype);
  }

  /** The addon's float32 product (plus `bias` when given); null for what it does not take (another dtype). */
  private product(a: DataId, b: DataId, bias: DataId | null, info: MatmulInfo, dtype: DType): DataId | null {
    const av = this.view(a), bv = this.view(b), biasv = bias ? this.view(bias) : undefined;
    if (dtype !== "float32" || !f32(av) || !f32(bv) || (biasv && !f32(biasv))) return null;
    const { batch, m, k, n } = info;
    const out = this.alloc(dtype, batch * m * n, false) as Float32Array;
    this.native.sgemm(av, int32(info.aOffsets), bv, int32(info.bOffsets), out, 0, n, m, k, n, info.transA ? 1 : 0, info.transB ? 1 : 0, this.threads, biasv);
    return this.own(out);
  }

  /**
   * The convolution on the addon (native/conv.c: direct for stride 1, in the tensors' arrays);
   * other strides go to the wasm backend's fused convolution.
   */
  override conv2d(x: DataId, weight: DataId, bias: DataId | null, info: WindowInfo, outC: number, dtype: DType): DataId | null {
    const xv = this.view(x), wv = this.view(weight), bv = bias && this.view(bias), geometry = nativeGeometry(info, outC);
    if (dtype !== "float32" || !f32(xv) || !f32(wv) || (bv && !f32(bv)) || !geometry) return super.conv2d(x, weight, bias, info, outC, dtype);
    const out = this.alloc(dtype, info.n * outC * info.outH * info.outW, false) as Float32Array;
    if (this.native.conv2d(xv, wv, out, geometry, outC, this.threads, bv as Float32Array | null)) return this.own(out);
    return super.conv2d(x, weight, bias, info, outC, dtype);
  }

  override conv2dBackward(
    x: DataId, weight: DataId, dy: DataId, info: WindowInfo, outC: number, needX: boolean, needWeight: boolean, dtype: DType,
  ): { dx: DataId | null; dweight: DataId | null } | null {
    const xv = this.view(x), wv = this.view(weight), dyv = this.view(dy), geometry = nativeGeometry(info, outC);
    if (dtype !== "float32" || !f32(xv) || !f32(wv) || !f32(dyv) || !geometry) {
      return super.conv2dBackward(x, weight, dy, info, outC, needX, needWeight, dtype);
    }
    const dx = needX ? (this.alloc(dtype, info.n * info.c * info.h * info.w, false) as Float32Array) : null;
    const dw = needWeight ? (this.alloc(dtype, outC * info.c * info.kh * info.kw, false) as Float32Array) : null;
    this.native.conv2dBackward(xv, wv, dyv, dx, dw, geometry, outC, this.threads);
    return { dx: dx && this.own(dx), dweight: dw && this.own(dw) };
  }

  /** A plain copy: the addon updates slots in place wherever they are, so none need the WebAssembly update's memory. */
  override updateSlot(x: DataId, size: number, dtype: DType): DataId {
    return this.strided(x, [size], [1], 0, dtype);
  }

  override applyUpdate(stages: readonly UpdateStage[], param: DataId, grad: DataId, slots: readonly DataId[], size: number, dtype: DType): DataId {
    const p = this.view(param), g = this.view(grad), ss = slots.map((id) => this.view(id));
    const sized = (x: unknown): x is Float32Array => x instanceof Float32Array && x.length >= size;
    if (dtype === "float32" && stages.every(simdStage) && sized(p) && sized(g) && ss.every(sized)) {
      const out = this.alloc(dtype, size, false) as Float32Array;
      const fit = (x: Float32Array) => (x.length === size ? x : x.subarray(0, size));
      applyUpdateNative(this.native, stages, fit(p), fit(g), ss.map(fit), out);
      return this.own(out);
    }
    return super.applyUpdate(stages, param, grad, slots, size, dtype);
  }
}
