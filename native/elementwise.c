/*
 * Float32 elementwise maps, broadcasting binaries, max-pool argmax, gather and scatter-add in the
 * tensors' own arrays, for the native backend's kernel table (src/backend/native/native.ts). The
 * WebAssembly kernels they replace copy every operand into their memory and the result out again;
 * for memory-bound work that traffic is most of the cost.
 *
 * Bits: each is the TypeScript kernel's (src/backend/cpu/elementwise.ts, window.ts, movement.ts)
 * op for op. add, sub, mul, div and sqrt round once to float32 (the TypeScript float64 result
 * rounded to float32 is the same number), comparisons and maxima follow its NaN rules, copies move
 * words, and scatter-add adds in index order. Built with -ffp-contract=off: nothing is fused.
 *
 * Maps, broadcasts and max-pool of 2^17 outputs or more split over the backend's threads (whole
 * rows or planes, each element computed by one thread: the same bits for any count).
 *
 * A function returns false, writing nothing, for an op it does not run; the caller then runs the
 * WebAssembly or TypeScript kernel. Array lengths and indices are checked: a bad call throws a
 * RangeError; an index outside x reads NaN (take), outside out is skipped (scatter-add), as the
 * TypeScript kernels do.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "addon.h"
#include "gemm.h"

/* the unary ops, numbered as UNARY_OPS in native.ts */
enum { U_NEG, U_ABS, U_RELU, U_STEP, U_SQUARE, U_SQRT, U_RECIPROCAL, U_COUNT };
/* the binary ops, numbered as BINARY_OPS in native.ts */
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_RELU_GRAD, B_COUNT };

#define MAX_RANK 8

/*
 * ReLU and its backward in 8 lanes (the compiler leaves their NaN-keeping selects scalar): a lane
 * keeps its word where the mask is set and is +0 elsewhere, as the scalar expressions give.
 */
__attribute__((target("avx2")))
static void relu_avx2(const float *restrict x, float *restrict out, size_t n) {
  size_t i = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 keep = _mm256_or_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    _mm256_storeu_ps(out + i, _mm256_and_ps(v, keep));
  }
  for (; i < n; i++) { float v = x[i]; out[i] = v > 0 ? v : v != v ? v : 0.0f; }
}

/* out = y <= 0 ? +0 : g (ReLU's input y; a NaN y passes g) */
__attribute__((target("avx2")))
static void relu_grad_avx2(const float *restrict g, const float *restrict y, float *restrict out, int64_t n) {
  int64_t i = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    __m256 off = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_LE_OQ);
    _mm256_storeu_ps(out + i, _mm256_andnot_ps(off, _mm256_loadu_ps(g + i)));
  }
  for (; i < n; i++) out[i] = y[i] <= 0 ? 0.0f : g[i];
}

static void unary_run(int op, const float *restrict x, float *restrict out, size_t n) {
  switch (op) {
    case U_NEG: for (size_t i = 0; i < n; i++) out[i] = -x[i]; break;
    case U_ABS: for (size_t i = 0; i < n; i++) out[i] = fabsf(x[i]); break;
    case U_RELU: relu_avx2(x, out, n); break;
    case U_STEP: for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? 1.0f : 0.0f; break;
    case U_SQUARE: for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case U_SQRT: for (size_t i = 0; i < n; i++) out[i] = sqrtf(x[i]); break;
    case U_RECIPROCAL: for (size_t i = 0; i < n; i++) out[i] = 1.0f / x[i]; break;
  }
}

/* One row: out[i] = a[i*sa] op b[i*sb]; the common stride pairs get loops the compiler vectorizes. */
#define ROW(EXPR)                                                                              \
  do {                                                                                         \
    if (sa == 1 && sb == 1) for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = (EXPR); } \
    else if (sa == 1 && sb == 0) { float y = b[0]; for (int64_t i = 0; i < n; i++) { float x = a[i]; out[i] = (EXPR); } } \
    else if (sa == 0 && sb == 1) { float x = a[0]; for (int64_t i = 0; i < n; i++) { float y = b[i]; out[i] = (EXPR); } } \
    else for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; out[i] = (EXPR); } \
  } while (0)

