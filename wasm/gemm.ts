/**
 * AssemblyScript source of the float32 and float64 GEMM kernels (WebAssembly SIMD), compiled by
 * scripts/build-wasm.mjs into src/backend/cpu/simd/gemm-wasm.generated.ts (base64) and driven by
 * src/backend/cpu/simd/gemm-simd.ts. Not part of the TypeScript project (AssemblyScript types:
 * usize, v128, f32x4); see wasm/tsconfig.json for editors.
 *
 * `gemm` (float32) and `gemm64` (float64) compute C = op(A) @ op(B) for row-major operands that the
 * caller has copied into this module's memory, in the GotoBLAS/BLIS loop nest of
 * src/backend/cpu/gemm.ts: blocks of NC columns, KC inner steps (pack that KC x NC block of op(B)
 * into micro-panels of NR columns, p-major), MC rows (pack the MC x KC block of op(A) into
 * micro-panels of MR = 4 rows, p-major), then the micro-kernel over every pair of micro-panels.
 * Both are one generic body over the element type T: a row of the tile is two v128 of T, so the
 * tile is 4x8 for f32 (f32x4) and 4x4 for f64 (f64x2), eight v128 accumulators either way; each
 * inner step loads two v128 of B, splats four A values (v128.load32_splat / load64_splat) and does
 * 8 multiplies + 8 adds, or in the float32 build made with relaxed SIMD (scripts/build-wasm.mjs
 * gemm-relaxed) 8 fused multiply-adds (`madd`; f32x4.relaxed_madd, one rounding where the CPU has
 * FMA). The blocks have the same size in
 * bytes for both types (MC and NC halve for f64), so both share one scratch layout. The first KC
 * block stores its tile into C, later ones add to it, so C needs no zeroing. Edges are zero-padded
 * in the panels; an edge tile goes through a scratch tile and is clipped. Sums are in T (the
 * TypeScript kernel sums in float64). For f64 that is the TypeScript kernel's own order (KC blocks
 * of 256, p in order within a block, no fused multiply-add), so `gemm64` gives its bits exactly.
 *
 * Measured for f32 (bench in BENCHMARKS.md): 4x8 beat 6x8, 8x8, 5x8, 4x12, 4x16 and 3x16 tiles and
 * a 2- or 4-way unrolled 4x8 by 1.5-2x: V8 has 16 xmm registers and larger tiles spill. KC/MC of
 * 128/128, 512/64 and 256/48 were within noise of 256/96. The generic body compiles `gemm` to the
 * instruction sequence of the float32-only kernel it replaced (up to copies between locals); f64
 * blocks of MC 24, 48, 96, 128 were within noise of each other.
 *
 * Memory: the caller owns it all (no allocator; --runtime stub). It passes `scratch`, at least
 * scratchBytes() bytes, 16-byte aligned, at or above heapBase().
 */

const MR = 4;
const KC = 256;
/** Bytes of one p-step of a B micro-panel (and of a row of the tile): two v128. */
const ROW_BYTES = 32;
/** Bytes of the packed A block (MC x KC) and of the packed B block (KC x NC), whatever the type. */
const A_BLOCK_BYTES = 96 * KC * 4;
const B_BLOCK_BYTES = KC * 2048 * 4;
const TILE_BYTES = MR * ROW_BYTES;

/** First byte the caller may use, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** Bytes of scratch `gemm` and `gemm64` need: the packed A block, the packed B block and an edge tile. */
export function scratchBytes(): i32 {
  return A_BLOCK_BYTES + B_BLOCK_BYTES + TILE_BYTES;
}

/**
 * C[m x n] = op(A) @ op(B); a, b, c, scratch are byte addresses of float32 data. A is m x k
 * (k x m when transA), B is k x n (n x k when transB), all row-major, where the rows of B (when
 * not transposed) and of C are `ld` elements apart (ld = n for whole matrices; a band of
 * columns of a wider product passes the full width). Requires m, n, k >= 1.
 *
 * Each element of C is summed in the same order whatever band of columns a call covers (over
 * KC blocks of p, then p within a block), so splitting the columns among threads gives the
 * same bits as one call.
 */
export function gemm(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, scratch: usize, ld: i32,
): void {
  gemmOf<f32>(a, b, c, m, k, n, transA, transB, scratch, ld);
}

/** `gemm` for float64 data (a 4x4 tile of f64x2), with the same contract and summation order. */
export function gemm64(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, scratch: usize, ld: i32,
): void {
  gemmOf<f64>(a, b, c, m, k, n, transA, transB, scratch, ld);
}

