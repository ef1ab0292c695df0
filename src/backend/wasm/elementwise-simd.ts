/**
 * Float32 elementwise ops and reductions on the WebAssembly SIMD kernels of wasm/elementwise.ts:
 * the unary maps whose float32 result is the TypeScript kernel's bit for bit (see UNARY_KERNELS),
 * every binary op but pow with broadcasting, select, and reduce sum/max/min over any axes.
 * Each function returns false, writing nothing, for a case it does not run: an op it lacks,
 * WebAssembly SIMD missing, a size beyond MAX_WASM_BYTES of wasm memory or below `minElements` (by
 * default the measured break-even of MIN_SIZES; tests pass 0 to run the kernels on tiny cases),
 * a broadcast of rank > maxRank() after coalescing. The caller then runs the TypeScript kernel of
 * ../cpu, whose bits these give (sum: see below).
 *
 * Memory: this file owns the module's memory from its heap base, laid out per call as
 * binary [a][b][out], select [cond][a][b][out], unary [x] (the kernel writes over x) and reduce
 * [x][t], each region rounded up to 16 bytes, grown on demand and never shrunk, so steady state
 * allocates nothing. A call copies its operands in (TypedArray.set, memcpy speed), runs the kernel
 * and copies the result out: O(n) copies around an O(n) kernel that runs four lanes a step
 * without the mispredicted branches of the TypeScript loops.
 *
 * Broadcasting: the BroadcastInfo is coalesced here (`coalesce` of ../cpu/elementwise.ts, so a
 * bias [1, C, 1, 1] over [N, C, H, W] walks rows of H·W) and its shape and strides written into
 * the module's meta block; the odometer runs in wasm.
 *
 * Reductions never transpose: the shape is viewed as alternating kept and reduced groups (size-1
 * dims dropped, neighbours of one kind merged), and the innermost reduced group is reduced first,
 * [A, R, I] -> [A, I] with I the product of the kept dims inside it, until none is left; the
 * stages ping-pong between [x] and [t]. max/min give the TypeScript bits (first NaN, first of
 * tied zeros). sum accumulates in float64 and hands float64 partial sums between stages: it is
 * deterministic, as accurate as the TypeScript kernel's sequential float64 sum, and may differ
 * from it in the last float32 bit.
 */
import type { BinaryOp, BroadcastInfo, ReduceOp, UnaryOp } from "../backend.js";
import { growMemory, instantiateSimd } from "../cpu/simd/instantiate.js";
import { coalesce } from "../cpu/elementwise.js";
import { ELEMENTWISE_WASM_BASE64 } from "./elementwise-wasm.generated.js";

/** Unary ops with a kernel of their own (powScalar with exponent 2 runs `square`). */
const UNARY_KERNELS = [
  "neg", "abs", "sign", "relu", "step", "square", "sqrt", "reciprocal", "leakyRelu", "clamp", "floor", "ceil", "nonFinite",
] as const satisfies readonly UnaryOp[];
type UnaryKernel = (typeof UNARY_KERNELS)[number];
const BINARY_KERNELS = [
  "add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "reluGrad",
] as const satisfies readonly BinaryOp[];
type BinaryKernel = (typeof BINARY_KERNELS)[number];

type UnaryFn = (x: number, out: number, n: number, p0: number, p1: number) => void;
type BinaryFn = (out: number, a: number, b: number, rank: number) => void;
type ElementwiseExports = {
  memory: WebAssembly.Memory;
  heapBase(): number;
  maxRank(): number;
  shapeAt(): number;
  stridesAt(j: number): number;
  select_where(out: number, cond: number, a: number, b: number, rank: number): void;
  reduce_sum(src: number, dst: number, A: number, R: number, I: number, srcF64: number, dstF64: number): void;
  reduce_max(src: number, dst: number, A: number, R: number, I: number): void;
  reduce_min(src: number, dst: number, A: number, R: number, I: number): void;
} & {
  [K in UnaryKernel as `unary_${K}`]: UnaryFn;
} & {
  [K in BinaryKernel as `binary_${K}`]: BinaryFn;
};

/**
 * Below these sizes (output elements; input elements for reductions) the TypeScript kernel runs:
 * the fixed cost of a call (views, copies, the module call: ~60 ns unary, ~170 ns binary with its
 * coalescing, ~180 ns reduce) outweighs the SIMD loop. Break-evens measured on the shared 2-core
 * machine of issue 11 (Node 20, median of 21 runs of 5,000 calls, fresh process each): relu at
 * ~64, add (row broadcast) at ~16-32, sum over the last axis at ~128.
 */
export const MIN_SIZES = { unary: 64, broadcast: 32, reduce: 128 } as const;

const unarySet: ReadonlySet<string> = new Set(UNARY_KERNELS);
const binarySet: ReadonlySet<string> = new Set(BINARY_KERNELS);
const isUnaryKernel = (op: string): op is UnaryKernel => unarySet.has(op);
const isBinaryKernel = (op: string): op is BinaryKernel => binarySet.has(op);

