/*
 * The fused optimizer update's float32 stages (src/backend/update.ts) on AVX2, in place in the
 * tensors' own arrays: the native backend's `applyUpdate` (src/backend/native/native.ts) hands the
 * whole program to one call, which copies the gradient into the output, runs each stage over it
 * (u) and the slots, and ends with `apply` (out = θ + f·u), a block of 1024 elements at a time so
 * that u stays in L1 between stages. Nothing is copied into or out of another memory, unlike the WebAssembly
 * update it replaces (wasm/update.ts), whose math this is, op for op: every operation rounds to
 * float32 (IEEE add, mul, div and sqrt in 8 lanes, and a scalar tail; built with
 * -ffp-contract=off, so no multiply-add is fused), so results equal the TypeScript kernel's bits
 * (test/backend/native.test.ts runs every optimizer on both).
 *
 * Each function takes Float32Arrays of one length n and float32 constants (the JavaScript numbers,
 * rounded to float32 as the WebAssembly stages' f32 parameters are); a length mismatch is a
 * RangeError.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "addon.h"

#define TARGET __attribute__((target("avx2")))
#define LD _mm256_loadu_ps
#define ST _mm256_storeu_ps
#define SPLAT _mm256_set1_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define SQRT _mm256_sqrt_ps

/* u = f·u */
TARGET static void scale(float *u, size_t n, float f) {
  size_t i = 0;
  for (__m256 F = SPLAT(f); i + 8 <= n; i += 8) ST(u + i, MUL(LD(u + i), F));
  for (; i < n; i++) u[i] = u[i] * f;
}

/* u = u + wd·θ */
TARGET static void weight_decay(float *u, const float *theta, size_t n, float wd) {
  size_t i = 0;
  for (__m256 W = SPLAT(wd); i + 8 <= n; i += 8) ST(u + i, ADD(LD(u + i), MUL(LD(theta + i), W)));
  for (; i < n; i++) u[i] = u[i] + theta[i] * wd;
}

/*
 * m = β1·m + k1·g, v = β2·v + k2·g², u = (m / bc1) / (√v / bc2 + ε). A bias correction that has
 * reached 1 (bc1 after some 170 steps with β1 = 0.9) is not divided by: x / 1 is x, bit for bit,
 * and the divisions are what bounds this loop (a third of its time each, the square root aside).
 */
TARGET static void adam(float *u, float *m, float *v, size_t n, float b1, float k1, float b2, float k2, float eps, float bc1, float bc2) {
  const __m256 B1 = SPLAT(b1), K1 = SPLAT(k1), B2 = SPLAT(b2), K2 = SPLAT(k2), E = SPLAT(eps), C1 = SPLAT(bc1), C2 = SPLAT(bc2);
  const int by1 = bc1 != 1.0f, by2 = bc2 != 1.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = LD(u + i);
    __m256 mi = ADD(MUL(LD(m + i), B1), MUL(g, K1));
    __m256 vi = ADD(MUL(LD(v + i), B2), MUL(MUL(g, g), K2));
    ST(m + i, mi);
    ST(v + i, vi);
    const __m256 num = by1 ? DIV(mi, C1) : mi, root = SQRT(vi);
    ST(u + i, DIV(num, ADD(by2 ? DIV(root, C2) : root, E)));
  }
  for (; i < n; i++) {
    float g = u[i];
    float mi = m[i] * b1 + g * k1;
    float vi = v[i] * b2 + (g * g) * k2;
    m[i] = mi;
    v[i] = vi;
    u[i] = (mi / bc1) / (sqrtf(vi) / bc2 + eps);
  }
}

/* b = u (first) or μ·b + (keep·)u; u = u + μ·b (nesterov) or b */
TARGET static void momentum(float *u, float *b, size_t n, float mu, float keep, int dampened, int nesterov, int first) {
  const __m256 M = SPLAT(mu), K = SPLAT(keep);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = LD(u + i);
    __m256 bi = first ? g : ADD(MUL(LD(b + i), M), dampened ? MUL(g, K) : g);
    ST(b + i, bi);
    ST(u + i, nesterov ? ADD(g, MUL(bi, M)) : bi);
  }
  for (; i < n; i++) {
    float g = u[i];
    float bi = first ? g : b[i] * mu + (dampened ? g * keep : g);
    b[i] = bi;
    u[i] = nesterov ? g + bi * mu : bi;
  }
}

