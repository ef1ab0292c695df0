/*
 * What the addon's files share: the checked views of JavaScript typed arrays, the RangeError a bad
 * call throws, and each file's registration of its functions (native/addon.c calls them).
 */
#ifndef DESCENT_ADDON_H
#define DESCENT_ADDON_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* A number argument as an int32; 0 when v is not a number. */
int addon_int32(napi_env env, napi_value v, int32_t *out);
/* ceil(a / b) for b > 0, a of either sign. */
static inline int64_t addon_ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
/* A JavaScript boolean. */
napi_value addon_boolean(napi_env env, int value);
/* Throws a RangeError with `message`; returns NULL for the caller to return. */
napi_value addon_fail(napi_env env, const char *message);
/* The data and length of a Float32Array / Int32Array / Float64Array; 0 when v is not one. */
int addon_floats(napi_env env, napi_value v, float **data, size_t *length);
int addon_ints(napi_env env, napi_value v, int32_t **data, size_t *length);
int addon_doubles(napi_env env, napi_value v, double **data, size_t *length);

/* Whether this CPU runs the kernels (AVX2 and FMA). */
int addon_cpu_supported(void);

void register_sgemm(napi_env env, napi_value exports);
void register_update(napi_env env, napi_value exports);
void register_conv(napi_env env, napi_value exports);
void register_elementwise(napi_env env, napi_value exports);
void register_reduce(napi_env env, napi_value exports);
#endif