static void binary_row(int op, const float *restrict a, int64_t sa, const float *restrict b, int64_t sb, float *restrict out, int64_t n) {
  switch (op) {
    case B_ADD: ROW(x + y); break;
    case B_SUB: ROW(x - y); break;
    case B_MUL: ROW(x * y); break;
    case B_DIV: ROW(x / y); break;
    case B_MAXIMUM: ROW(x > y || x != x ? x : y); break;
    case B_MINIMUM: ROW(x < y || x != x ? x : y); break;
    case B_EQ: ROW(x == y ? 1.0f : 0.0f); break;
    case B_NE: ROW(x != y ? 1.0f : 0.0f); break;
    case B_LT: ROW(x < y ? 1.0f : 0.0f); break;
    case B_LE: ROW(x <= y ? 1.0f : 0.0f); break;
    case B_GT: ROW(x > y ? 1.0f : 0.0f); break;
    case B_GE: ROW(x >= y ? 1.0f : 0.0f); break;
    case B_RELU_GRAD: /* +0 where ReLU's input y <= 0, else the gradient x */
      if (sa == 1 && sb == 1) relu_grad_avx2(a, b, out, n);
      else ROW(y <= 0 ? 0.0f : x);
      break;
  }
}

/*
 * Threads: a map of at least PARALLEL_MIN_ELEMENTS outputs is split into contiguous parts, a few per
 * thread (pool_split; whole rows for binary, or pieces of rows where there are fewer rows than parts, as in
 * an op on two arrays of one shape; whole planes for max-pool), each element still computed by one thread
 * by the same expression, so any thread count gives the same bits. Below that, waking a worker
 * costs more than the half it would take.
 */
#define PARALLEL_MIN_ELEMENTS (1 << 17)

/* How many parts a map of `size` outputs runs in on `threads` threads (0 when out of memory). */
static int map_parts(int32_t threads, int64_t size) {
  if (threads <= 1 || size < PARALLEL_MIN_ELEMENTS) return 1;
  return caller_scratch() ? pool_split(threads, size / 16) : 0;
}

/* [lo, hi) of n items for one of `parts` parts, lo a multiple of `align` (the last part takes the rest). */
static void part_range(int64_t n, int part, int parts, int64_t align, int64_t *lo, int64_t *hi) {
  *lo = n * part / parts / align * align;
  *hi = part + 1 == parts ? n : n * (part + 1) / parts / align * align;
}

typedef struct {
  int op;
  const float *x;
  float *out;
  int64_t n;
} Unary;

static void unary_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)s;
  const Unary *u = ctx;
  int64_t lo, hi;
  part_range(u->n, part, parts, 16, &lo, &hi);
  if (hi > lo) unary_run(u->op, u->x + lo, u->out + lo, (size_t)(hi - lo));
}

/* unary(op, x, out[, threads]): out[i] = op(x[i]) for i < min(x.length, out.length). */
static napi_value unary(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t op, threads = 1;
  float *x, *out;
  size_t xl, ol;
  if ((argc != 3 && argc != 4) || !addon_int32(env, argv[0], &op) || !addon_floats(env, argv[1], &x, &xl) || !addon_floats(env, argv[2], &out, &ol) ||
      (argc == 4 && !addon_int32(env, argv[3], &threads)))
    return addon_fail(env, "unary: (op, Float32Array x, Float32Array out[, threads]) expected");
  if (op < 0 || op >= U_COUNT) return addon_boolean(env, 0);
  const Unary u = { .op = op, .x = x, .out = out, .n = (int64_t)(xl < ol ? xl : ol) };
  const int parts = map_parts(threads, u.n);
  if (!parts) return addon_fail(env, "unary: out of memory");
  pool_run(unary_part, &u, parts);
  return addon_boolean(env, 1);
}

typedef struct {
  int op;
  const float *a, *b;
  float *out;
  const int32_t *shape, *strides;
  int rank;
  int64_t rows;   /* size / shape[rank - 1] */
  int64_t pieces; /* per row: 1, or, where there are fewer rows than parts (a same-shape op is one row), pieces of whole 16s */
} Binary;

