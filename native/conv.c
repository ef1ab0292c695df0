/*
 * descent's native float32 2-D convolution (groups 1, NCHW), forward and backward, on the matrix
 * product's tile and loop nest (native/gemm.h), in place in the tensors' arrays: no im2col
 * matrix is ever laid out for the whole batch, and nothing is copied into another memory. The
 * native backend's conv2d / conv2dBackward (src/backend/native/native.ts) call these.
 *
 * - Forward, stride 1 (any padding and dilation): a direct convolution. Each batch item is copied
 *   once into a zero-bordered plane (Hp x Wp per channel, in L1 or L2 for small images); column q
 *   = oh*Wp + ow of the product reads, for the weight's column p = (c, ki, kj), the plane at
 *   q + rows[p], so the 6x16 tile loads 16 outputs' inputs straight from the plane (kernel_rows).
 *   The Wp - outW columns per row that straddle the border are computed and dropped; the bias,
 *   when given, is added to each finished sum as its row is copied out. Other strides return
 *   false (declined): the caller runs its WebAssembly convolution.
 * - dx: per batch item, dcols = Wᵀ (K x outC) . dy_n (outC x L) into the thread's scratch, then
 *   col2im into dx_n, in the order of the TypeScript col2im (src/backend/cpu/window.ts); for stride
 *   1 (and a finite weight) over the forward's padded planes, one long run per column row
 *   (input_grad_planar says why the bits stay the same), and where outC <= KC (the product one
 *   block) Wᵀ is packed once for every item and the tile reads dy's rows in place, as the
 *   forward reads x's.
 * - dW = dy' (outC x N·L) . colsᵀ (N·L x K), dy' being dy with the batch moved inside: x is laid
 *   out once NHWC with a zero border, and the loop nest packs its blocks from that and from dy
 *   (pack_cols, pack_dy), W's columns taken in the order (ki, kj, c) so that 16 of them
 *   are one 64-byte copy where C is a multiple of 16; there, every panel being 16 consecutive
 *   floats, the tile reads them in place instead (weight_grad_direct). Narrow weights (K <= 12)
 *   skip the packing (weight_grad_narrow).
 *
 * Bits: each is the composed path's product (W . im2col(x), Wᵀ . dy', dy' . im2col(x)ᵀ, with
 * those shapes) summed in the same KC blocks in the same order, on the same operands (the
 * padding reads +0, as im2col writes), and col2im adds in the TypeScript order: a convolution
 * here gives the composed path's bits on the native backend (test/backend/native.test.ts).
 * Threads: forward and dx split the batch items, dW splits W's columns into bands of whole 16-wide
 * panels; each element is computed by one thread in one order, so any thread count gives the
 * same bits.
 *
 * Safety: every array length is checked against the geometry before anything runs, and each
 * read of x is bounds-checked by the geometry (padding reads 0): a bad call throws a RangeError.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"
#include "gemm.h"

/* n, c, h, w, kh, kw, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW (windowArgs in movement-simd.ts) */
typedef struct {
  int64_t n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow;
} Geom;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The ow in [lo, hi) with 0 <= x0 + ow*stride < w, clipped to [0, outW] (inRange in window.ts). */
static void in_range(int64_t x0, int64_t stride, int64_t w, int64_t outW, int64_t *lo, int64_t *hi) {
  *lo = min64(outW, max64(0, addon_ceil_div(-x0, stride)));
  *hi = max64(*lo, min64(outW, addon_ceil_div(w - x0, stride)));
}

/* ---- the padded planes of a stride-1 convolution (the forward, and dx) ---- */

/*
 * Each channel of an item as a zero-bordered Hp x Wp plane, so that column q = oh*Wp + ow of the
 * product meets the input of weight column p = (c, ki, kj) at q + rows[p]; the Wp - outW columns
 * between rows straddle the border. x's rows [r0, r1) and columns [s0, s1) lie inside the planes.
 */
typedef struct {
  int64_t Hp, Wp, plane, nq, ldq; /* ldq: nq rounded up to whole tiles */
  int64_t padLen;                 /* the planes' floats with the tiles' slack, 16-aligned */
  int64_t r0, r1, s0, s1;
  int32_t *rows;
} Planes;

