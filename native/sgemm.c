/*
 * descent's native float32 matrix product for Node.js (x86-64 AVX2 + FMA), part of the Node-API
 * addon of native/addon.c, built by scripts/build-native.mjs and driven by src/backend/native/native.ts.
 *
 * sgemm(a, aOffsets, b, bOffsets, c, cOffset, ldc, m, k, n, transA, transB, threads[, bias]) computes,
 * for each batch item t, C_t = op(A at aOffsets[t]) @ op(B at bOffsets[t]) into c at cOffset + t*m*ldc
 * (row stride ldc), plus bias[j] in column j when a bias is given (not undefined; added to each
 * finished sum: the bits of the product then a float32 add, as linear's composed path gives). The
 * operands are Float32Arrays, read and written in place (no staging copy).
 *
 * The loop nest is BLIS's (and that of wasm/gemm.ts): blocks of NC columns, KC inner steps (pack
 * that KC x NC block of op(B) into micro-panels of NR = 16 columns, p-major), MC rows (pack the MC x
 * KC block of op(A) into micro-panels of MR = 6 rows), then a 6x16 micro-kernel of 12 ymm
 * accumulators and 12 fused multiply-adds per inner step (BLIS's sgemm tile on Haswell and Zen).
 *
 * Summation order, and so the bits: each element of C is summed over p in ascending order within a
 * block of KC = 256, one fused multiply-add per step from 0; the first block stores its sum into C,
 * later ones add theirs. That is the order of wasm/gemm.ts's relaxed-SIMD build (f32x4.relaxed_madd
 * is a fused multiply-add on a CPU with FMA), so this kernel gives that build's bits, and any number
 * of threads gives the same bits: threads split the columns into bands of whole micro-panels, and
 * an element's sum does not depend on the band it falls in.
 *
 * Threads: a pool of threads - 1 workers started on first use and kept. A task is cut into parts
 * (a few per thread where it is made of independent items: pool_split); the caller takes part 0 and
 * every thread then claims the next unclaimed part until none is left, so a worker still waking up
 * takes fewer (which thread computes a part never changes its bits), and the caller waits only for
 * the parts a worker claimed, never for a worker to wake. Idle workers spin (SPIN_PAUSES, yielding
 * the core to any other thread that wants it) on a generation counter, then sleep on a condition
 * variable. Products below PARALLEL_MIN_MACS run on the caller alone. The pool runs any
 * task split into parts (pool_run), and the loop nest takes its operands through packing
 * callbacks (gemm_columns): native/conv.c runs convolutions on both (native/gemm.h).
 *
 * Every offset is checked against the arrays' lengths before anything is read or written: a bad
 * call throws a RangeError, it never touches memory outside the arrays.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"
#include "gemm.h"

#define NC 2048
#define MAX_THREADS 64
/*
 * How long an idle worker spins before it sleeps: about 2 ms, through the JavaScript between a
 * step's kernels, so that the next kernel finds it awake (waking one took 50-100 µs on this 2-core
 * machine, about what a ReLU over 3 MB costs). Every 64 pauses it yields its core, so the
 * collector's helper threads, which a spin without yielding kept off the second core (W2 on 2
 * threads 0.92x of 1 thread with 100000 pauses), still run. 50000 and 200000 pauses measured alike.
 */
#define SPIN_PAUSES 50000
#define PAUSES_PER_YIELD 64

typedef struct {
  const float *a, *b;
  float *c;
  const int32_t *aOff, *bOff;
  int64_t cOff, ldc;
  int batch, m, k, n, transA, transB;
  const float *bias; /* NULL or [n]: C = op(A) op(B) + bias, each row */
} Job;

static int scratch_init(Scratch *s) {
  s->packA = aligned_alloc(64, sizeof(float) * MC * KC);
  s->packB = aligned_alloc(64, sizeof(float) * KC * NC);
  s->work = NULL;
  s->workFloats = 0;
  return s->packA && s->packB;
}

float *scratch_work(Scratch *s, size_t floats) {
  if (floats <= s->workFloats) return s->work;
  size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
  float *w = aligned_alloc(64, bytes);
  if (!w) return NULL;
  free(s->work);
  s->work = w;
  s->workFloats = bytes / sizeof(float);
  return w;
}

