/*
 * Float32 sums over axes in the tensors' own arrays, for the native backend's kernel table
 * (src/backend/native/native.ts): a convolution's or a dense layer's bias gradient, a loss's mean.
 * The WebAssembly reduce copies x into its memory first, which for a 3 MB activation cost as
 * much as the sum itself.
 *
 * Bits: the stages of the WebAssembly reduce_sum (wasm/elementwise.ts), planned as reduceSimd
 * plans them (reducePlan in src/backend/wasm/elementwise-simd.ts): x is a list of groups of
 * dimensions, each reduced or kept; a stage sums the innermost reduced group [A, R, I] -> [A, I]
 * in float64, stages between them keep float64, and the last rounds to float32. A contiguous run
 * (I = 1) is summed as that kernel does: 8 lanes, lane k taking the values j = k mod 8, folded as
 * ((l0 + l2) + (l4 + l6)) + ((l1 + l3) + (l5 + l7)), then the tail one by one; a column (I > 1) is
 * summed from 0 over R in order. Built with -ffp-contract=off: the same float64 additions in the
 * same order, so the same float32 result.
 *
 * Threads: a stage's rows (A) split over the backend's threads where x has 2^17 values or more;
 * each sum is one thread's, in the order above, so any thread count gives the same bits.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include "addon.h"
#include "gemm.h"

#define MAX_GROUPS 16
#define PARALLEL_MIN 131072

/* The float64 sum of R contiguous values at p (float32 or float64), in the kernel's lane order. */
__attribute__((target("avx2"), always_inline))
static inline double run_sum(const void *p, int64_t R, int f64) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd(); /* lanes j mod 8 in 0-3, in 4-7 */
  const int64_t r8 = R & ~(int64_t)7;
  int64_t j = 0;
  if (f64) {
    const double *d = p;
    for (; j < r8; j += 8) {
      lo = _mm256_add_pd(lo, _mm256_loadu_pd(d + j));
      hi = _mm256_add_pd(hi, _mm256_loadu_pd(d + j + 4));
    }
  } else {
    const float *f = p;
    for (; j < r8; j += 8) {
      const __m256 v = _mm256_loadu_ps(f + j);
      lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
  }
  /* the kernel's four f64x2 sums are lo's halves and hi's: (s0 + s1) + (s2 + s3), then its two lanes */
  const __m128d s01 = _mm_add_pd(_mm256_castpd256_pd128(lo), _mm256_extractf128_pd(lo, 1));
  const __m128d s23 = _mm_add_pd(_mm256_castpd256_pd128(hi), _mm256_extractf128_pd(hi, 1));
  const __m128d s = _mm_add_pd(s01, s23);
  double t = _mm_cvtsd_f64(s) + _mm_cvtsd_f64(_mm_unpackhi_pd(s, s));
  if (f64) for (const double *d = p; j < R; j++) t += d[j];
  else for (const float *f = p; j < R; j++) t += (double)f[j];
  return t;
}

/* One stage: [A, R, I] -> [A, I], from src (float32 or float64) into dst (float64 or float32). */
typedef struct {
  const void *src;
  void *dst;
  int64_t A, R, I;
  int srcF64, dstF64;
} Stage;

/* Columns [i, i + 4·vectors) of row a, each summed from 0 over R in order, 4 columns a vector. */
__attribute__((target("avx2"), always_inline))
static inline void column_sums(const Stage *st, int64_t a, int64_t i, int vectors) {
  __m256d s[4] = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd() };
  for (int64_t r = 0; r < st->R; r++) {
    const int64_t at = (a * st->R + r) * st->I + i;
    for (int k = 0; k < vectors; k++)
      s[k] = _mm256_add_pd(s[k], st->srcF64 ? _mm256_loadu_pd((const double *)st->src + at + 4 * k) : _mm256_cvtps_pd(_mm_loadu_ps((const float *)st->src + at + 4 * k)));
  }
  for (int k = 0; k < vectors; k++) {
    const int64_t o = a * st->I + i + 4 * k;
    if (st->dstF64) _mm256_storeu_pd((double *)st->dst + o, s[k]);
    else _mm_storeu_ps((float *)st->dst + o, _mm256_cvtpd_ps(s[k]));
  }
}