/* Where row `row` of the walk starts in a and b: its index (into idx) times the strides. */
static void row_start(const Binary *w, int64_t row, int64_t *idx, int64_t *ia, int64_t *ib) {
  *ia = *ib = 0;
  for (int64_t d = w->rank - 2, r = row; d >= 0; d--) {
    idx[d] = r % w->shape[d];
    r /= w->shape[d];
    *ia += idx[d] * w->strides[d];
    *ib += idx[d] * w->strides[w->rank + d];
  }
}

/* Rows [lo, hi) of the broadcast walk (the odometer starts at row lo's index), or pieces [lo, hi) of rows. */
static void binary_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)s;
  const Binary *w = ctx;
  const int rank = w->rank;
  const int32_t *shape = w->shape, *strides = w->strides;
  const int64_t n = shape[rank - 1], sa = strides[rank - 1], sb = strides[2 * rank - 1];
  int64_t lo, hi, idx[MAX_RANK] = { 0 }, ia, ib;
  part_range(w->rows * w->pieces, part, parts, 1, &lo, &hi);
  if (hi <= lo) return;
  if (w->pieces > 1) {
    for (int64_t u = lo; u < hi; u++) {
      const int64_t row = u / w->pieces;
      int64_t c0, c1;
      part_range(n, (int)(u % w->pieces), (int)w->pieces, 16, &c0, &c1);
      row_start(w, row, idx, &ia, &ib);
      if (c1 > c0) binary_row(w->op, w->a + ia + c0 * sa, sa, w->b + ib + c0 * sb, sb, w->out + row * n + c0, c1 - c0);
    }
    return;
  }
  row_start(w, lo, idx, &ia, &ib);
  for (int64_t row = lo; row < hi; row++) {
    binary_row(w->op, w->a + ia, sa, w->b + ib, sb, w->out + row * n, n);
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      ia += strides[d];
      ib += strides[rank + d];
      if (idx[d] < shape[d]) break;
      ia -= (int64_t)strides[d] * shape[d];
      ib -= (int64_t)strides[rank + d] * shape[d];
      idx[d] = 0;
    }
  }
}

/*
 * binary(op, a, b, out, shape, strides[, threads]): out (row-major over shape) = a op b, the
 * operands walked with strides [a's per dim, then b's per dim] (a coalesced BroadcastInfo, rank
 * <= MAX_RANK).
 */
static napi_value binary(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t op, *shape, *strides, threads = 1;
  float *a, *b, *out;
  size_t al, bl, ol, rank, sl;
  if ((argc != 6 && argc != 7) || !addon_int32(env, argv[0], &op) || !addon_floats(env, argv[1], &a, &al) || !addon_floats(env, argv[2], &b, &bl) ||
      !addon_floats(env, argv[3], &out, &ol) || !addon_ints(env, argv[4], &shape, &rank) || !addon_ints(env, argv[5], &strides, &sl) ||
      (argc == 7 && !addon_int32(env, argv[6], &threads)))
    return addon_fail(env, "binary: (op, Float32Array a, b, out, Int32Array shape, Int32Array strides[, threads]) expected");
  if (op < 0 || op >= B_COUNT || rank > MAX_RANK) return addon_boolean(env, 0);
  if (sl != 2 * rank) return addon_fail(env, "binary: two strides per dimension expected");
  int64_t size = 1, aMax = 0, bMax = 0;
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 0 || strides[d] < 0 || strides[rank + d] < 0) return addon_fail(env, "binary: negative shape or stride");
    size *= shape[d];
    if (shape[d] > 0) {
      aMax += (int64_t)strides[d] * (shape[d] - 1);
      bMax += (int64_t)strides[rank + d] * (shape[d] - 1);
    }
  }
  if (size == 0) return addon_boolean(env, 1);
  if ((int64_t)ol < size || aMax >= (int64_t)al || bMax >= (int64_t)bl) return addon_fail(env, "binary: an array is shorter than the broadcast walks");
  if (rank == 0) {
    binary_row(op, a, 0, b, 0, out, 1);
    return addon_boolean(env, 1);
  }
  Binary w = { .op = op, .a = a, .b = b, .out = out, .shape = shape, .strides = strides, .rank = (int)rank, .rows = size / shape[rank - 1], .pieces = 1 };
  const int parts = map_parts(threads, size);
  if (!parts) return addon_fail(env, "binary: out of memory");
  if (w.rows < parts) w.pieces = addon_ceil_div(parts, w.rows);
  pool_run(binary_part, &w, parts < w.rows * w.pieces ? parts : (int)(w.rows * w.pieces));
  return addon_boolean(env, 1);
}