/*
 * One full panel of a transposed operand, X(p, j) = x[j*js + p] (ps = 1: op(B) = Bᵀ, a Linear
 * layer's weight), p-major: 8 x 8 blocks transposed in registers, two per 8 steps of p, instead of
 * 16 scalar loads 4·js bytes apart per step (a third of the W1 forward product's time).
 */
__attribute__((target("avx2")))
static void pack_b_transposed(const float *x, int64_t js, int kc, float *out) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int half = 0; half < 2; half++) {
      const float *s = x + (int64_t)half * 8 * js + p;
      __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + js), r2 = _mm256_loadu_ps(s + 2 * js), r3 = _mm256_loadu_ps(s + 3 * js);
      __m256 r4 = _mm256_loadu_ps(s + 4 * js), r5 = _mm256_loadu_ps(s + 5 * js), r6 = _mm256_loadu_ps(s + 6 * js), r7 = _mm256_loadu_ps(s + 7 * js);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float *o = out + (int64_t)p * NR + half * 8;
      _mm256_storeu_ps(o + 0 * NR, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(o + 1 * NR, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(o + 2 * NR, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(o + 3 * NR, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(o + 4 * NR, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(o + 5 * NR, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(o + 6 * NR, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(o + 7 * NR, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  }
  for (; p < kc; p++)
    for (int q = 0; q < NR; q++) out[(int64_t)p * NR + q] = x[q * js + p];
}

/* X(p, j) = x[p*ps + j*js], kc x cols, into panels of NR columns, p-major, zero-padded. */
static void pack_b(const float *x, int64_t ps, int64_t js, int kc, int cols, float *out) {
  for (int j = 0; j < cols; j += NR) {
    int w = cols - j < NR ? cols - j : NR;
    const float *src = x + j * js;
    if (w == NR && js == 1) {
      for (int p = 0; p < kc; p++, out += NR) memcpy(out, src + p * ps, NR * sizeof(float));
    } else if (w == NR && ps == 1) {
      pack_b_transposed(src, js, kc, out);
      out += (int64_t)kc * NR;
    } else {
      for (int p = 0; p < kc; p++, out += NR) {
        int q = 0;
        for (; q < w; q++) out[q] = src[p * ps + q * js];
        for (; q < NR; q++) out[q] = 0.0f;
      }
    }
  }
}

/* A(i, p) = x[i*is + p*ps], rows x kc, into panels of MR rows, p-major, zero-padded. */
void pack_a(const float *x, int64_t is, int64_t ps, int rows, int kc, float *out) {
  for (int i = 0; i < rows; i += MR) {
    int h = rows - i < MR ? rows - i : MR;
    const float *src = x + i * is;
    for (int p = 0; p < kc; p++, out += MR) {
      int r = 0;
      for (; r < h; r++) out[r] = src[r * is + p * ps];
      for (; r < MR; r++) out[r] = 0.0f;
    }
  }
}

/*
 * The h x w corner of the 6x16 tile Apanel (6 x kc) . B (kc x 16) stored (first) or added into c.
 * B is a packed panel (rows 16 apart) when `rows` is NULL, else row p is the 16 floats at
 * b + rows[p] (native/conv.c's direct convolution reads its input in place so).
 */
__attribute__((target("avx2,fma"), always_inline))
static inline void tile(int kc, const float *a, const float *b, const int32_t *rows, float *c, int64_t ldc, int first, int h, int w) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  /* the tile's rows of C lie ldc apart: fetch them while the sums run (2x on small k, where C dominates) */
  for (int r = 0; r < h; r++) {
    _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
  }
  for (int p = 0; p < kc; p++, a += MR) {
    const float *bp = rows ? b + rows[p] : b + p * NR;
    __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (w == NR) {
    for (int r = 0; r < h; r++) {
      float *cr = c + r * ldc;
      if (first) {
        _mm256_storeu_ps(cr, acc[r][0]);
        _mm256_storeu_ps(cr + 8, acc[r][1]);
      } else {
        _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]));
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]));
      }
    }
    return;
  }
  float tile[NR] __attribute__((aligned(32)));
  for (int r = 0; r < h; r++) {
    _mm256_store_ps(tile, acc[r][0]);
    _mm256_store_ps(tile + 8, acc[r][1]);
    float *cr = c + r * ldc;
    if (first) for (int q = 0; q < w; q++) cr[q] = tile[q];
    else for (int q = 0; q < w; q++) cr[q] += tile[q];
  }
}

