/**
 * Float32 elementwise ops and reductions on the WebAssembly SIMD kernels of wasm/elementwise.ts:
 * the unary maps whose float32 result is the TypeScript kernel's bit for bit (see UNARY_KERNELS),
 * every binary op but pow with broadcasting, select, and reduce sum/max/min over any axes.
 * Each function returns false, writing nothing, for a case it does not run (an op it lacks,
 * WebAssembly SIMD missing, a size beyond MAX_BYTES of wasm memory or below the break-even,
 * a broadcast of rank > maxRank()); `minElements` (default MIN_ELEMENTS; tests pass 0 to run
 * the kernels on tiny cases) is the break-even. The caller then runs the TypeScript kernel of ../cpu, whose
 * bits it gives (sum: see below).
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
import { instantiateSimd } from "../cpu/simd/instantiate.js";
import { coalesce } from "../cpu/elementwise.js";
import { ELEMENTWISE_WASM_BASE64 } from "./elementwise-wasm.generated.js";

/** Unary ops with a kernel of their own (powScalar with exponent 2 runs `square`). */
const UNARY_KERNELS = [
  "neg", "abs", "sign", "relu", "step", "square", "sqrt", "reciprocal", "leakyRelu", "clamp", "floor", "ceil", "nonFinite",
] as const satisfies readonly UnaryOp[];
type UnaryKernel = (typeof UNARY_KERNELS)[number];
const BINARY_KERNELS = [
  "add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
] as const satisfies readonly BinaryOp[];
type BinaryKernel = (typeof BINARY_KERNELS)[number];

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
  [K in UnaryKernel as `unary_${K}`]: (x: number, out: number, n: number, p0: number, p1: number) => void;
} & {
  [K in BinaryKernel as `binary_${K}`]: (out: number, a: number, b: number, rank: number) => void;
};

const PAGE = 65536;
const MAX_BYTES = 2 ** 31;
/**
 * Below this many output elements the TypeScript kernel runs: the fixed cost of a call (module
 * call, copies, views) outweighs the SIMD loop. Measured break-even on this machine: see the
 * report of issue 11 (unary and binary ~16-32 elements, reductions ~32).
 */
const MIN_ELEMENTS = 32;

const unarySet: ReadonlySet<string> = new Set(UNARY_KERNELS);
const binarySet: ReadonlySet<string> = new Set(BINARY_KERNELS);
const isUnaryKernel = (op: string): op is UnaryKernel => unarySet.has(op);
const isBinaryKernel = (op: string): op is BinaryKernel => binarySet.has(op);

let wasm: ElementwiseExports | null | undefined; // undefined: not tried yet; null: unavailable
let f32 = new Float32Array(0);
let i32 = new Int32Array(0);

function load(): ElementwiseExports | null {
  if (wasm === undefined) wasm = instantiateSimd<ElementwiseExports>(ELEMENTWISE_WASM_BASE64);
  return wasm;
}

/** True when the WebAssembly SIMD elementwise kernels can run here. */
export function elementwiseSimdAvailable(): boolean {
  return load() !== null;
}

/** n float32 slots rounded up to a 16-byte multiple. */
const slots = (n: number): number => Math.ceil(n / 4) * 4;

/** Grows the memory to at least `bytes` (false beyond MAX_BYTES) and refreshes the views. */
function reserve(ex: ElementwiseExports, bytes: number): boolean {
  if (bytes > MAX_BYTES) return false;
  const have = ex.memory.buffer.byteLength;
  if (bytes > have) ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  if (f32.buffer !== ex.memory.buffer) {
    f32 = new Float32Array(ex.memory.buffer);
    i32 = new Int32Array(ex.memory.buffer);
  }
  return true;
}

function unaryKernel(op: UnaryOp, params: readonly number[]): UnaryKernel | null {
  if (op === "powScalar") return params[0] === 2 ? "square" : null;
  // NOTE: with a NaN slope, which NaN a NaN input gives depends on the operand order V8 picks.
  if (op === "leakyRelu" && Number.isNaN(params[0])) return null;
  return isUnaryKernel(op) ? op : null;
}

/** out = op(x) elementwise (`unaryInto` of ../cpu/elementwise.ts for float32), or false. */
export function unarySimd(
  op: UnaryOp, x: Float32Array, out: Float32Array, params: readonly number[], minElements = MIN_ELEMENTS,
): boolean {
  const kernel = unaryKernel(op, params);
  const ex = kernel === null ? null : load();
  const n = x.length;
  if (kernel === null || ex === null || n < minElements) return false;
  const at = ex.heapBase() / 4;
  if (!reserve(ex, (at + slots(n)) * 4)) return false;
  f32.set(x, at);
  ex[`unary_${kernel}`](at * 4, at * 4, n, params[0] ?? 0, params[1] ?? 0);
  out.set(f32.subarray(at, at + n));
  return true;
}

/**
 * Writes the coalesced walk into the meta block; its rank, or -1 when the meta block cannot hold
 * it. Runs after `reserve`, which keeps the views current.
 */
function writeWalk(ex: ElementwiseExports, info: BroadcastInfo): number {
  const { outShape, strides } = coalesce(info);
  const rank = outShape.length;
  if (rank > ex.maxRank()) return -1;
  i32.set(outShape, ex.shapeAt() / 4);
  strides.forEach((s, j) => i32.set(s, ex.stridesAt(j) / 4));
  return rank;
}

