/**
 * Float32 matrix products on the WebAssembly SIMD kernel of wasm/gemm.ts (AssemblyScript, a 4x8
 * f32x4 micro-kernel in the GotoBLAS loop nest; packing happens inside wasm too).
 *
 * The module is embedded as base64 (gemm-wasm.generated.ts, written by scripts/build-wasm.mjs) and
 * instantiated synchronously, once, on first use. It has no imports and no allocator: this file
 * owns its memory, laid out from the module's heap base as
 *   [kernel scratch: packed A block, packed B block, edge tile] [A] [B] [C],
 * grown on demand and never shrunk, so steady state allocates nothing. A call copies the range of
 * A and of B its products read into the wasm memory (memcpy speed), runs one wasm `gemm` per batch
 * item writing C there, and copies all of C out with one `set`: nothing outside C is written.
 * The copies are O(size) beside the O(m k n) product.
 *
 * Where WebAssembly SIMD is missing (the module fails to validate) or a product would need more
 * than MAX_BYTES of wasm memory, the TypeScript kernel of ../gemm.ts runs instead.
 */
import { gemm, type GemmArgs } from "../gemm.js";
import { GEMM_WASM_BASE64 } from "./gemm-wasm.generated.js";
import { instantiateSimd } from "./instantiate.js";

interface GemmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(): number;
  gemm(a: number, b: number, c: number, m: number, k: number, n: number, transA: number, transB: number, scratch: number): void;
}

const PAGE = 65536;
const MAX_BYTES = 2 ** 31;

let wasm: GemmExports | null | undefined; // undefined: not tried yet; null: unavailable
let heap = new Float32Array(0); // view of wasm.memory.buffer, renewed after growth
let scratch = 0; // byte address of the kernel scratch
let free = 0; // first byte after the scratch: A, B and C go here

function load(): GemmExports | null {
  if (wasm !== undefined) return wasm;
  wasm = instantiateSimd<GemmExports>(GEMM_WASM_BASE64);
  if (wasm) {
    scratch = wasm.heapBase();
    free = scratch + wasm.scratchBytes();
  }
  return wasm;
}

/** True when the WebAssembly SIMD kernel can run here. */
export function simdAvailable(): boolean {
  return load() !== null;
}

/** Makes the wasm memory at least `bytes` long; returns the float32 view of it. */
function reserve(ex: GemmExports, bytes: number): Float32Array {
  const have = ex.memory.buffer.byteLength;
  if (bytes > have) ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  if (heap.buffer !== ex.memory.buffer) heap = new Float32Array(ex.memory.buffer);
  return heap;
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

/**
 * For t < aOffsets.length: C[cOff + t*m*n ..) = op(A at aOffsets[t]) @ op(B at bOffsets[t]), the
 * contract of `gemm` in ../gemm.ts per batch item.
 */
export function gemmSimdBatch(
  a: Float32Array, aOffsets: ArrayLike<number>, b: Float32Array, bOffsets: ArrayLike<number>,
  c: Float32Array, cOff: number, args: GemmArgs,
): void {
  const { m, k, n, transA, transB } = args;
  const batch = aOffsets.length;
  const mn = m * n;
  if (batch === 0 || mn === 0) return;
  if (k === 0) {
    c.fill(0, cOff, cOff + batch * mn);
    return;
  }
  const ex = load();
  const [aLo, aHi] = minMax(aOffsets);
  const [bLo, bHi] = minMax(bOffsets);
  const aLen = aHi - aLo + m * k, bLen = bHi - bLo + k * n, cLen = batch * mn;
  // float32 slots after `free`, each region 16-byte aligned
  const al = (x: number): number => Math.ceil(x / 4) * 4;
  const aAt = free / 4, bAt = aAt + al(aLen), cAt = bAt + al(bLen);
  const bytes = (cAt + cLen) * 4;
  if (ex === null || bytes > MAX_BYTES) {
    for (let t = 0; t < batch; t++) gemm(a, aOffsets[t]!, b, bOffsets[t]!, c, cOff + t * mn, args);
    return;
  }
  const h = reserve(ex, bytes);
  h.set(a.subarray(aLo, aLo + aLen), aAt);
  h.set(b.subarray(bLo, bLo + bLen), bAt);
  const tA = transA ? 1 : 0, tB = transB ? 1 : 0;
  for (let t = 0; t < batch; t++) {
    ex.gemm(
      (aAt + aOffsets[t]! - aLo) * 4, (bAt + bOffsets[t]! - bLo) * 4, (cAt + t * mn) * 4,
      m, k, n, tA, tB, scratch,
    );
  }
  c.set(h.subarray(cAt, cAt + cLen), cOff);
}

/** C[cOff .. cOff + m*n) = op(A) @ op(B): `gemm` of ../gemm.ts for float32, on the SIMD kernel. */
export function gemmSimd(
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, c: Float32Array, cOff: number, args: GemmArgs,
): void {
  gemmSimdBatch(a, [aOff], b, [bOff], c, cOff, args);
}