__attribute__((target("avx2,fma")))
static void kernel(int kc, const float *a, const float *b, float *c, int64_t ldc, int first, int h, int w) {
  tile(kc, a, b, NULL, c, ldc, first, h, w);
}

__attribute__((target("avx2,fma")))
void kernel_rows(int kc, const float *a, const float *b, const int32_t *rows, float *c, int64_t ldc, int first, int h, int w) {
  tile(kc, a, b, rows, c, ldc, first, h, w);
}

void gemm_columns(const Gemm *g, int j0, int j1, Scratch *s) {
  for (int jc = j0; jc < j1; jc += NC) {
    int nc = j1 - jc < NC ? j1 - jc : NC;
    for (int p0 = 0; p0 < g->k; p0 += KC) {
      int kc = g->k - p0 < KC ? g->k - p0 : KC;
      g->packB(g->ctxB, p0, kc, jc, nc, s->packB);
      for (int i0 = 0; i0 < g->m; i0 += MC) {
        int mc = g->m - i0 < MC ? g->m - i0 : MC;
        g->packA(g->ctxA, p0, kc, i0, mc, s->packA);
        for (int jr = 0; jr < nc; jr += NR) {
          int w = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int h = mc - ir < MR ? mc - ir : MR;
            kernel(kc, s->packA + ir * kc, s->packB + jr * kc, g->c + (int64_t)(i0 + ir) * g->ldc + jc + jr, g->ldc, p0 == 0, h, w);
          }
        }
        if (g->bias && p0 + kc == g->k) /* the block's sums are finished: add the bias while they are in cache */
          for (int i = i0; i < i0 + mc; i++) {
            float *row = g->c + (int64_t)i * g->ldc + jc;
            for (int j = 0; j < nc; j++) row[j] += g->bias[jc + j];
          }
      }
    }
  }
}

void pack_a_strided(const void *ctx, int p0, int kc, int i0, int mc, float *out) {
  const Strided *x = ctx;
  pack_a(x->x + i0 * x->rs + p0 * x->cs, x->rs, x->cs, mc, kc, out);
}

void pack_b_strided(const void *ctx, int p0, int kc, int jc, int nc, float *out) {
  const Strided *x = ctx;
  pack_b(x->x + p0 * x->rs + jc * x->cs, x->rs, x->cs, kc, nc, out);
}

/* One batch item of the job over columns [j0, j1). */
static void run_item(const Job *job, int t, int j0, int j1, Scratch *s) {
  const int m = job->m, k = job->k;
  /* A(i, p) and B(p, j) in the stored arrays */
  const Strided a = { job->a + job->aOff[t], job->transA ? 1 : k, job->transA ? m : 1 };
  const Strided b = { job->b + job->bOff[t], job->transB ? 1 : job->n, job->transB ? k : 1 };
  const Gemm g = { pack_a_strided, pack_b_strided, &a, &b, m, k, job->c + job->cOff + (int64_t)t * m * job->ldc, job->ldc, job->bias };
  gemm_columns(&g, j0, j1, s);
}

/* The columns [part*width, ...) of every batch item: one part of a product on the pool. */
typedef struct {
  const Job *job;
  int width;
} Bands;

static void run_band(const void *ctx, int part, int parts, Scratch *s) {
  (void)parts;
  const Bands *b = ctx;
  int j0 = part * b->width, j1 = j0 + b->width;
  if (j1 > b->job->n) j1 = b->job->n;
  if (j0 >= j1) return;
  for (int t = 0; t < b->job->batch; t++) run_item(b->job, t, j0, j1, s);
}

/* ---- the pool ---- */

typedef struct {
  pthread_t thread;
  int index;
  unsigned started; /* the generation when it was made: it waits for the next one */
  Scratch scratch;
} Worker;