/* The flat index of the maximum of the window at (y0, x0) of the plane at base (one output of maxPoolIndicesInto). */
static int32_t window_max(const float *x, int64_t base, int64_t y0, int64_t x0, const int64_t *g) {
  const int64_t h = g[2], w = g[3], kh = g[4], kw = g[5], dh = g[10], dw = g[11];
  int64_t best = -1;
  float bv = -INFINITY;
  for (int64_t i = 0; i < kh; i++) {
    const int64_t y = y0 + i * dh;
    if (y < 0 || y >= h) continue;
    for (int64_t j = 0; j < kw; j++) {
      const int64_t xc = x0 + j * dw;
      if (xc < 0 || xc >= w) continue;
      const int64_t idx = base + y * w + xc;
      const float v = x[idx];
      if (best < 0 || v > bv || (v != v && bv == bv)) {
        best = idx;
        bv = v;
      }
    }
  }
  return (int32_t)best;
}

/* The same for a window wholly inside the input whose corner is x[corner]: the first element seeds the maximum. */
static int32_t window_max_inside(const float *x, int32_t corner, const int64_t *g) {
  const int64_t w = g[3], kh = g[4], kw = g[5], dh = g[10], dw = g[11];
  int64_t best = corner;
  float bv = x[corner];
  for (int64_t i = 0; i < kh; i++)
    for (int64_t j = 0; j < kw; j++) {
      const int64_t idx = corner + i * dh * w + j * dw;
      const float v = x[idx];
      if (v > bv || (v != v && bv == bv)) {
        best = idx;
        bv = v;
      }
    }
  return (int32_t)best;
}

/*
 * One element of eight windows' running maximum: the running maximum bv (at best) takes v (at idx)
 * where window_max would (v > bv, or v the first NaN), by a blend, not a branch (which element of
 * a window wins is random, and a branch mispredicted that often cost 4x the whole kernel).
 */
__attribute__((target("avx2"), always_inline))
static inline void max8_step(__m256 *bv, __m256i *best, __m256 v, __m256i idx) {
  const __m256 take = _mm256_andnot_ps(_mm256_cmp_ps(v, *bv, _CMP_LE_OQ), _mm256_cmp_ps(*bv, *bv, _CMP_EQ_OQ));
  *bv = _mm256_blendv_ps(*bv, v, take);
  *best = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*best), _mm256_castsi256_ps(idx), take));
}

/* Eight windows wholly inside the input, their corners at x[at[t]]: the flat indices of their maxima. */
__attribute__((target("avx2"), always_inline))
static inline __m256i max8(const float *x, __m256i at, const int64_t *g) {
  const int64_t w = g[3], kh = g[4], kw = g[5], dh = g[10], dw = g[11];
  __m256 bv = _mm256_i32gather_ps(x, at, 4);
  __m256i best = at;
  for (int64_t i = 0; i < kh; i++)
    for (int64_t j = i == 0 ? 1 : 0; j < kw; j++) {
      const __m256i idx = _mm256_add_epi32(at, _mm256_set1_epi32((int32_t)(i * dh * w + j * dw)));
      max8_step(&bv, &best, _mm256_i32gather_ps(x, idx, 4), idx);
    }
  return best;
}

/*
 * max8 for m <= 8 windows side by side, two wide with stride 2 (kw 2, sw 2, dw 1: W2's 2x2 pool):
 * each window row is 2m contiguous floats, loaded (masked past them) and split into the windows'
 * left (even) and right (odd) elements, in place of two gathers. The same comparisons in the same
 * order as max8; lanes from m on are not windows.
 */