/* 1 when made, 0 when the planes' offsets would pass int32 (not run this way), -1 when out of memory. */
static int planes_make(const Geom *g, Planes *p) {
  p->Hp = g->oh + g->dh * (g->kh - 1);
  p->Wp = g->ow + g->dw * (g->kw - 1);
  p->plane = p->Hp * p->Wp;
  p->nq = (g->oh - 1) * p->Wp + g->ow;
  p->ldq = (p->nq + NR - 1) / NR * NR;
  p->padLen = (g->c * p->plane + NR + 15) / 16 * 16;
  p->r0 = max64(0, -g->pt), p->r1 = min64(g->h, p->Hp - g->pt);
  p->s0 = max64(0, -g->pl), p->s1 = min64(g->w, p->Wp - g->pl);
  p->rows = NULL;
  if (g->c * p->plane + NR > INT32_MAX) return 0;
  p->rows = malloc(sizeof(int32_t) * g->c * g->kh * g->kw);
  if (!p->rows) return -1;
  for (int64_t ch = 0, at = 0; ch < g->c; ch++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) p->rows[at++] = (int32_t)(ch * p->plane + ki * g->dh * p->Wp + kj * g->dw);
  return 1;
}

/* The parts a task over the batch items runs in: one below PARALLEL_MIN_MACS multiply-adds, at most one an item. */
static int item_parts(const Geom *g, int threads, int64_t macs) {
  return macs >= PARALLEL_MIN_MACS ? pool_split(threads, g->n) : 1;
}

/* ---- forward ---- */

typedef struct {
  const Geom *g;
  const float *x, *wpack; /* wpack: W packed per KC block (pack_a), block p0 at p0 * mpad */
  const float *bias;      /* [outC] added to each channel as its rows are copied out, or NULL */
  Planes pl;
  float *out;
  int outC, K, mpad;
  atomic_int *failed;
} Forward;

static void forward_part(const void *ctx, int part, int parts, Scratch *s) {
  const Forward *f = ctx;
  const Geom *g = f->g;
  const Planes *pl = &f->pl;
  int64_t n0 = g->n * part / parts, n1 = g->n * (part + 1) / parts;
  if (n0 >= n1) return;
  const int64_t L = g->oh * g->ow;
  float *xpad = scratch_work(s, pl->padLen + f->outC * pl->ldq);
  if (!xpad) {
    atomic_store(f->failed, 1);
    return;
  }
  float *tmp = xpad + pl->padLen;
  memset(xpad, 0, pl->padLen * sizeof(float)); /* the border stays 0: each item rewrites only the interior */
  for (int64_t item = n0; item < n1; item++) {
    const float *xi = f->x + item * g->c * g->h * g->w;
    if (pl->s1 > pl->s0)
      for (int64_t ch = 0; ch < g->c; ch++)
        for (int64_t r = pl->r0; r < pl->r1; r++)
          memcpy(xpad + ch * pl->plane + (r + g->pt) * pl->Wp + pl->s0 + g->pl, xi + (ch * g->h + r) * g->w + pl->s0, (pl->s1 - pl->s0) * sizeof(float));
    for (int p0 = 0; p0 < f->K; p0 += KC) {
      int kc = f->K - p0 < KC ? f->K - p0 : KC;
      const float *block = f->wpack + (int64_t)p0 * f->mpad;
      for (int64_t q0 = 0; q0 < pl->nq; q0 += NR) {
        int wq = (int)min64(NR, pl->nq - q0);
        for (int ir = 0; ir < f->outC; ir += MR) {
          int hr = f->outC - ir < MR ? f->outC - ir : MR;
          kernel_rows(kc, block + (int64_t)ir * kc, xpad + q0, pl->rows + p0, tmp + ir * pl->ldq + q0, pl->ldq, p0 == 0, hr, wq);
        }
      }
    }
    float *o = f->out + item * f->outC * L;
    for (int64_t oc = 0; oc < f->outC; oc++)
      for (int64_t r = 0; r < g->oh; r++) {
        float *dst = o + oc * L + r * g->ow;
        const float *src = tmp + oc * pl->ldq + r * pl->Wp;
        if (!f->bias) {
          memcpy(dst, src, g->ow * sizeof(float));
          continue;
        }
        const float b = f->bias[oc];
        for (int64_t j = 0; j < g->ow; j++) dst[j] = src[j] + b;
      }
  }
}

/*
 * out [N, outC, L] = conv(x, w) (+ bias per channel, when not NULL) for stride 1; 0 when declined
 * (another stride), -1 when out of memory. The bias is added to the finished float32 sum, so out
 * holds the bits of the convolution followed by a separate broadcast add.
 */
static int conv_forward(const Geom *g, const float *x, const float *w, const float *bias, float *out, int outC, int threads) {
  if (g->sh != 1 || g->sw != 1) return 0;
  const int K = (int)(g->c * g->kh * g->kw);
  Forward f = { .g = g, .x = x, .bias = bias, .out = out, .outC = outC, .K = K, .mpad = (outC + MR - 1) / MR * MR };
  const int made = planes_make(g, &f.pl);
  if (made <= 0) return made;
  float *wpack = malloc(sizeof(float) * f.mpad * K);
  if (!wpack) {
    free(f.pl.rows);
    return -1;
  }
  for (int p0 = 0; p0 < K; p0 += KC) pack_a(w + p0, K, 1, outC, K - p0 < KC ? K - p0 : KC, wpack + (int64_t)p0 * f.mpad);
  f.wpack = wpack;
  atomic_int failed = 0;
  f.failed = &failed;
  pool_run(forward_part, &f, item_parts(g, threads, g->n * outC * (int64_t)K * g->oh * g->ow));
  free(wpack);
  free(f.pl.rows);
  return atomic_load(&failed) ? -1 : 1;
}