static Worker workers[MAX_THREADS];
static int nworkers = 0;
static __thread Scratch callerScratch; /* per calling thread: a program's worker_threads may call too */
static __thread int callerReady = 0;
static pthread_mutex_t poolBusy = PTHREAD_MUTEX_INITIALIZER; /* one caller at a time drives the pool */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_uint generation = 0;
/*
 * The current task's claims in one word: its generation (high 32 bits), its count of parts and the
 * next part to claim (16 bits each). A claim is a compare-and-swap on the whole word, so it takes
 * a part only of the task that is current and unfinished: a worker that wakes late, after the
 * caller has run every part itself and moved on, can never take a part of the next task with the
 * last one's count, or run one twice. The caller waits only for the parts workers claimed.
 */
static _Atomic uint64_t claims = 0;
static atomic_int claimedDone = 0; /* of the current task's parts that workers claimed, those finished */
static PartFn currentFn;
static const void *currentCtx;
static int currentParts;

static uint64_t claims_word(unsigned gen, int parts, int next) {
  return (uint64_t)gen << 32 | (uint64_t)parts << 16 | (uint64_t)next;
}

/* The next part of task `gen` for the calling thread; -1 when none is left or another task is current. */
static int claim(unsigned gen) {
  uint64_t w = atomic_load_explicit(&claims, memory_order_acquire);
  for (;;) {
    const int parts = (int)(w >> 16 & 0xffff), next = (int)(w & 0xffff);
    if ((unsigned)(w >> 32) != gen || next >= parts) return -1;
    if (atomic_compare_exchange_weak_explicit(&claims, &w, w + 1, memory_order_acq_rel, memory_order_acquire)) return next;
  }
}

static void *worker_main(void *arg) {
  Worker *self = arg;
  unsigned seen = self->started;
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < SPIN_PAUSES) {
      _mm_pause();
      if (++spins % PAUSES_PER_YIELD == 0) sched_yield();
    }
    if (g == seen) {
      pthread_mutex_lock(&lock);
      while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &lock);
      pthread_mutex_unlock(&lock);
    }
    seen = g;
    /* a part claimed is of task g, unfinished: its fn, ctx and count stay as posted until it is done */
    for (int part; (part = claim(g)) >= 0;) {
      currentFn(currentCtx, part, currentParts, &self->scratch);
      atomic_fetch_add_explicit(&claimedDone, 1, memory_order_release);
    }
  }
  return NULL;
}

/* Starts workers up to `want` (threads - 1); returns how many exist. The caller holds poolBusy, so
 * no job is posted meanwhile: a new worker takes the jobs posted after its start, never an old one. */
static int ensure_workers(int want) {
  if (want > MAX_THREADS) want = MAX_THREADS;
  while (nworkers < want) {
    Worker *w = &workers[nworkers];
    w->index = nworkers;
    w->started = atomic_load_explicit(&generation, memory_order_acquire);
    if (!scratch_init(&w->scratch)) break;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) break;
    pthread_detach(w->thread);
    nworkers++;
  }
  return nworkers;
}

Scratch *caller_scratch(void) {
  if (!callerReady) {
    if (!scratch_init(&callerScratch)) return NULL;
    callerReady = 1;
  }
  return &callerScratch;
}

int pool_parts(int threads) {
  if (threads <= 1) return 1;
  /* another thread of the program driving the pool: this call runs alone (same bits) */
  if (pthread_mutex_trylock(&poolBusy) != 0) return 1;
  int have = ensure_workers(threads - 1);
  pthread_mutex_unlock(&poolBusy);
  return threads < have + 1 ? threads : have + 1;
}

int pool_split(int threads, int64_t items) {
  if (threads <= 1 || items <= 1) return 1;
  int64_t parts = (int64_t)pool_parts(threads) * PARTS_PER_THREAD;
  return (int)(parts < items ? parts : items);
}

void pool_run(PartFn fn, const void *ctx, int parts) {
  if (parts < 1) parts = 1;
  int alone = parts == 1 || parts > 0xffff || pthread_mutex_trylock(&poolBusy) != 0;
  if (!alone && nworkers == 0) {
    pthread_mutex_unlock(&poolBusy);
    alone = 1;
  }
  if (alone) {
    /* every part in turn on this thread (ctx was cut for `parts`): the same elements, the same bits */
    for (int p = 0; p < parts; p++) fn(ctx, p, parts, &callerScratch);
    return;
  }
  currentFn = fn;
  currentCtx = ctx;
  currentParts = parts;
  atomic_store_explicit(&claimedDone, 0, memory_order_relaxed);
  /* only this caller (holding poolBusy) moves the generation */
  const unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
  atomic_store_explicit(&claims, claims_word(gen, parts, 1), memory_order_release); /* part 0 is the caller's */
  pthread_mutex_lock(&lock);
  atomic_store_explicit(&generation, gen, memory_order_release);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  fn(ctx, 0, parts, &callerScratch);
  /* the parts no worker has claimed yet (one still waking up) are the caller's too */
  int mine = 1;
  for (int part; (part = claim(gen)) >= 0; mine++) fn(ctx, part, parts, &callerScratch);
  while (atomic_load_explicit(&claimedDone, memory_order_acquire) < parts - mine) _mm_pause();
  pthread_mutex_unlock(&poolBusy);
}