/* s = s + g², u = g / (√s + ε), then u / decay when decayed */
TARGET static void adagrad(float *u, float *s, size_t n, float eps, float decay, int decayed) {
  const __m256 E = SPLAT(eps), D = SPLAT(decay);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = LD(u + i);
    __m256 si = ADD(LD(s + i), MUL(g, g));
    ST(s + i, si);
    __m256 q = DIV(g, ADD(SQRT(si), E));
    ST(u + i, decayed ? DIV(q, D) : q);
  }
  for (; i < n; i++) {
    float g = u[i];
    float si = s[i] + g * g;
    s[i] = si;
    float q = g / (sqrtf(si) + eps);
    u[i] = decayed ? q / decay : q;
  }
}

/* RMSProp: sq = α·sq + keep·g²; centered: ga = α·ga + keep·g, d = √(sq − ga²) + ε, else d = √sq + ε; u = g/d or b = μ·b + g/d, u = b */
TARGET static void rms(float *u, float *sq, float *ga, float *b, size_t n, float alpha, float keep, float eps, float mu, int centered, int withMomentum) {
  const __m256 A = SPLAT(alpha), K = SPLAT(keep), E = SPLAT(eps), M = SPLAT(mu);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = LD(u + i);
    __m256 s = ADD(MUL(LD(sq + i), A), MUL(MUL(g, g), K));
    ST(sq + i, s);
    __m256 d;
    if (centered) {
      __m256 m = ADD(MUL(LD(ga + i), A), MUL(g, K));
      ST(ga + i, m);
      d = ADD(SQRT(SUB(s, MUL(m, m))), E);
    } else {
      d = ADD(SQRT(s), E);
    }
    if (withMomentum) {
      __m256 bi = ADD(MUL(LD(b + i), M), DIV(g, d));
      ST(b + i, bi);
      ST(u + i, bi);
    } else {
      ST(u + i, DIV(g, d));
    }
  }
  for (; i < n; i++) {
    float g = u[i];
    float s = sq[i] * alpha + (g * g) * keep;
    sq[i] = s;
    float d;
    if (centered) {
      float m = ga[i] * alpha + g * keep;
      ga[i] = m;
      d = sqrtf(s - m * m) + eps;
    } else {
      d = sqrtf(s) + eps;
    }
    if (withMomentum) {
      float bi = b[i] * mu + g / d;
      b[i] = bi;
      u[i] = bi;
    } else {
      u[i] = g / d;
    }
  }
}

/* out = θ + f·u (scaled) or θ + u, where out holds u */
TARGET static void apply(float *out, const float *theta, size_t n, float f, int scaled) {
  const __m256 F = SPLAT(f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 x = LD(out + i);
    ST(out + i, ADD(LD(theta + i), scaled ? MUL(x, F) : x));
  }
  for (; i < n; i++) out[i] = theta[i] + (scaled ? out[i] * f : out[i]);
}

/* ---- Node-API: update(stages Int32Array, arrays[], constants Float64Array, grad, out) ---- */

enum { SCALE, WEIGHT_DECAY, ADAM, MOMENTUM, ADAGRAD, RMS, APPLY, STAGES };
/* how many arrays and constants each stage takes */
static const int ARRAYS[STAGES] = { 1, 2, 3, 2, 2, 4, 2 };
static const int CONSTANTS[STAGES] = { 1, 1, 7, 5, 3, 6, 2 };
#define MAX_STAGES 16
/* elements per block: every stage runs over one block (in L1) before the next block starts */
#define BLOCK 1024

typedef struct {
  int code;
  float *a[4]; /* a[0] is u: the output array */
  float f[7];  /* the constants rounded to float32, as the WebAssembly stages take them */
  double c[7];
} Stage;