/* ---- dx ---- */

typedef struct {
  const Geom *g;
  const float *w, *dy;
  float *dx;
  int outC, K;
  /* stride 1 and a finite weight: col2im as one run per column row over the padded planes (below) */
  int planar;
  Planes pl; /* column row p lands at rows[p] */
  /* outC <= KC (one block): Wᵀ packed once for every item, and dy's rows read in place at brow[o] */
  const float *wtpack;
  const int32_t *brow;
  atomic_int *failed;
} InputGrad;

/*
 * dx for one item of a stride-1 convolution over the padded planes: dcols (K x nq) = Wᵀ . dy laid
 * out on the planes' columns q = oh*Wp + ow (zeros in the Wp - outW columns between rows), then
 * each column row p added whole into the zero-bordered planes at rows[p] and the interior copied
 * out. The same sums as col2im in the same order: a column row's values at real q are the
 * composed product's bits; the columns between rows hold +0 (0 times a finite weight, summed from
 * +0), and adding +0 changes nothing, since a sum that starts at +0 is never -0; what lands in the
 * border is dropped, as col2im skips it. 144 runs of ~220 floats an item, where col2im walks 2,016
 * rows of 14.
 */
__attribute__((target("avx2")))
static void input_grad_planar(const InputGrad *d, int64_t item, float *dyq, float *cols, float *xpad, Scratch *s) {
  const Geom *g = d->g;
  const Planes *pl = &d->pl;
  const int64_t L = g->oh * g->ow;
  const float *dyi = d->dy + item * d->outC * L;
  for (int64_t o = 0; o < d->outC; o++)
    for (int64_t r = 0; r < g->oh; r++) memcpy(dyq + o * pl->ldq + r * pl->Wp, dyi + o * L + r * g->ow, g->ow * sizeof(float));
  if (d->wtpack) {
    /* one block: the loop nest's tiles in its order, without packing either operand again */
    for (int64_t q0 = 0; q0 < pl->nq; q0 += NR) {
      const int wq = (int)min64(NR, pl->nq - q0);
      for (int ir = 0; ir < d->K; ir += MR)
        kernel_rows(d->outC, d->wtpack + (int64_t)ir * d->outC, dyq + q0, d->brow, cols + ir * pl->ldq + q0, pl->ldq, 1, d->K - ir < MR ? d->K - ir : MR, wq);
    }
  } else {
    const Strided a = { d->w, 1, d->K }, b = { dyq, pl->ldq, 1 };
    const Gemm gm = { pack_a_strided, pack_b_strided, &a, &b, d->K, d->outC, cols, pl->ldq };
    gemm_columns(&gm, 0, (int)pl->nq, s);
  }
  memset(xpad, 0, pl->padLen * sizeof(float));
  for (int64_t p = 0; p < d->K; p++) {
    float *restrict to = xpad + pl->rows[p];
    const float *restrict from = cols + p * pl->ldq;
    for (int64_t q = 0; q < pl->nq; q++) to[q] += from[q];
  }
  float *x = d->dx + item * g->c * g->h * g->w;
  memset(x, 0, g->c * g->h * g->w * sizeof(float));
  if (pl->s1 > pl->s0)
    for (int64_t ch = 0; ch < g->c; ch++)
      for (int64_t y = pl->r0; y < pl->r1; y++)
        memcpy(x + (ch * g->h + y) * g->w + pl->s0, xpad + ch * pl->plane + (y + g->pt) * pl->Wp + pl->s0 + g->pl, (pl->s1 - pl->s0) * sizeof(float));
}

/* x [c, h, w] += the columns [K, L] of one item (col2imInto of window.ts, one batch item). */
static void col2im_item(const float *cols, const Geom *g, float *x) {
  const int64_t L = g->oh * g->ow;
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t i = 0; i < g->kh; i++)
      for (int64_t j = 0; j < g->kw; j++) {
        const float *row = cols + ((ch * g->kh + i) * g->kw + j) * L;
        int64_t x0 = j * g->dw - g->pl, lo, hi;
        in_range(x0, g->sw, g->w, g->ow, &lo, &hi);
        for (int64_t oh = 0; oh < g->oh; oh++) {
          int64_t y = oh * g->sh - g->pt + i * g->dh;
          if (y < 0 || y >= g->h) continue;
          float *xr = x + (ch * g->h + y) * g->w + x0;
          const float *cr = row + oh * g->ow;
          if (g->sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) xr[ow] += cr[ow];
          else
            for (int64_t ow = lo; ow < hi; ow++) xr[ow * g->sw] += cr[ow];
        }
      }
}