static void run_job(const Job *job, int threads) {
  int64_t macs = (int64_t)job->batch * job->m * job->k * job->n;
  if (threads > 1 && (job->n < 2 * NR || macs < PARALLEL_MIN_MACS)) threads = 1;
  int parts = pool_parts(threads);
  Bands bands = { job, band_width(job->n, parts) };
  pool_run(run_band, &bands, parts);
}

/* ---- Node-API ---- */

static int integer(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 13) return addon_fail(env, "sgemm: 13 arguments expected");
  Job job;
  float *a, *b, *c, *bias = NULL;
  int32_t *aOff, *bOff;
  size_t aLen, bLen, cLen, aoLen, boLen, biasLen = 0;
  int64_t v[8];
  if (!addon_floats(env, argv[0], (float **)&a, &aLen) || !addon_ints(env, argv[1], &aOff, &aoLen) ||
      !addon_floats(env, argv[2], (float **)&b, &bLen) || !addon_ints(env, argv[3], &bOff, &boLen) ||
      !addon_floats(env, argv[4], &c, &cLen))
    return addon_fail(env, "sgemm: (Float32Array, Int32Array, Float32Array, Int32Array, Float32Array, ...) expected");
  for (int i = 0; i < 8; i++)
    if (!integer(env, argv[5 + i], &v[i])) return addon_fail(env, "sgemm: integer arguments expected");
  int64_t cOff = v[0], ldc = v[1], m = v[2], k = v[3], n = v[4], threads = v[7];
  napi_valuetype tb = napi_undefined;
  if (argc == 14) napi_typeof(env, argv[13], &tb);
  if (tb != napi_undefined && !addon_floats(env, argv[13], &bias, &biasLen)) return addon_fail(env, "sgemm: the bias must be a Float32Array");
  if (bias && (int64_t)biasLen < n) return addon_fail(env, "sgemm: the bias is shorter than a row of C");
  if (aoLen != boLen) return addon_fail(env, "sgemm: as many A offsets as B offsets expected");
  if (m < 0 || k < 0 || n < 0 || ldc < n || cOff < 0 || m > INT32_MAX || k > INT32_MAX || n > INT32_MAX || aoLen > INT32_MAX)
    return addon_fail(env, "sgemm: invalid shape");
  int64_t batch = (int64_t)aoLen;
  if (batch > 0 && m > 0 && n > 0 && cOff + (batch - 1) * m * ldc + (m - 1) * ldc + n > (int64_t)cLen) return addon_fail(env, "sgemm: C out of range");
  for (int64_t t = 0; t < batch; t++) {
    if (aOff[t] < 0 || aOff[t] + m * k > (int64_t)aLen) return addon_fail(env, "sgemm: A out of range");
    if (bOff[t] < 0 || bOff[t] + k * n > (int64_t)bLen) return addon_fail(env, "sgemm: B out of range");
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (k == 0) {
    for (int64_t t = 0; t < batch; t++)
      for (int64_t i = 0; i < m; i++) {
        float *row = c + cOff + (t * m + i) * ldc;
        memset(row, 0, n * sizeof(float));
        if (bias)
          for (int64_t j = 0; j < n; j++) row[j] += bias[j];
      }
    return NULL;
  }
  if (!caller_scratch()) return addon_fail(env, "sgemm: out of memory");
  job = (Job){ a, b, c, aOff, bOff, cOff, ldc, (int)batch, (int)m, (int)k, (int)n, v[5] != 0, v[6] != 0, bias };
  run_job(&job, threads < 1 ? 1 : (int)threads);
  return NULL;
}

void register_sgemm(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
}