/** The instance with its addresses and views, looked up once: a call's fixed cost is what small sizes pay. */
interface Module {
  readonly ex: ElementwiseExports;
  /** first free float32 slot */
  readonly base: number;
  readonly shapeAt: number;
  readonly stridesAt: readonly number[];
  readonly maxRank: number;
  readonly unary: ReadonlyMap<UnaryKernel, UnaryFn>;
  readonly binary: ReadonlyMap<BinaryKernel, BinaryFn>;
  /** bytes of memory; only this file grows it */
  capacity: number;
  f32: Float32Array;
  i32: Int32Array;
}

let loaded: Module | null | undefined; // undefined: not tried yet; null: unavailable

function load(): Module | null {
  if (loaded !== undefined) return loaded;
  const ex = instantiateSimd<ElementwiseExports>(ELEMENTWISE_WASM_BASE64);
  loaded = ex && {
    ex, base: ex.heapBase() / 4, shapeAt: ex.shapeAt() / 4, stridesAt: [0, 1, 2].map((j) => ex.stridesAt(j) / 4),
    maxRank: ex.maxRank(),
    unary: new Map(UNARY_KERNELS.map((k) => [k, ex[`unary_${k}`]])),
    binary: new Map(BINARY_KERNELS.map((k) => [k, ex[`binary_${k}`]])),
    capacity: ex.memory.buffer.byteLength,
    f32: new Float32Array(ex.memory.buffer), i32: new Int32Array(ex.memory.buffer),
  };
  return loaded;
}

/** True when the WebAssembly SIMD elementwise kernels can run here. */
export function elementwiseSimdAvailable(): boolean {
  return load() !== null;
}

/** n float32 slots rounded up to a 16-byte multiple. */
const slots = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * Grows the memory to at least `end` float32 slots and refreshes the views; false beyond
 * MAX_WASM_BYTES or when the engine refuses to grow it.
 */
function reserve(m: Module, end: number): boolean {
  const bytes = end * 4;
  if (bytes > m.capacity) {
    if (!growMemory(m.ex.memory, bytes)) return false;
    m.capacity = m.ex.memory.buffer.byteLength;
    m.f32 = new Float32Array(m.ex.memory.buffer);
    m.i32 = new Int32Array(m.ex.memory.buffer);
  }
  return true;
}

/** out = memory[at .. at + out.length). */
function copyOut(m: Module, at: number, out: Float32Array): void {
  out.set(m.f32.subarray(at, at + out.length));
}

function unaryKernel(op: UnaryOp, params: readonly number[]): UnaryKernel | null {
  if (op === "powScalar") return params[0] === 2 ? "square" : null;
  // NOTE: with a NaN slope, which NaN a NaN input gives depends on the operand order V8 picks.
  if (op === "leakyRelu" && Number.isNaN(params[0])) return null;
  return isUnaryKernel(op) ? op : null;
}

/** out = op(x) elementwise (`unaryInto` of ../cpu/elementwise.ts for float32), or false. */
export function unarySimd(
  op: UnaryOp, x: Float32Array, out: Float32Array, params: readonly number[],
  minElements: number = MIN_SIZES.unary,
): boolean {
  const kernel = unaryKernel(op, params);
  const m = kernel === null ? null : load();
  const n = x.length;
  if (kernel === null || m === null || n < minElements) return false;
  const at = m.base;
  if (!reserve(m, at + slots(n))) return false;
  m.f32.set(x, at);
  m.unary.get(kernel)!(at * 4, at * 4, n, params[0] ?? 0, params[1] ?? 0);
  copyOut(m, at, out);
  return true;
}

/**
 * Writes the coalesced walk into the meta block; its rank, or -1 when the meta block cannot hold
 * it. Runs after `reserve`, which keeps the views current.
 */
function writeWalk(m: Module, info: BroadcastInfo): number {
  const { outShape, strides } = coalesce(info);
  const rank = outShape.length;
  if (rank > m.maxRank) return -1;
  const i32 = m.i32;
  for (let d = 0; d < rank; d++) i32[m.shapeAt + d] = outShape[d]!;
  for (let j = 0; j < strides.length; j++) {
    const s = strides[j]!, at = m.stridesAt[j]!;
    for (let d = 0; d < rank; d++) i32[at + d] = s[d]!;
  }
  return rank;
}