static void input_grad_part(const void *ctx, int part, int parts, Scratch *s) {
  const InputGrad *d = ctx;
  const Geom *g = d->g;
  int64_t n0 = g->n * part / parts, n1 = g->n * (part + 1) / parts;
  if (n0 >= n1) return;
  const int64_t L = g->oh * g->ow, xLen = g->c * g->h * g->w, ldq = d->pl.ldq;
  float *work = scratch_work(s, d->planar ? d->outC * ldq + d->K * ldq + d->pl.padLen : d->K * L);
  if (!work) {
    atomic_store(d->failed, 1);
    return;
  }
  if (d->planar) {
    float *dyq = work, *cols = work + d->outC * ldq, *xpad = cols + d->K * ldq;
    memset(dyq, 0, d->outC * ldq * sizeof(float)); /* the columns between rows stay 0 */
    for (int64_t item = n0; item < n1; item++) input_grad_planar(d, item, dyq, cols, xpad, s);
    return;
  }
  const Strided a = { d->w, 1, d->K }; /* A(r, o) = W[o, r]: Wᵀ */
  for (int64_t item = n0; item < n1; item++) {
    const Strided b = { d->dy + item * d->outC * L, L, 1 };
    const Gemm gm = { pack_a_strided, pack_b_strided, &a, &b, d->K, d->outC, work, L };
    gemm_columns(&gm, 0, (int)L, s);
    float *x = d->dx + item * xLen;
    memset(x, 0, xLen * sizeof(float));
    col2im_item(work, g, x);
  }
}

/* dx = col2im(Wᵀ . dy'); 0 when out of memory. */
static int input_grad(const Geom *g, const float *w, const float *dy, float *dx, int outC, int threads) {
  const int K = (int)(g->c * g->kh * g->kw);
  atomic_int failed = 0;
  InputGrad d = { .g = g, .w = w, .dy = dy, .dx = dx, .outC = outC, .K = K, .failed = &failed };
  d.planar = g->sh == 1 && g->sw == 1;
  for (int64_t i = 0; d.planar && i < (int64_t)outC * K; i++) d.planar = isfinite(w[i]);
  if (d.planar) {
    const int made = planes_make(g, &d.pl);
    if (made < 0) return 0;
    d.planar = made == 1;
  }
  float *wtpack = NULL;
  int32_t *brow = NULL;
  if (d.planar && outC <= KC && (int64_t)outC * d.pl.ldq <= INT32_MAX) {
    wtpack = malloc(sizeof(float) * ((K + MR - 1) / MR * MR) * outC);
    brow = malloc(sizeof(int32_t) * outC);
    if (!wtpack || !brow) {
      free(wtpack), free(brow), free(d.pl.rows);
      return 0;
    }
    pack_a(w, 1, K, K, outC, wtpack); /* A(r, o) = W[o, r] */
    for (int o = 0; o < outC; o++) brow[o] = (int32_t)(o * d.pl.ldq);
    d.wtpack = wtpack, d.brow = brow;
  }
  pool_run(input_grad_part, &d, item_parts(g, threads, g->n * outC * K * g->oh * g->ow));
  free(wtpack), free(brow), free(d.pl.rows);
  return !atomic_load(&failed);
}

/* ---- dW ---- */

/*
 * dW's columns are computed in the order j' = (ki, kj, c) and put back in W's order (c, ki, kj) at
 * the end: a column's sum does not depend on where it falls, and in that order the 16 columns of
 * a panel are, for C a multiple of 16, 16 consecutive floats of x laid out NHWC.
 */
typedef struct {
  const Geom *g;
  const float *xp;       /* x with a zero border, NHWC: [N, Hp, Wp, C] */
  const int32_t *off;    /* off[j']: where in xp, from a position's corner, column j' reads */
  const uint8_t *dense;  /* per panel of 16 columns from 0: whether their offsets run consecutively */
  int64_t Hp, Wp;
  int K, width, outC;    /* width: the band of columns per part */
  const float *dy;
  float *dwp;            /* [outC, K], columns in the order j' */
  const int32_t *corner; /* where every panel is dense: corner[p], position p's corner in xp (else NULL) */
} WeightGrad;