static void run_stage(const Stage *st, size_t at, size_t n) {
  float *u = st->a[0] + at;
  float *a1 = st->a[1] ? st->a[1] + at : NULL, *a2 = st->a[2] ? st->a[2] + at : NULL, *a3 = st->a[3] ? st->a[3] + at : NULL;
  const float *f = st->f;
  switch (st->code) {
    case SCALE: scale(u, n, f[0]); break;
    case WEIGHT_DECAY: weight_decay(u, a1, n, f[0]); break;
    case ADAM: adam(u, a1, a2, n, f[0], f[1], f[2], f[3], f[4], f[5], f[6]); break;
    case MOMENTUM: momentum(u, a1, n, f[0], f[1], st->c[2] != 0, st->c[3] != 0, st->c[4] != 0); break;
    case ADAGRAD: adagrad(u, a1, n, f[0], f[1], st->c[2] != 0); break;
    case RMS: rms(u, a1, a2, a3, n, f[0], f[1], f[2], f[3], st->c[4] != 0, st->c[5] != 0); break;
    case APPLY: apply(u, a1, n, f[0], st->c[1] != 0); break;
  }
}

/* The arrays a stage needs but was not given, as a message; NULL when it has them. */
static const char *missing(const Stage *st) {
  switch (st->code) {
    case WEIGHT_DECAY: case APPLY: return st->a[1] ? NULL : "update: θ expected";
    case ADAM: return st->a[1] && st->a[2] ? NULL : "update: Adam's slots expected";
    case MOMENTUM: return st->a[1] ? NULL : "update: the momentum buffer expected";
    case ADAGRAD: return st->a[1] ? NULL : "update: AdaGrad's sum expected";
    case RMS: return st->a[1] && (st->c[4] == 0 || st->a[2]) && (st->c[5] == 0 || st->a[3]) ? NULL : "update: RMSProp's slots expected";
    default: return NULL;
  }
}

/*
 * out = the program's result: out starts as a copy of grad (u), and each stage in turn rewrites u
 * and its slots, block by block. `arrays` lists each stage's arrays after u (ARRAYS - 1 of them,
 * null for an unused slot), `constants` each stage's CONSTANTS; every array has grad's length.
 * Elementwise stages commute with the blocking, so this is the bits of running them one by one.
 */
static napi_value update(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t *codes;
  double *c;
  float *grad, *out;
  size_t count, clen, n, outLen;
  if (argc != 5 || !addon_ints(env, argv[0], &codes, &count) || !addon_doubles(env, argv[2], &c, &clen) ||
      !addon_floats(env, argv[3], &grad, &n) || !addon_floats(env, argv[4], &out, &outLen))
    return addon_fail(env, "update: (Int32Array stages, arrays, Float64Array constants, Float32Array grad, Float32Array out) expected");
  if (outLen != n) return addon_fail(env, "update: arrays of one length expected");
  if (count > MAX_STAGES) return addon_fail(env, "update: too many stages");
  Stage stages[MAX_STAGES];
  size_t arrayAt = 0, constAt = 0;
  for (size_t s = 0; s < count; s++) {
    Stage *st = &stages[s];
    st->code = codes[s];
    if (st->code < 0 || st->code >= STAGES) return addon_fail(env, "update: unknown stage");
    st->a[0] = out;
    for (int j = 1; j < 4; j++) st->a[j] = NULL;
    for (int j = 1; j < ARRAYS[st->code]; j++, arrayAt++) {
      napi_value el;
      napi_valuetype type;
      size_t len;
      if (napi_get_element(env, argv[1], (uint32_t)arrayAt, &el) != napi_ok) return addon_fail(env, "update: arrays expected");
      napi_typeof(env, el, &type);
      if (type == napi_null || type == napi_undefined) continue; /* an unused slot (rms without centering or momentum) */
      if (!addon_floats(env, el, &st->a[j], &len)) return addon_fail(env, "update: Float32Array arrays expected");
      if (len != n) return addon_fail(env, "update: arrays of one length expected");
    }
    if (constAt + CONSTANTS[st->code] > clen) return addon_fail(env, "update: Float64Array constants expected");
    for (int j = 0; j < CONSTANTS[st->code]; j++, constAt++) {
      st->c[j] = c[constAt];
      st->f[j] = (float)c[constAt];
    }
    const char *why = missing(st);
    if (why) return addon_fail(env, why);
  }
  for (size_t at = 0; at < n; at += BLOCK) {
    size_t len = n - at < BLOCK ? n - at : BLOCK;
    memcpy(out + at, grad + at, len * sizeof(float));
    for (size_t s = 0; s < count; s++) run_stage(&stages[s], at, len);
  }
  return NULL;
}

void register_update(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "update", NAPI_AUTO_LENGTH, update, NULL, &fn);
  napi_set_named_property(env, exports, "update", fn);
}