/** out = op(a, b) broadcast as info says (`binaryInto` of ../cpu/elementwise.ts), or false. */
export function binarySimd(
  op: BinaryOp, a: Float32Array, b: Float32Array, info: BroadcastInfo, out: Float32Array,
  minElements: number = MIN_SIZES.broadcast,
): boolean {
  const m = isBinaryKernel(op) ? load() : null;
  const n = out.length;
  if (m === null || !isBinaryKernel(op) || n < minElements) return false;
  const aAt = m.base, bAt = aAt + slots(a.length), oAt = bAt + slots(b.length);
  if (!reserve(m, oAt + n)) return false;
  const rank = writeWalk(m, info);
  if (rank < 0) return false;
  m.f32.set(a, aAt);
  m.f32.set(b, bAt);
  m.binary.get(op)!(oAt * 4, aAt * 4, bAt * 4, rank);
  copyOut(m, oAt, out);
  return true;
}

/** out = cond != 0 ? a : b broadcast as info says (`selectInto` of ../cpu/elementwise.ts), or false. */
export function selectSimd(
  cond: Float32Array, a: Float32Array, b: Float32Array, info: BroadcastInfo, out: Float32Array,
  minElements: number = MIN_SIZES.broadcast,
): boolean {
  const m = load();
  const n = out.length;
  if (m === null || n < minElements) return false;
  const cAt = m.base, aAt = cAt + slots(cond.length), bAt = aAt + slots(a.length), oAt = bAt + slots(b.length);
  if (!reserve(m, oAt + n)) return false;
  const rank = writeWalk(m, info);
  if (rank < 0) return false;
  m.f32.set(cond, cAt);
  m.f32.set(a, aAt);
  m.f32.set(b, bAt);
  m.ex.select_where(oAt * 4, cAt * 4, aAt * 4, bAt * 4, rank);
  copyOut(m, oAt, out);
  return true;
}

export interface Group {
  size: number;
  reduced: boolean;
}

/** The dims as alternating kept and reduced groups, size-1 dims dropped. */
function groupsOf(shape: readonly number[], axes: readonly number[]): Group[] {
  const groups: Group[] = [];
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const reduced = axes.includes(d);
    const last = groups[groups.length - 1];
    if (last?.reduced === reduced) last.size *= size;
    else groups.push({ size, reduced });
  }
  return groups;
}

/** Index of the innermost reduced group, -1 when none is left. */
function innermostReduced(groups: readonly Group[]): number {
  for (let g = groups.length - 1; g >= 0; g--) if (groups[g]!.reduced) return g;
  return -1;
}

/**
 * The groups a reduction runs over in stages, from outermost in: shape's dimensions of size
 * above 1 merged into runs that are all reduced or all kept, and at least one reduced group
 * (reducing only size-1 axes is one stage [n, 1, 1]; sum turns -0 into 0 as 0 + -0 does). The
 * native sum (native/reduce.c) runs the same plan.
 */
export function reducePlan(shape: readonly number[], axes: readonly number[]): Group[] {
  const groups = groupsOf(shape, axes);
  if (innermostReduced(groups) < 0) groups.push({ size: 1, reduced: true });
  return groups;
}

/**
 * out = op of x over `axes` (`reduceInto` of ../cpu/reduce.ts for float32; sum may differ in
 * the last bit), or false. x is contiguous with `shape`; axes are sorted and unique.
 */
export function reduceSimd(
  op: ReduceOp, x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array,
  minElements: number = MIN_SIZES.reduce,
): boolean {
  const m = load();
  // an empty x (a reduced dim of size 0) fills the output: left to the TypeScript kernel
  if (m === null || x.length === 0 || x.length < minElements) return false;
  const groups = reducePlan(shape, axes);
  let g = innermostReduced(groups);
  const sum = op === "sum";
  const xAt = m.base, tAt = xAt + slots(x.length);
  // stage 1 writes x.length / R1 values (float64 for sum) into [t]; later stages fit in [x] or [t]
  if (!reserve(m, tAt + slots((x.length / groups[g]!.size) * (sum ? 2 : 1)))) return false;
  m.f32.set(x, xAt);
  let src = xAt, dst = tAt, srcF64 = false;
  for (; g >= 0; g = innermostReduced(groups)) {
    let A = 1, final = true;
    for (let k = 0; k < g; k++) {
      A *= groups[k]!.size;
      if (groups[k]!.reduced) final = false;
    }
    // groups alternate, so at most one kept group follows the innermost reduced one
    const R = groups[g]!.size, I = groups[g + 1]?.size ?? 1;
    const dstF64 = sum && !final;
    if (sum) m.ex.reduce_sum(src * 4, dst * 4, A, R, I, srcF64 ? 1 : 0, dstF64 ? 1 : 0);
    else if (op === "max") m.ex.reduce_max(src * 4, dst * 4, A, R, I);
    else m.ex.reduce_min(src * 4, dst * 4, A, R, I);
    // [.., R, I] -> [.., I], I merged into the kept group before R
    groups.length = g;
    const before = groups[g - 1];
    if (before !== undefined && !before.reduced) before.size *= I;
    else if (I > 1) groups.push({ size: I, reduced: false });
    [src, dst, srcF64] = [dst, src, dstF64];
  }
  copyOut(m, src, out);
  return true;
}