/** out = op(a, b) broadcast as info says (`binaryInto` of ../cpu/elementwise.ts), or false. */
export function binarySimd(
  op: BinaryOp, a: Float32Array, b: Float32Array, info: BroadcastInfo, out: Float32Array, minElements = MIN_ELEMENTS,
): boolean {
  const ex = isBinaryKernel(op) ? load() : null;
  const n = out.length;
  if (ex === null || !isBinaryKernel(op) || n < minElements) return false;
  const aAt = ex.heapBase() / 4, bAt = aAt + slots(a.length), oAt = bAt + slots(b.length);
  if (!reserve(ex, (oAt + n) * 4)) return false;
  const rank = writeWalk(ex, info);
  if (rank < 0) return false;
  f32.set(a, aAt);
  f32.set(b, bAt);
  ex[`binary_${op}`](oAt * 4, aAt * 4, bAt * 4, rank);
  out.set(f32.subarray(oAt, oAt + n));
  return true;
}

/** out = cond != 0 ? a : b broadcast as info says (`selectInto` of ../cpu/elementwise.ts), or false. */
export function selectSimd(
  cond: Float32Array, a: Float32Array, b: Float32Array, info: BroadcastInfo, out: Float32Array, minElements = MIN_ELEMENTS,
): boolean {
  const ex = load();
  const n = out.length;
  if (ex === null || n < minElements) return false;
  const cAt = ex.heapBase() / 4, aAt = cAt + slots(cond.length), bAt = aAt + slots(a.length), oAt = bAt + slots(b.length);
  if (!reserve(ex, (oAt + n) * 4)) return false;
  const rank = writeWalk(ex, info);
  if (rank < 0) return false;
  f32.set(cond, cAt);
  f32.set(a, aAt);
  f32.set(b, bAt);
  ex.select_where(oAt * 4, cAt * 4, aAt * 4, bAt * 4, rank);
  out.set(f32.subarray(oAt, oAt + n));
  return true;
}

interface Group {
  size: number;
  reduced: boolean;
}

/** The dims as alternating kept and reduced groups, size-1 dims dropped. */
function groupsOf(shape: readonly number[], axes: readonly number[]): Group[] {
  const groups: Group[] = [];
  shape.forEach((size, d) => {
    if (size === 1) return;
    const reduced = axes.includes(d);
    const last = groups[groups.length - 1];
    if (last?.reduced === reduced) last.size *= size;
    else groups.push({ size, reduced });
  });
  return groups;
}

const product = (gs: readonly Group[]): number => gs.reduce((p, g) => p * g.size, 1);

/** Index of the innermost reduced group, -1 when none is left. */
function innermostReduced(groups: readonly Group[]): number {
  for (let g = groups.length - 1; g >= 0; g--) if (groups[g]!.reduced) return g;
  return -1;
}

/**
 * out = op of x over `axes` (`reduceInto` of ../cpu/reduce.ts for float32; sum may differ in
 * the last bit), or false. x is contiguous with `shape`; axes are sorted and unique.
 */
export function reduceSimd(
  op: ReduceOp, x: Float32Array, shape: readonly number[], axes: readonly number[], out: Float32Array, minElements = MIN_ELEMENTS,
): boolean {
  const ex = load();
  // an empty x (a reduced dim of size 0) fills the output: left to the TypeScript kernel
  if (ex === null || x.length === 0 || x.length < minElements) return false;
  let groups = groupsOf(shape, axes);
  // reducing only size-1 axes is one stage [n, 1, 1] (sum turns -0 into 0 as 0 + -0 does)
  if (innermostReduced(groups) < 0) groups = [{ size: x.length, reduced: false }, { size: 1, reduced: true }];
  const last = innermostReduced(groups);
  const sum = op === "sum";
  const xAt = ex.heapBase() / 4;
  const tAt = xAt + slots(x.length);
  // stage 1 writes x.length / R1 values (float64 for sum) into [t]; later stages fit in [x] or [t]
  const tSlots = slots((x.length / groups[last]!.size) * (sum ? 2 : 1));
  if (!reserve(ex, (tAt + tSlots) * 4)) return false;
  f32.set(x, xAt);
  let src = xAt, dst = tAt, srcF64 = false;
  for (let g = last; g >= 0; g = innermostReduced(groups)) {
    const outer = groups.slice(0, g);
    const A = product(outer), R = groups[g]!.size, I = product(groups.slice(g + 1));
    const final = !outer.some((k) => k.reduced);
    const dstF64 = sum && !final;
    if (sum) ex.reduce_sum(src * 4, dst * 4, A, R, I, srcF64 ? 1 : 0, dstF64 ? 1 : 0);
    else if (op === "max") ex.reduce_max(src * 4, dst * 4, A, R, I);
    else ex.reduce_min(src * 4, dst * 4, A, R, I);
    groups = groupsOf([...outer.map((k) => k.size), I], outer.flatMap((k, d) => (k.reduced ? [d] : [])));
    [src, dst, srcF64] = [dst, src, dstF64];
  }
  out.set(f32.subarray(src, src + out.length));
  return true;
}