__attribute__((target("avx2")))
static void stage_rows(const Stage *st, int64_t a0, int64_t a1) {
  const int64_t R = st->R, I = st->I;
  for (int64_t a = a0; a < a1; a++) {
    if (I == 1) {
      const double t = st->srcF64 ? run_sum((const double *)st->src + a * R, R, 1) : run_sum((const float *)st->src + a * R, R, 0);
      if (st->dstF64) ((double *)st->dst)[a] = t;
      else ((float *)st->dst)[a] = (float)t;
      continue;
    }
    /* 16 columns a step while they last (four sums in flight), then 4, then one by one */
    int64_t i = 0;
    for (; i + 16 <= I; i += 16) column_sums(st, a, i, 4);
    for (; i + 4 <= I; i += 4) column_sums(st, a, i, 1);
    for (; i < I; i++) {
      double t = 0;
      for (int64_t r = 0; r < R; r++) {
        const int64_t at = (a * R + r) * I + i;
        t += st->srcF64 ? ((const double *)st->src)[at] : (double)((const float *)st->src)[at];
      }
      if (st->dstF64) ((double *)st->dst)[a * I + i] = t;
      else ((float *)st->dst)[a * I + i] = (float)t;
    }
  }
}

static void stage_part(const void *ctx, int part, int parts, Scratch *s) {
  (void)s;
  const Stage *st = ctx;
  stage_rows(st, st->A * part / parts, st->A * (part + 1) / parts);
}

/* The innermost reduced group, -1 when none is left. */
static int innermost_reduced(const int64_t *size, const int *reduced, int count) {
  for (int g = count - 1; g >= 0; g--)
    if (reduced[g]) return g;
  return -1;
}

/*
 * sum(x, out, plan, threads): out = the sum of x over the plan's reduced groups. plan is
 * [size, reduced, size, reduced, ...] from outermost in, with at least one reduced group
 * (sumPlan); out holds the kept groups' product of values.
 */
static napi_value sum(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *x, *out;
  int32_t *plan, threads;
  size_t xl, ol, pl;
  if (argc != 4 || !addon_floats(env, argv[0], &x, &xl) || !addon_floats(env, argv[1], &out, &ol) || !addon_ints(env, argv[2], &plan, &pl) ||
      !addon_int32(env, argv[3], &threads))
    return addon_fail(env, "sum: (Float32Array x, Float32Array out, Int32Array plan, threads) expected");
  int64_t size[MAX_GROUPS];
  int reduced[MAX_GROUPS], count = (int)(pl / 2);
  int64_t total = 1, kept = 1;
  if (pl % 2 != 0 || count < 1 || count > MAX_GROUPS) return addon_fail(env, "sum: a plan of 1 to 16 (size, reduced) pairs expected");
  for (int g = 0; g < count; g++) {
    size[g] = plan[2 * g], reduced[g] = plan[2 * g + 1] != 0;
    if (size[g] < 1) return addon_fail(env, "sum: group sizes of 1 or more expected");
    total *= size[g];
    if (!reduced[g]) kept *= size[g];
    if (total > (int64_t)xl) return addon_fail(env, "sum: the plan has more values than x");
  }
  if (total != (int64_t)xl || kept > (int64_t)ol) return addon_fail(env, "sum: x or out does not match the plan");
  int g = innermost_reduced(size, reduced, count);
  if (g < 0) return addon_fail(env, "sum: the plan reduces nothing");
  if (!caller_scratch()) return addon_fail(env, "sum: out of memory");
  /* stage 1 writes total / R values, later stages fewer: two float64 buffers of that size */
  const int64_t first = total / size[g];
  double *buf = malloc(sizeof(double) * 2 * (size_t)first);
  if (!buf) return addon_fail(env, "sum: out of memory");
  const void *src = x;
  int srcF64 = 0, which = 0;
  for (; g >= 0; g = innermost_reduced(size, reduced, count)) {
    int64_t A = 1;
    int final = 1;
    for (int k = 0; k < g; k++) {
      A *= size[k];
      if (reduced[k]) final = 0;
    }
    const int64_t R = size[g], I = g + 1 < count ? size[g + 1] : 1;
    Stage st = { src, final ? (void *)out : (void *)(buf + which * first), A, R, I, srcF64, !final };
    pool_run(stage_part, &st, A * R * I >= PARALLEL_MIN ? pool_split(threads, A) : 1);
    /* [.., R, I] -> [.., I], I merged into the kept group before R */
    count = g;
    if (count > 0 && !reduced[count - 1]) size[count - 1] *= I;
    else if (I > 1) size[count] = I, reduced[count] = 0, count++;
    src = st.dst, srcF64 = !final, which ^= 1;
  }
  free(buf);
  return NULL;
}

void register_reduce(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sum", NAPI_AUTO_LENGTH, sum, NULL, &fn);
  napi_set_named_property(env, exports, "sum", fn);
}