__attribute__((target("avx2"), always_inline))
static inline __m256i max8_pairs(const float *x, int64_t first, const int64_t *g, int m) {
  const int64_t w = g[3], kh = g[4], dh = g[10];
  const __m256i at = _mm256_add_epi32(_mm256_set1_epi32((int32_t)first), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
  __m256 bv = _mm256_setzero_ps();
  __m256i best = at;
  for (int64_t i = 0; i < kh; i++) {
    const float *row = x + first + i * dh * w;
    __m256 lo, hi;
    if (m == 8) {
      lo = _mm256_loadu_ps(row);
      hi = _mm256_loadu_ps(row + 8);
    } else {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      lo = _mm256_maskload_ps(row, _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * m), lane));
      hi = _mm256_maskload_ps(row + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * m - 8), lane));
    }
    /* shuffle_ps works within 128-bit lanes: [l0 l2 h0 h2 | l4 l6 h4 h6], then the middle 64-bit quarters swapped */
    const __m256 even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
    const __m256 odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
    const __m256i rowAt = _mm256_add_epi32(at, _mm256_set1_epi32((int32_t)(i * dh * w)));
    if (i == 0) bv = even; /* the first element seeds the maximum, as in max8 */
    else max8_step(&bv, &best, even, rowAt);
    max8_step(&bv, &best, odd, _mm256_add_epi32(rowAt, _mm256_set1_epi32(1)));
  }
  return best;
}

/* Eight windows side by side in a row, the first's corner at x[first], the next sw further each: into out[0..7]. */
__attribute__((target("avx2")))
static void window_max8_row(const float *x, int64_t first, int64_t sw, int32_t *out, const int64_t *g) {
  const __m256i at = _mm256_add_epi32(_mm256_set1_epi32((int32_t)first), _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int32_t)sw)));
  _mm256_storeu_si256((__m256i *)out, max8(x, at, g));
}

/* 1 <= m <= 8 windows side by side of max8_pairs' kind, the first's corner at x[first]: into out[0..m-1]. */
__attribute__((target("avx2")))
static void window_max_pairs(const float *x, int64_t first, int m, int32_t *out, const int64_t *g) {
  if (m == 8) {
    _mm256_storeu_si256((__m256i *)out, max8_pairs(x, first, g, 8));
    return;
  }
  int32_t all[8];
  _mm256_storeu_si256((__m256i *)all, max8_pairs(x, first, g, m));
  memcpy(out, all, (size_t)m * sizeof(int32_t));
}

/* Eight windows anywhere, their corners at x[corner[t]]: into *dest[t]. */
__attribute__((target("avx2")))
static void window_max8_at(const float *x, const int32_t *corner, int32_t *const *dest, const int64_t *g) {
  int32_t out[8];
  _mm256_storeu_si256((__m256i *)out, max8(x, _mm256_loadu_si256((const __m256i *)corner), g));
  for (int t = 0; t < 8; t++) *dest[t] = out[t];
}

typedef struct {
  const float *x;
  int32_t *out;
  uint32_t *values; /* NULL, or x at each index as words (the take of max-pool's forward, done per plane while it is in cache) */
  const int64_t *g;
  int64_t owLo, owHi; /* the ow whose window is inside the row */
  int vector;
} MaxPool;