/* A(o, p) = dy[n, o, l] for p = n·L + l: dy' (outC x N·L), packed in panels of MR rows. */
static void pack_dy(const void *ctx, int p0, int kc, int i0, int mc, float *out) {
  const WeightGrad *d = ctx;
  const int64_t L = d->g->oh * d->g->ow;
  for (int i = i0; i < i0 + mc; i += MR, out += MR * kc) {
    const int h = i0 + mc - i < MR ? i0 + mc - i : MR;
    for (int r = 0; r < MR; r++) {
      float *o = out + r;
      if (r >= h) {
        for (int p = 0; p < kc; p++) o[p * MR] = 0.0f;
        continue;
      }
      int64_t n = p0 / L, l = p0 % L;
      for (int at = 0; at < kc;) {
        const int64_t run = min64(L - l, kc - at);
        const float *src = d->dy + (n * d->outC + i + r) * L + l;
        for (int64_t t = 0; t < run; t++) o[(at + t) * MR] = src[t];
        at += (int)run;
        l = 0;
        n++;
      }
    }
  }
}

/* B(p, j') = im2col(x)[j', p] for p = n·L + oh·outW + ow: colsᵀ (N·L x K), in panels of NR columns. */
static void pack_cols(const void *ctx, int p0, int kc, int jc, int nc, float *out) {
  const WeightGrad *d = ctx;
  const Geom *g = d->g;
  const int64_t L = g->oh * g->ow, C = g->c;
  int64_t n = p0 / L, r = p0 % L / g->ow, q = p0 % L % g->ow;
  const int panels = (nc + NR - 1) / NR;
  for (int at = 0; at < kc; at++) {
    const float *src = d->xp + ((n * d->Hp + r * g->sh) * d->Wp + q * g->sw) * C;
    for (int k = 0; k < panels; k++) {
      const int j = jc + k * NR, w = jc + nc - j < NR ? jc + nc - j : NR;
      float *dst = out + (int64_t)k * NR * kc + at * NR;
      if (w == NR && d->dense[j / NR]) {
        memcpy(dst, src + d->off[j], NR * sizeof(float));
      } else {
        int t = 0;
        for (; t < w; t++) dst[t] = src[d->off[j + t]];
        for (; t < NR; t++) dst[t] = 0.0f;
      }
    }
    if (++q == g->ow) {
      q = 0;
      if (++r == g->oh) {
        r = 0;
        n++;
      }
    }
  }
}

/*
 * dW's columns [j0, j1) where every panel of 16 is 16 consecutive floats of xp (C a multiple of
 * 16): the tile reads B's row p of panel j in place, at xp + off[j] + corner[p], as the forward
 * reads x, instead of a packed copy; dy' is packed as in the loop nest. The same KC blocks from p =
 * 0, each element's sum in the same order: the same bits.
 */
static void weight_grad_direct(const WeightGrad *d, int j0, int j1, Scratch *s) {
  const int NL = (int)(d->g->n * d->g->oh * d->g->ow), outC = d->outC;
  for (int p0 = 0; p0 < NL; p0 += KC) {
    const int kc = NL - p0 < KC ? NL - p0 : KC;
    for (int i0 = 0; i0 < outC; i0 += MC) {
      const int mc = outC - i0 < MC ? outC - i0 : MC;
      pack_dy(d, p0, kc, i0, mc, s->packA);
      for (int j = j0; j < j1; j += NR)
        for (int ir = 0; ir < mc; ir += MR)
          kernel_rows(kc, s->packA + ir * kc, d->xp + d->off[j], d->corner + p0, d->dwp + (int64_t)(i0 + ir) * d->K + j, d->K, p0 == 0,
                      mc - ir < MR ? mc - ir : MR, NR);
    }
  }
}

static void weight_grad_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)parts;
  const WeightGrad *d = ctx;
  int j0 = part * d->width, j1 = j0 + d->width < d->K ? j0 + d->width : d->K;
  if (j0 >= j1) return;
  if (d->corner) {
    weight_grad_direct(d, j0, j1, s);
    return;
  }
  const Gemm gm = { pack_dy, pack_cols, d, d, d->outC, (int)(d->g->n * d->g->oh * d->g->ow), d->dwp, d->K };
  gemm_columns(&gm, j0, j1, s);
}

/* r[i] (row i of an 8x8 block) becomes column i. */
__attribute__((target("avx2"), always_inline))
static inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Weights this narrow (K = C·kh·kw columns; a 3x3 kernel over one channel has 9) go to weight_grad_narrow. */
#define NARROW_K 12

/*
 * dW for K <= NARROW_K, where packing 16-wide panels for 9 columns cost more than the sums: 8
 * output channels a step in the lanes, one accumulator per column. For each p, dy's 8 values
 * times the column's broadcast value, one fused multiply-add,
 * in blocks of KC from p = 0, the first block stored and later ones added: each element's sum in
 * the loop nest's order, so the same bits. dy's 8 values per position come from an 8x8 transpose
 * in registers where 8 positions lie in one item, and their corners in x step by sw·C where the 8
 * lie along one output row. Parts take 8-channel panels in turn.
 */
