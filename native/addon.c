/*
 * The entry of descent's native addon (built by scripts/build-native.mjs): `available()`, whether
 * this CPU has AVX2 and FMA, and the functions of sgemm.c, conv.c,
 * elementwise.c and update.c; and the typed-array
 * checks they share.
 */
#define NAPI_VERSION 8
#include "addon.h"

napi_value addon_fail(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

int addon_int32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

napi_value addon_boolean(napi_env env, int value) {
  napi_value out;
  napi_get_boolean(env, value, &out);
  return out;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  int is = 0;
  bool flag;
  if (napi_is_typedarray(env, v, &flag) == napi_ok) is = flag;
  if (!is || napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) return 0;
  return 1;
}

int addon_floats(napi_env env, napi_value v, float **data, size_t *length) {
  return typed(env, v, napi_float32_array, (void **)data, length);
}

int addon_ints(napi_env env, napi_value v, int32_t **data, size_t *length) {
  return typed(env, v, napi_int32_array, (void **)data, length);
}

int addon_doubles(napi_env env, napi_value v, double **data, size_t *length) {
  return typed(env, v, napi_float64_array, (void **)data, length);
}

int addon_cpu_supported(void) {
  static int ok = -1;
  if (ok < 0) {
    __builtin_cpu_init();
    ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return ok;
}

static napi_value available(napi_env env, napi_callback_info info) {
  (void)info;
  return addon_boolean(env, addon_cpu_supported());
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "available", NAPI_AUTO_LENGTH, available, NULL, &fn);
  napi_set_named_property(env, exports, "available", fn);
  register_sgemm(env, exports);
  register_update(env, exports);
  register_conv(env, exports);
  register_elementwise(env, exports);
  register_reduce(env, exports);
  return exports;
}