/* Planes [lo, hi) of the batch's N·C; the windows gathered across rows and planes are flushed at the end of the part. */
static void max_pool_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)s;
  const MaxPool *m = ctx;
  const int64_t *g = m->g;
  const float *x = m->x;
  const int64_t h = g[2], w = g[3], kh = g[4], sh = g[6], sw = g[7], pt = g[8], pl = g[9], dh = g[10], oh = g[12], ow = g[13];
  const int64_t owLo = m->owLo, owHi = m->owHi;
  const int vector = m->vector, pairs = sw == 2 && g[5] == 2 && g[11] == 1;
  int64_t lo, hi;
  part_range(g[0] * g[1], part, parts, 1, &lo, &hi);
  int32_t corner[8], *dest[8];
  int pending = 0;
  int32_t *o = m->out + lo * oh * ow;
  for (int64_t plane = lo; plane < hi; plane++) {
    const int64_t base = plane * h * w;
    for (int64_t r = 0; r < oh; r++, o += ow) {
      const int64_t y0 = r * sh - pt;
      const int rowInside = y0 >= 0 && y0 + (kh - 1) * dh < h;
      if (vector && rowInside && pairs && owHi > owLo) {
        /* windows two wide with stride 2: each row of up to 8 inside windows read as contiguous floats, not gathered */
        for (int64_t q = 0; q < owLo; q++) o[q] = window_max(x, base, y0, q * sw - pl, g);
        for (int64_t q = owLo; q < owHi; q += 8) window_max_pairs(x, base + y0 * w + q * sw - pl, (int)(owHi - q < 8 ? owHi - q : 8), o + q, g);
        for (int64_t q = owHi; q < ow; q++) o[q] = window_max(x, base, y0, q * sw - pl, g);
        continue;
      }
      if (vector && rowInside && owHi - owLo >= 8) {
        /* a row of 8 or more inside windows: groups of 8 side by side, the last overlapping the one before (a window recomputed gives the same index) */
        for (int64_t q = 0; q < owLo; q++) o[q] = window_max(x, base, y0, q * sw - pl, g);
        for (int64_t q = owLo;; q += 8) {
          if (q + 8 > owHi) q = owHi - 8;
          window_max8_row(x, base + y0 * w + q * sw - pl, sw, o + q, g);
          if (q + 8 == owHi) break;
        }
        for (int64_t q = owHi; q < ow; q++) o[q] = window_max(x, base, y0, q * sw - pl, g);
        continue;
      }
      for (int64_t q = 0; q < ow; q++) {
        if (!rowInside || q < owLo || q >= owHi) {
          o[q] = window_max(x, base, y0, q * sw - pl, g);
          continue;
        }
        corner[pending] = (int32_t)(base + y0 * w + q * sw - pl);
        dest[pending] = o + q;
        if (++pending == 8 && vector) {
          window_max8_at(x, corner, dest, g);
          pending = 0;
        } else if (pending == 8) {
          for (int t = 0; t < 8; t++) *dest[t] = window_max_inside(x, corner[t], g);
          pending = 0;
        }
      }
    }
    if (m->values) {
      /* the plane's windows all found (a window computed alone gives the index it would in a group), then its maxima */
      for (int t = 0; t < pending; t++) *dest[t] = window_max_inside(x, corner[t], g);
      pending = 0;
      const uint32_t *xw = (const uint32_t *)x;
      for (int64_t k = plane * oh * ow; k < (plane + 1) * oh * ow; k++) m->values[k] = xw[m->out[k]];
    }
  }
  for (int t = 0; t < pending; t++) *dest[t] = window_max_inside(x, corner[t], g);
}

/*
 * maxPoolIndices(x, out, geometry[, threads[, values]]): maxPoolIndicesInto of window.ts (padding never wins; a
 * NaN does); with values (not undefined), also values[i] = x[out[i]] as words (take's bits).
 */