__attribute__((target("avx2,fma"), always_inline))
static inline void narrow_sums(const WeightGrad *d, int part, int parts, const int K) {
  const Geom *g = d->g;
  const int64_t L = g->oh * g->ow, NL = g->n * L, C = g->c;
  const int outC = d->outC;
  for (int o0 = part * 8; o0 < outC; o0 += parts * 8) {
    const int lanes = outC - o0 < 8 ? outC - o0 : 8;
    int64_t n = 0, l = 0, r = 0, q = 0; /* p = n·L + l, l = r·outW + q */
    for (int64_t p0 = 0; p0 < NL; p0 += KC) {
      const int kc = (int)min64(KC, NL - p0);
      __m256 acc[NARROW_K];
      for (int j = 0; j < NARROW_K; j++) acc[j] = _mm256_setzero_ps();
      for (int t0 = 0; t0 < kc; t0 += 8) {
        const int count = kc - t0 < 8 ? kc - t0 : 8;
        __m256 dyT[8];
        if (count == 8 && l + 8 <= L) {
          /* 8 positions of one item: 8 channels' rows of dy, transposed in registers */
          for (int lane = 0; lane < 8; lane++) dyT[lane] = lane < lanes ? _mm256_loadu_ps(d->dy + (n * outC + o0 + lane) * L + l) : _mm256_setzero_ps();
          transpose8(dyT);
        } else {
          float t8[8][8] __attribute__((aligned(32)));
          for (int t = 0; t < count; t++)
            for (int lane = 0; lane < 8; lane++) {
              const int64_t at = l + t < L ? n * outC * L + l + t : (n + 1) * outC * L + l + t - L; /* a group crosses at most one item's end */
              t8[t][lane] = lane < lanes ? d->dy[at + (o0 + lane) * L] : 0.0f;
            }
          for (int t = 0; t < count; t++) dyT[t] = _mm256_load_ps(t8[t]);
        }
        const float *src[8];
        if (count == 8 && q + 8 < g->ow) {
          /* 8 positions along one output row: their corners step by sw·C */
          const float *at = d->xp + ((n * d->Hp + r * g->sh) * d->Wp + q * g->sw) * C;
          for (int t = 0; t < 8; t++) src[t] = at + t * g->sw * C;
          q += 8;
          l += 8;
        } else
        for (int t = 0; t < count; t++) {
          src[t] = d->xp + ((n * d->Hp + r * g->sh) * d->Wp + q * g->sw) * C;
          l++;
          if (++q == g->ow) {
            q = 0;
            r++;
          }
          if (l == L) {
            l = r = q = 0;
            n++;
          }
        }
        for (int t = 0; t < count; t++) {
          const __m256 dv = dyT[t];
          for (int j = 0; j < NARROW_K; j++)
            if (j < K) acc[j] = _mm256_fmadd_ps(dv, _mm256_set1_ps(src[t][d->off[j]]), acc[j]);
        }
      }
      for (int j = 0; j < K; j++) {
        float sums[8] __attribute__((aligned(32)));
        _mm256_store_ps(sums, acc[j]);
        for (int lane = 0; lane < lanes; lane++) {
          float *c = d->dwp + (int64_t)(o0 + lane) * K + j;
          *c = p0 == 0 ? sums[lane] : *c + sums[lane];
        }
      }
    }
  }
}

/* A 3x3 kernel over one channel (K = 9, the first layer of an image model) gets its own copy with K known. */
__attribute__((target("avx2,fma")))
static void weight_grad_narrow(const void *ctx, int part, int parts, Scratch *s) {
  (void)s;
  const WeightGrad *d = ctx;
  if (d->K == 9) narrow_sums(d, part, parts, 9);
  else narrow_sums(d, part, parts, d->K);
}

