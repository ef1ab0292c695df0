/**
 * AssemblyScript source of the float32 GEMM kernel (WebAssembly SIMD), compiled by
 * scripts/build-wasm.mjs into src/backend/cpu/simd/gemm-wasm.generated.ts (base64) and driven by
 * src/backend/cpu/simd/gemm-simd.ts. Not part of the TypeScript project (AssemblyScript types:
 * usize, v128, f32x4); see wasm/tsconfig.json for editors.
 *
 * `gemm` computes C = op(A) @ op(B) for row-major operands that the caller has copied into this
 * module's memory, in the GotoBLAS/BLIS loop nest of src/backend/cpu/gemm.ts: blocks of NC columns,
 * KC inner steps (pack that KC x NC block of op(B) into micro-panels of NR = 8 columns, p-major),
 * MC rows (pack the MC x KC block of op(A) into micro-panels of MR = 4 rows, p-major), then the
 * 4x8 micro-kernel over every pair of micro-panels. The kernel keeps the 4x8 tile of C in eight
 * f32x4 accumulators; each inner step loads two f32x4 of B, splats four A values
 * (v128.load32_splat) and does 8 multiplies + 8 adds (baseline SIMD has no fused multiply-add).
 * The first KC block stores its tile into C, later ones add to it, so C needs no zeroing. Edges
 * are zero-padded in the panels; an edge tile goes through a 4x8 scratch tile and is clipped.
 * Sums are in float32 (the TypeScript kernel sums in float64).
 *
 * Measured (bench in BENCHMARKS.md): 4x8 beat 6x8, 8x8, 5x8, 4x12, 4x16 and 3x16 tiles and a 2- or
 * 4-way unrolled 4x8 by 1.5-2x: V8 has 16 xmm registers and larger tiles spill. KC/MC of
 * 128/128, 512/64 and 256/48 were within noise of 256/96.
 *
 * Memory: the caller owns it all (no allocator; --runtime stub). It passes `scratch`, at least
 * scratchBytes() bytes, 16-byte aligned, at or above heapBase().
 */

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 96;
const NC = 2048;

/** First byte the caller may use, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** Bytes of scratch `gemm` needs: the packed A block, the packed B block and an edge tile. */
export function scratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
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
  // element strides of A(i, p) and B(p, j)
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : ld, bcs = transB ? k : 1;
  const pa = scratch;
  const pb = pa + <usize>(MC * KC * 4);
  const tile = pb + <usize>(KC * NC * 4);
  const ldc = <usize>ld << 2;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      packB(b + (<usize>(p0 * brs + j0 * bcs) << 2), brs, bcs, kc, nc, pb);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = min(MC, m - i0);
        packA(a + (<usize>(i0 * ars + p0 * acs) << 2), ars, acs, kc, mc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const h = min(MR, mc - ir);
            kernel(
              pa + <usize>(ir * kc * 4), pb + <usize>(jr * kc * 4), kc,
              c + (<usize>((i0 + ir) * ld + j0 + jr) << 2), ldc, h, w, p0 == 0, tile,
            );
          }
        }
      }
    }
  }
}

/** Packs B(p, j) = x[p*ps + j*js] (kc x cols) into p-major panels of NR columns, zero-padded. */
function packB(x: usize, ps: i32, js: i32, kc: i32, cols: i32, out: usize): void {
  const pst = <usize>ps << 2, jst = <usize>js << 2;
  for (let j = 0; j < cols; j += NR) {
    const w = min(NR, cols - j);
    let src = x + <usize>j * jst;
    if (w == NR && js == 1) {
      for (let p = 0; p < kc; p++, src += pst, out += NR * 4) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
      }
    } else {
      for (let p = 0; p < kc; p++, src += pst, out += NR * 4) {
        for (let q = 0; q < NR; q++) {
          store<f32>(out + (<usize>q << 2), q < w ? load<f32>(src + <usize>q * jst) : 0);
        }
      }
    }
  }
}

/** Packs A(i, p) = x[i*is + p*ps] (rows x kc) into p-major panels of MR rows, zero-padded. */
function packA(x: usize, is: i32, ps: i32, kc: i32, rows: i32, out: usize): void {
  const ist = <usize>is << 2, pst = <usize>ps << 2;
  for (let i = 0; i < rows; i += MR) {
    const h = min(MR, rows - i);
    let src = x + <usize>i * ist;
    if (h == MR) {
      for (let p = 0; p < kc; p++, src += pst, out += MR * 4) {
        store<f32>(out, load<f32>(src));
        store<f32>(out, load<f32>(src + ist), 4);
        store<f32>(out, load<f32>(src + 2 * ist), 8);
        store<f32>(out, load<f32>(src + 3 * ist), 12);
      }
    } else {
      for (let p = 0; p < kc; p++, src += pst, out += MR * 4) {
        for (let q = 0; q < MR; q++) {
          store<f32>(out + (<usize>q << 2), q < h ? load<f32>(src + <usize>q * ist) : 0);
        }
      }
    }
  }
}

/** C[h x w tile at c, row stride ldc bytes] (=, or += unless first) A panel (4 x kc) @ B panel (kc x 8). */
// @ts-ignore: decorator
@inline
function kernel(
  pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, h: i32, w: i32, first: bool, t: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++, pa += MR * 4, pb += NR * 4) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(pa, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
  }
  if (h == MR && w == NR) {
    storeRow(c, c00, c01, first);
    storeRow(c + ldc, c10, c11, first);
    storeRow(c + 2 * ldc, c20, c21, first);
    storeRow(c + 3 * ldc, c30, c31, first);
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
  for (let i = 0; i < h; i++, c += ldc, t += NR * 4) {
    for (let j = 0; j < w; j++) {
      const o = <usize>j << 2;
      store<f32>(c + o, first ? load<f32>(t + o) : load<f32>(c + o) + load<f32>(t + o));
    }
  }
}

// @ts-ignore: decorator
@inline
function storeRow(c: usize, v0: v128, v1: v128, first: bool): void {
  if (first) {
    v128.store(c, v0);
    v128.store(c, v1, 16);
  } else {
    v128.store(c, f32x4.add(v128.load(c), v0));
    v128.store(c, f32x4.add(v128.load(c, 16), v1), 16);
  }
}
