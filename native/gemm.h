/*
 * What native/sgemm.c lends native/conv.c: the matrix product's loop nest with its operands taken
 * through packing callbacks (a convolution packs its columns straight from the image, never
 * laying out an im2col matrix), the 6x16 tile reading B rows in place, per-thread scratch, and
 * the thread pool running a task split into parts.
 *
 * Summation order (the bits): gemm_columns and kernel_rows sum each element of C over p in
 * ascending order within blocks of KC, one fused multiply-add per step from 0; the first block
 * stores its sum, later blocks add theirs. A caller that keeps those blocks gets the plain
 * product's bits whatever it packs from where.
 */
#ifndef DESCENT_GEMM_H
#define DESCENT_GEMM_H
#include <stddef.h>
#include <stdint.h>

#define MR 6
#define NR 16
#define KC 256
#define MC 144 /* the rows of A packed at a time: a Scratch's packA holds MC x KC */
/* products (multiply-adds) below this run on the caller alone */
#define PARALLEL_MIN_MACS (1 << 22)

typedef struct {
  float *packA, *packB; /* MC x KC and KC x NC, 64-byte aligned */
  float *work;          /* a task's own buffer (scratch_work), grown on demand, kept */
  size_t workFloats;
} Scratch;

/* At least `floats` floats of s's work buffer (64-byte aligned, contents undefined); NULL when out of memory. */
float *scratch_work(Scratch *s, size_t floats);

/* Packs rows [i0, i0 + mc) x p [p0, p0 + kc) of A into panels of MR rows, p-major, zero-padded. */
typedef void (*PackA)(const void *ctx, int p0, int kc, int i0, int mc, float *out);
/* Packs p [p0, p0 + kc) x columns [jc, jc + nc) of B into panels of NR columns, p-major, zero-padded. */
typedef void (*PackB)(const void *ctx, int p0, int kc, int jc, int nc, float *out);

/* C (m x n, row stride ldc) = A (m x k) . B (k x n), each operand given by its packing callback. */
typedef struct {
  PackA packA;
  PackB packB;
  const void *ctxA, *ctxB;
  int m, k;
  float *c;
  int64_t ldc;
  const float *bias; /* NULL, or added to each finished row, bias[j] to column j (a separate float add: the bits of the sum then +) */
} Gemm;

/* The columns [j0, j1) of g's product. */
void gemm_columns(const Gemm *g, int j0, int j1, Scratch *s);

/* An operand stored as x[i*rs + p*cs] (A) or x[p*rs + j*cs] (B), and its packing callbacks. */
typedef struct {
  const float *x;
  int64_t rs, cs;
} Strided;
void pack_a_strided(const void *ctx, int p0, int kc, int i0, int mc, float *out);
void pack_b_strided(const void *ctx, int p0, int kc, int jc, int nc, float *out);
/* A(i, p) = x[i*is + p*ps], rows x kc, into panels of MR rows, p-major, zero-padded. */
void pack_a(const float *x, int64_t is, int64_t ps, int rows, int kc, float *out);

/* The h x w corner of the tile Apanel (MR x kc) . B into c, B's row p being the 16 floats at b + rows[p]. */
void kernel_rows(int kc, const float *a, const float *b, const int32_t *rows, float *c, int64_t ldc, int first, int h, int w);

/* The columns per part when n columns are split into `parts` bands of whole NR-wide panels. */
static inline int band_width(int64_t n, int parts) {
  return parts <= 1 ? (int)n : (int)(((n + parts - 1) / parts + NR - 1) / NR * NR);
}

/* One part of a task, run by the pool with that thread's scratch. */
typedef void (*PartFn)(const void *ctx, int part, int parts, Scratch *s);
/* The calling thread's scratch, made on first use; NULL when out of memory. */
Scratch *caller_scratch(void);
/* How many parts a task asking for `threads` threads runs in (the workers it can start, plus the caller). */
int pool_parts(int threads);
/* Parts per thread where a task is cut into independent items (a batch's images, rows, planes): whoever is
 * free claims the next part, so a thread that starts late (waking up) or runs slow takes fewer. */
#define PARTS_PER_THREAD 4
/* How many parts a task of `items` independent items runs in on `threads` threads. */
int pool_split(int threads, int64_t items);
/* Runs fn's parts 0 .. parts - 1 (the caller runs part 0) and returns when all are done; where another thread of
 * the program is driving the pool, the caller runs every part in turn itself. The caller's scratch must exist. */
void pool_run(PartFn fn, const void *ctx, int parts);
#endif