/* dw [outC, K] = dy' . im2col(x)ᵀ; 0 when out of memory. `work` is the caller's scratch. */
static int weight_grad(const Geom *g, const float *x, const float *dy, float *dw, int outC, int threads, Scratch *work) {
  const int64_t C = g->c, K = C * g->kh * g->kw, L = g->oh * g->ow, NL = g->n * L;
  const int64_t Hp = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1, Wp = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
  const int64_t xpLen = g->n * Hp * Wp * C;
  float *xp = scratch_work(work, xpLen);
  int32_t *off = malloc(sizeof(int32_t) * K), *perm = malloc(sizeof(int32_t) * K);
  uint8_t *dense = malloc((K + NR - 1) / NR);
  float *dwp = malloc(sizeof(float) * outC * K);
  if (!xp || !off || !perm || !dense || !dwp) {
    free(off), free(perm), free(dense), free(dwp);
    return 0;
  }
  memset(xp, 0, sizeof(float) * xpLen);
  const int64_t r0 = max64(0, -g->pt), r1 = min64(g->h, Hp - g->pt), s0 = max64(0, -g->pl), s1 = min64(g->w, Wp - g->pl);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t y = r0; y < r1; y++) {
        const float *src = x + ((n * C + ch) * g->h + y) * g->w;
        float *dst = xp + ((n * Hp + y + g->pt) * Wp + g->pl) * C + ch;
        for (int64_t t = s0; t < s1; t++) dst[t * C] = src[t];
      }
  for (int64_t ki = 0, j = 0; ki < g->kh; ki++)
    for (int64_t kj = 0; kj < g->kw; kj++)
      for (int64_t ch = 0; ch < C; ch++, j++) {
        off[j] = (int32_t)((ki * g->dh * Wp + kj * g->dw) * C + ch);
        perm[j] = (int32_t)((ch * g->kh + ki) * g->kw + kj);
      }
  for (int64_t k = 0; k * NR < K; k++) {
    dense[k] = k * NR + NR <= K;
    for (int64_t t = 1; dense[k] && t < NR; t++) dense[k] = off[k * NR + t] == off[k * NR] + t;
  }
  WeightGrad d = { g, xp, off, dense, Hp, Wp, (int)K, (int)K, outC, dy, dwp, NULL };
  const int big = threads > 1 && NL * outC * K >= PARALLEL_MIN_MACS;
  int32_t *corner = NULL;
  if (K <= NARROW_K) {
    pool_run(weight_grad_narrow, &d, big && outC > 8 ? pool_parts(min64(threads, (outC + 7) / 8)) : 1);
  } else {
    int allDense = K % NR == 0 && xpLen <= INT32_MAX;
    for (int64_t k = 0; allDense && k * NR < K; k++) allDense = dense[k];
    if (allDense && (corner = malloc(sizeof(int32_t) * NL)) != NULL) {
      for (int64_t n = 0, p = 0; n < g->n; n++)
        for (int64_t r = 0; r < g->oh; r++)
          for (int64_t q = 0; q < g->ow; q++) corner[p++] = (int32_t)(((n * Hp + r * g->sh) * Wp + q * g->sw) * C);
      d.corner = corner;
    }
    int parts = big && K >= 2 * NR ? pool_parts(threads) : 1;
    d.width = band_width(K, parts);
    pool_run(weight_grad_part, &d, parts);
  }
  for (int64_t o = 0; o < outC; o++)
    for (int64_t j = 0; j < K; j++) dw[o * K + perm[j]] = dwp[o * K + j];
  free(off), free(perm), free(dense), free(dwp), free(corner);
  return 1;
}

/* ---- Node-API ---- */

static int read_geom(napi_env env, napi_value v, Geom *g) {
  int32_t *a;
  size_t len;
  if (!addon_ints(env, v, &a, &len) || len != 14) return 0;
  int64_t *f = (int64_t *)g;
  for (int i = 0; i < 14; i++) f[i] = a[i];
  if (g->n < 0 || g->c < 1 || g->h < 1 || g->w < 1 || g->kh < 1 || g->kw < 1 || g->oh < 1 || g->ow < 1) return 0;
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1) return 0;
  /* every index this file forms stays far inside int64, and K, L and N·L inside int32 */
  if (g->c * g->kh * g->kw > INT32_MAX || g->n * g->oh * g->ow > INT32_MAX || g->n * g->c * g->h * g->w > INT32_MAX) return 0;
  return 1;
}

/*
 * conv2d(x, w, out, geometry, outC, threads[, bias]): true when it ran, false when declined (a
 * stride other than 1). bias, when given and not null, is a Float32Array of at least outC.
 */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *x, *w, *out, *bias = NULL;
  size_t xl, wl, ol, bl = 0;
  Geom g;
  int ok = argc == 6 || argc == 7;
  napi_valuetype tb = napi_null;
  if (ok && argc == 7) napi_typeof(env, argv[6], &tb);
  if (tb != napi_null && tb != napi_undefined) ok = ok && addon_floats(env, argv[6], &bias, &bl);
  if (!ok || !addon_floats(env, argv[0], &x, &xl) || !addon_floats(env, argv[1], &w, &wl) || !addon_floats(env, argv[2], &out, &ol))
    return addon_fail(env, "conv2d: (Float32Array x, Float32Array w, Float32Array out, Int32Array geometry, outC, threads[, Float32Array bias]) expected");
  if (!read_geom(env, argv[3], &g)) return addon_fail(env, "conv2d: invalid geometry");
  int32_t outC, threads;
  if (!addon_int32(env, argv[4], &outC) || !addon_int32(env, argv[5], &threads) || outC < 1) return addon_fail(env, "conv2d: outC >= 1 and threads expected");
  const int64_t K = g.c * g.kh * g.kw, L = g.oh * g.ow;
  if ((int64_t)xl < g.n * g.c * g.h * g.w || (int64_t)wl < outC * K || (int64_t)ol < g.n * outC * L || (bias && (int64_t)bl < outC))
    return addon_fail(env, "conv2d: an array is shorter than its geometry");
  if (g.n == 0) return addon_boolean(env, 1);
  if (!caller_scratch()) return addon_fail(env, "conv2d: out of memory");
  int r = conv_forward(&g, x, w, bias, out, outC, threads);
  if (r < 0) return addon_fail(env, "conv2d: out of memory");
  return addon_boolean(env, r);
}