// @ts-ignore: decorator
@inline
function gemmOf<T>(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, scratch: usize, ld: i32,
): void {
  const size = <i32>sizeof<T>();
  const NR = ROW_BYTES / size;
  const MC = A_BLOCK_BYTES / (KC * size);
  const NC = B_BLOCK_BYTES / (KC * size);
  // element strides of A(i, p) and B(p, j)
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : ld, bcs = transB ? k : 1;
  const pa = scratch;
  const pb = pa + <usize>A_BLOCK_BYTES;
  const tile = pb + <usize>B_BLOCK_BYTES;
  const ldc = <usize>(ld * size);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      packB<T>(b + <usize>((p0 * brs + j0 * bcs) * size), brs, bcs, kc, nc, pb);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = min(MC, m - i0);
        packA<T>(a + <usize>((i0 * ars + p0 * acs) * size), ars, acs, kc, mc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const h = min(MR, mc - ir);
            kernel<T>(
              pa + <usize>(ir * kc * size), pb + <usize>(jr * kc * size), kc,
              c + <usize>(((i0 + ir) * ld + j0 + jr) * size), ldc, h, w, p0 == 0, tile,
            );
          }
        }
      }
    }
  }
}

/** Packs B(p, j) = x[p*ps + j*js] (kc x cols) into p-major panels of NR columns, zero-padded. */
// @ts-ignore: decorator
@inline
function packB<T>(x: usize, ps: i32, js: i32, kc: i32, cols: i32, out: usize): void {
  const size = <i32>sizeof<T>();
  const NR = ROW_BYTES / size;
  const pst = <usize>(ps * size), jst = <usize>(js * size);
  for (let j = 0; j < cols; j += NR) {
    const w = min(NR, cols - j);
    let src = x + <usize>j * jst;
    if (w == NR && js == 1) {
      for (let p = 0; p < kc; p++, src += pst, out += ROW_BYTES) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
      }
    } else if (size == 4 && w == NR && ps == 1) {
      // op(B) = a transposed matrix (rows of B are the columns j): four p at a time, one v128 per
      // column, turned into rows by two 4x4 transposes
      let p = 0;
      for (; p + 4 <= kc; p += 4, src += 16, out += 4 * ROW_BYTES) {
        transpose4(src, jst, out);
        transpose4(src + 4 * jst, jst, out + 16);
      }
      for (; p < kc; p++, src += pst, out += ROW_BYTES) {
        for (let q = 0; q < NR; q++) store<T>(out + <usize>(q * size), load<T>(src + <usize>q * jst));
      }
    } else {
      for (let p = 0; p < kc; p++, src += pst, out += ROW_BYTES) {
        for (let q = 0; q < NR; q++) {
          store<T>(out + <usize>(q * size), q < w ? load<T>(src + <usize>q * jst) : <T>0);
        }
      }
    }
  }
}

/**
 * Four float32 columns of four rows each (row q at x + q*rowBytes, 16 bytes) stored as four rows
 * of the panel, ROW_BYTES apart: out row r = [x0[r], x1[r], x2[r], x3[r]].
 */
// @ts-ignore: decorator
@inline
function transpose4(x: usize, rowBytes: usize, out: usize): void {
  const a0 = v128.load(x), a1 = v128.load(x + rowBytes), a2 = v128.load(x + 2 * rowBytes), a3 = v128.load(x + 3 * rowBytes);
  const s0 = v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), s1 = v128.shuffle<i32>(a2, a3, 0, 4, 1, 5);
  const s2 = v128.shuffle<i32>(a0, a1, 2, 6, 3, 7), s3 = v128.shuffle<i32>(a2, a3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<i64>(s0, s1, 0, 2));
  v128.store(out + ROW_BYTES, v128.shuffle<i64>(s0, s1, 1, 3));
  v128.store(out + 2 * ROW_BYTES, v128.shuffle<i64>(s2, s3, 0, 2));
  v128.store(out + 3 * ROW_BYTES, v128.shuffle<i64>(s2, s3, 1, 3));
}

/** Packs A(i, p) = x[i*is + p*ps] (rows x kc) into p-major panels of MR rows, zero-padded. */
// @ts-ignore: decorator
@inline
function packA<T>(x: usize, is: i32, ps: i32, kc: i32, rows: i32, out: usize): void {
  const size = <i32>sizeof<T>();
  const ist = <usize>(is * size), pst = <usize>(ps * size);
  for (let i = 0; i < rows; i += MR) {
    const h = min(MR, rows - i);
    let src = x + <usize>i * ist;
    if (h == MR && is == 1) {
      // op(A) = a transposed matrix: the MR rows at one p are contiguous
      for (let p = 0; p < kc; p++, src += pst, out += MR * size) {
        v128.store(out, v128.load(src));
        if (size == 8) v128.store(out, v128.load(src, 16), 16);
      }
    } else if (h == MR) {
      for (let p = 0; p < kc; p++, src += pst, out += MR * size) {
        store<T>(out, load<T>(src));
        store<T>(out, load<T>(src + ist), sizeof<T>());
        store<T>(out, load<T>(src + 2 * ist), 2 * sizeof<T>());
        store<T>(out, load<T>(src + 3 * ist), 3 * sizeof<T>());
      }
    } else {
      for (let p = 0; p < kc; p++, src += pst, out += MR * size) {
        for (let q = 0; q < MR; q++) {
          store<T>(out + <usize>(q * size), q < h ? load<T>(src + <usize>q * ist) : <T>0);
        }
      }
    }
  }
}