static napi_value max_pool_indices(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *x, *values = NULL;
  int32_t *out, *gv, threads = 1;
  size_t xl, ol, gl, vl = 0;
  napi_valuetype tv = napi_undefined;
  if (argc == 5) napi_typeof(env, argv[4], &tv);
  if (argc < 3 || argc > 5 || !addon_floats(env, argv[0], &x, &xl) || !addon_ints(env, argv[1], &out, &ol) || !addon_ints(env, argv[2], &gv, &gl) ||
      gl != 14 || (argc >= 4 && !addon_int32(env, argv[3], &threads)) || (tv != napi_undefined && !addon_floats(env, argv[4], &values, &vl)))
    return addon_fail(env, "maxPoolIndices: (Float32Array x, Int32Array out, Int32Array geometry[, threads[, Float32Array values]]) expected");
  int64_t g[14];
  for (int i = 0; i < 14; i++) g[i] = gv[i];
  const int64_t n = g[0], c = g[1], h = g[2], w = g[3], kh = g[4], kw = g[5], sh = g[6], sw = g[7], pl = g[9], dh = g[10], dw = g[11], oh = g[12], ow = g[13];
  for (int i = 0; i < 14; i++)
    if (g[i] < 0) return addon_fail(env, "maxPoolIndices: invalid geometry");
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || kh < 1 || kw < 1) return addon_fail(env, "maxPoolIndices: invalid geometry");
  if ((int64_t)xl < n * c * h * w || (int64_t)ol < n * c * oh * ow || (values && (int64_t)vl < n * c * oh * ow) || n * c * h * w > INT32_MAX)
    return addon_fail(env, "maxPoolIndices: an array is shorter than its geometry");
  /* the ow whose window is inside the row: ow·sw − pl >= 0 and ow·sw − pl + (kw − 1)·dw < w */
  const int64_t owLo = ow < addon_ceil_div(pl, sw) ? ow : addon_ceil_div(pl, sw);
  int64_t owHi = addon_ceil_div(w - (kw - 1) * dw + pl, sw);
  owHi = owHi > ow ? ow : owHi;
  owHi = owHi < owLo ? owLo : owHi;
  /* windows wholly inside go to max8 in groups of 8 (a row's, or gathered across narrow rows and planes); edge windows one by one */
  const MaxPool m = { .x = x, .out = out, .values = (uint32_t *)values, .g = g, .owLo = owLo, .owHi = owHi, .vector = addon_cpu_supported() };
  const int64_t planes = n * c;
  if (planes == 0) return NULL;
  int parts = map_parts(threads, n * c * h * w); /* the work is in the inputs read, kh·kw per output or more */
  if (!parts) return addon_fail(env, "maxPoolIndices: out of memory");
  pool_run(max_pool_part, &m, parts < planes ? parts : (int)planes);
  return NULL;
}

/* take(x, indices, out): out[i] = x[indices[i]] as words (Float32Array or Int32Array, one kind); outside x: NaN / 0. */
static napi_value take(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t *x, *out;
  int32_t *indices;
  size_t xl, il, ol;
  uint32_t fill;
  if (argc == 3 && addon_floats(env, argv[0], (float **)&x, &xl) && addon_floats(env, argv[2], (float **)&out, &ol)) fill = 0x7fc00000u;
  else if (argc == 3 && addon_ints(env, argv[0], (int32_t **)&x, &xl) && addon_ints(env, argv[2], (int32_t **)&out, &ol)) fill = 0;
  else return addon_fail(env, "take: (x, Int32Array indices, out), x and out both Float32Array or both Int32Array, expected");
  if (!addon_ints(env, argv[1], &indices, &il)) return addon_fail(env, "take: Int32Array indices expected");
  const size_t n = il < ol ? il : ol;
  for (size_t i = 0; i < n; i++) {
    const int32_t k = indices[i];
    out[i] = k >= 0 && (size_t)k < xl ? x[k] : fill;
  }
  return NULL;
}

/* scatterAdd(x, indices, out): out[indices[i]] += x[i] in order of i; indices outside out are skipped. */
static napi_value scatter_add(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *x, *out;
  int32_t *indices;
  size_t xl, il, ol;
  if (argc != 3 || !addon_floats(env, argv[0], &x, &xl) || !addon_ints(env, argv[1], &indices, &il) || !addon_floats(env, argv[2], &out, &ol))
    return addon_fail(env, "scatterAdd: (Float32Array x, Int32Array indices, Float32Array out) expected");
  if (xl < il) return addon_fail(env, "scatterAdd: fewer values than indices");
  for (size_t i = 0; i < il; i++) {
    const int32_t k = indices[i];
    if (k >= 0 && (size_t)k < ol) out[k] += x[i];
  }
  return NULL;
}

void register_elementwise(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = { { "unary", unary }, { "binary", binary }, { "maxPoolIndices", max_pool_indices }, { "take", take }, { "scatterAdd", scatter_add } };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}