/*
 * dx and dW together on 2 threads or more: dW is one part and dx the other, each whole on the
 * thread that claims it (its own loops then run alone there), which keeps both threads busy
 * without splitting either: no packing done twice, no wait at the end of a split.
 */
typedef struct {
  const Geom *g;
  const float *x, *w, *dy;
  float *dx, *dw;
  int outC;
  atomic_int *failed;
} BothGrads;

static void both_grads_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)parts, (void)s;
  const BothGrads *b = ctx;
  /* the thread's own scratch for the loops below, which run alone on it (a worker's is made on first use) */
  Scratch *own = caller_scratch();
  const int ok = own && (part == 0 ? weight_grad(b->g, b->x, b->dy, b->dw, b->outC, 1, own) : input_grad(b->g, b->w, b->dy, b->dx, b->outC, 1));
  if (!ok) atomic_store(b->failed, 1);
}

/* conv2dBackward(x, w, dy, dx | null, dw | null, geometry, outC, threads): dx and dw overwritten whole. */
static napi_value conv2d_backward(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *x, *w, *dy, *dx = NULL, *dw = NULL;
  size_t xl, wl, dyl, dxl = 0, dwl = 0;
  napi_valuetype t3 = napi_null, t4 = napi_null;
  int ok = argc == 8;
  if (ok) {
    napi_typeof(env, argv[3], &t3);
    napi_typeof(env, argv[4], &t4);
  }
  if (!ok || !addon_floats(env, argv[0], &x, &xl) || !addon_floats(env, argv[1], &w, &wl) || !addon_floats(env, argv[2], &dy, &dyl) ||
      (t3 != napi_null && !addon_floats(env, argv[3], &dx, &dxl)) || (t4 != napi_null && !addon_floats(env, argv[4], &dw, &dwl)))
    return addon_fail(env, "conv2dBackward: (Float32Array x, w, dy, dx or null, dw or null, Int32Array geometry, outC, threads) expected");
  Geom g;
  if (!read_geom(env, argv[5], &g)) return addon_fail(env, "conv2dBackward: invalid geometry");
  int32_t outC, threads;
  if (!addon_int32(env, argv[6], &outC) || !addon_int32(env, argv[7], &threads) || outC < 1) return addon_fail(env, "conv2dBackward: outC >= 1 and threads expected");
  const int64_t K = g.c * g.kh * g.kw, L = g.oh * g.ow, xLen = g.n * g.c * g.h * g.w;
  if ((int64_t)xl < xLen || (int64_t)wl < outC * K || (int64_t)dyl < g.n * outC * L || (dx && (int64_t)dxl < xLen) || (dw && (int64_t)dwl < outC * K))
    return addon_fail(env, "conv2dBackward: an array is shorter than its geometry");
  if (!caller_scratch()) return addon_fail(env, "conv2dBackward: out of memory");
  if (g.n == 0) {
    if (dw) memset(dw, 0, sizeof(float) * outC * K);
    return NULL;
  }
  if (dw && dx && threads > 1 && g.n * outC * K * L >= 2 * PARALLEL_MIN_MACS && pool_parts(2) == 2) {
    /* both gradients: one thread each, every part of each on its thread (the same bits as split) */
    atomic_int failed = 0;
    const BothGrads b = { &g, x, w, dy, dx, dw, outC, &failed };
    pool_run(both_grads_part, &b, 2);
    return atomic_load(&failed) ? addon_fail(env, "conv2dBackward: out of memory") : NULL;
  }
  if (dw && !weight_grad(&g, x, dy, dw, outC, threads, caller_scratch())) return addon_fail(env, "conv2dBackward: out of memory");
  if (dx && !input_grad(&g, w, dy, dx, outC, threads)) return addon_fail(env, "conv2dBackward: out of memory");
  return NULL;
}

void register_conv(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "conv2d", NAPI_AUTO_LENGTH, conv2d, NULL, &fn);
  napi_set_named_property(env, exports, "conv2d", fn);
  napi_create_function(env, "conv2dBackward", NAPI_AUTO_LENGTH, conv2d_backward, NULL, &fn);
  napi_set_named_property(env, exports, "conv2dBackward", fn);
}