/** C[h x w tile at c, row stride ldc bytes] (=, or += unless first) A panel (4 x kc) @ B panel (kc x NR). */
// @ts-ignore: decorator
@inline
function kernel<T>(
  pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, h: i32, w: i32, first: bool, t: usize,
): void {
  const size = <usize>sizeof<T>();
  const NR = ROW_BYTES / <i32>size;
  // A's value in every lane: load32_splat for f32, load64_splat for f64 (a compile-time choice)
  const f32 = size == 4;
  let c00 = v128.splat<T>(<T>0), c01 = v128.splat<T>(<T>0);
  let c10 = v128.splat<T>(<T>0), c11 = v128.splat<T>(<T>0);
  let c20 = v128.splat<T>(<T>0), c21 = v128.splat<T>(<T>0);
  let c30 = v128.splat<T>(<T>0), c31 = v128.splat<T>(<T>0);
  for (let p = 0; p < kc; p++, pa += <usize>MR * size, pb += ROW_BYTES) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = f32 ? v128.load32_splat(pa) : v128.load64_splat(pa);
    c00 = madd<T>(x, b0, c00);
    c01 = madd<T>(x, b1, c01);
    x = f32 ? v128.load32_splat(pa, sizeof<T>()) : v128.load64_splat(pa, sizeof<T>());
    c10 = madd<T>(x, b0, c10);
    c11 = madd<T>(x, b1, c11);
    x = f32 ? v128.load32_splat(pa, 2 * sizeof<T>()) : v128.load64_splat(pa, 2 * sizeof<T>());
    c20 = madd<T>(x, b0, c20);
    c21 = madd<T>(x, b1, c21);
    x = f32 ? v128.load32_splat(pa, 3 * sizeof<T>()) : v128.load64_splat(pa, 3 * sizeof<T>());
    c30 = madd<T>(x, b0, c30);
    c31 = madd<T>(x, b1, c31);
  }
  if (h == MR && w == NR) {
    storeRow<T>(c, c00, c01, first);
    storeRow<T>(c + ldc, c10, c11, first);
    storeRow<T>(c + 2 * ldc, c20, c21, first);
    storeRow<T>(c + 3 * ldc, c30, c31, first);
    return;
  }
  // edge tile: spill to the scratch tile, copy the h x w part
  v128.store(t, c00);
  v128.store(t, c01, 16);
  v128.store(t, c10, 32);
  v128.store(t, c11, 48);
  v128.store(t, c20, 64);
  v128.store(t, c21, 80);
  v128.store(t, c30, 96);
  v128.store(t, c31, 112);
  for (let i = 0; i < h; i++, c += ldc, t += ROW_BYTES) {
    for (let j = 0; j < w; j++) {
      const o = <usize>j * size;
      store<T>(c + o, first ? load<T>(t + o) : load<T>(c + o) + load<T>(t + o));
    }
  }
}

/**
 * acc + x * b: one fused multiply-add (f32x4.relaxed_madd) in the float32 build made with relaxed
 * SIMD, else a multiply and an add. float64 never fuses, so that gemm64 keeps the TypeScript
 * kernel's bits.
 */
// @ts-ignore: decorator
@inline
function madd<T>(x: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD && sizeof<T>() == 4) return v128.relaxed_madd<T>(x, b, acc);
  return v128.add<T>(acc, v128.mul<T>(x, b));
}

// @ts-ignore: decorator
@inline
function storeRow<T>(c: usize, v0: v128, v1: v128, first: bool): void {
  if (first) {
    v128.store(c, v0);
    v128.store(c, v1, 16);
  } else {
    v128.store(c, v128.add<T>(v128.load(c), v0));
    v128.store(c, v128.add<T>(v128.load(c, 16), v1), 16);
  }
}

/**
 * The convolution's data movement, compiled into this module too so that a convolution's columns
 * never leave its memory (src/backend/wasm/conv-simd.ts): im2col and col2im of wasm/movement.ts,
 * and `swap01` for the [out, N, L] <-> [N, out, L] reorder around the product.
 */
export { im2col, col2im } from "./movement";

/** dst[j, i, :] = src[i, j, :] for src of [a, b, l] 32-bit words (no overlap). */
export function swap01(src: usize, dst: usize, a: i32, b: i32, l: i32): void {
  const row = <usize>l << 2;
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) memory.copy(dst + <usize>(j * a + i) * row, src + <usize>(i * b + j) * row, row);
  }
}
