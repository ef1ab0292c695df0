/**
 * Single-precision matrix product throughput (DESIGN.md section 7, workload G): descent's `matmul`
 * on the cpu backend, with its WebAssembly SIMD kernel and with its TypeScript kernel
 * (`new CpuBackend({ simd: false })`), on the native backend's AVX2 kernel where its addon runs, beside @tensorflow/tfjs-core + @tensorflow/tfjs-backend-cpu's
 * `tf.matMul`, measured in the same process with the method of ../shared/bench/common.js benchGemm:
 * warm-up, repetitions calibrated so one sample lasts >= 0.25 s, median of several samples.
 *
 *   npm run bench:matmul                       # sizes 256,512,1024
 *   npm run bench:matmul -- --sizes=256,2048   # any sizes
 *   npm run bench:matmul -- --only=descent     # skip tfjs (or --only=tfjs)
 *   npm run bench:matmul -- --dtype=float64    # descent in float64 (tfjs stays float32)
 *   npm run bench:matmul -- --threads=2        # add descent SIMD on a 2-thread worker pool, and native on 2 threads
 *
 * Prints one `RESULT {json}` line per (library, kernel, size), then a table with the ratios.
 * (The cpu backend runs float64 on its TypeScript kernel, so with --dtype=float64 the SIMD column
 * calls the float64 SIMD driver, gemmSimdBatch64, on the operands' arrays, allocating C each call
 * as `matmul` does; --threads applies to float32 only.)
 */
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { gemmSimdBatch64 } from "../src/backend/cpu/simd/gemm-simd.js";
import { nativeAddon } from "../src/backend/native/native.js";
import { CpuBackend, Generator, matmul, NativeBackend, rand, withBackend, type Tensor } from "../src/index.js";
import { arg, median, now } from "./util.js";

interface GemmResult {
  n: number;
  gflops_median: number;
  gflops_min: number;
  gflops_max: number;
  samples: number;
  reps_per_sample: number;
}

/** common.js benchGemm: warm-up, reps so a sample lasts >= minSampleS, median of the samples. */
function benchGemm(
  fn: () => void, n: number, { warmup = 2, minSampleS = 0.25, samples = 7, maxCallS = 3 } = {},
): GemmResult {
  const flop = 2 * n * n * n;
  let t0 = now();
  fn();
  let one = now() - t0;
  for (let i = 1; i < warmup && one < maxCallS; i++) {
    t0 = now();
    fn();
    one = now() - t0;
  }
  const reps = Math.max(1, Math.ceil(minSampleS / one));
  const nSamples = one > 20 ? 1 : one > maxCallS ? 3 : samples;
  const g: number[] = [];
  for (let s = 0; s < nSamples; s++) {
    t0 = now();
    for (let r = 0; r < reps; r++) fn();
    g.push((flop * reps) / (now() - t0) / 1e9);
  }
  return {
    n, gflops_median: median(g), gflops_min: Math.min(...g), gflops_max: Math.max(...g),
    samples: nSamples, reps_per_sample: reps,
  };
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...obj })}\n`);
}

// The tfjs packages are CommonJS: load them through require, typed only as far as used here.
interface TfTensor { dataSync(): unknown; dispose(): void }
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
}

async function loadTf(): Promise<{ tf: Tf; version: string }> {
  const req = createRequire(import.meta.url);
  const tf = req("@tensorflow/tfjs-core") as Tf;
  req("@tensorflow/tfjs-backend-cpu");
  if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
  await tf.ready();
  const version = (req("@tensorflow/tfjs-backend-cpu/package.json") as { version: string }).version;
  return { tf, version };
}

async function main(): Promise<void> {
  const sizes = arg("sizes", "256,512,1024").split(",").map(Number);
  const only = arg("only", "all");
  const dtype = arg("dtype", "float32") as "float32" | "float64";
  const samples = Number(arg("samples", "5"));
  const threads = Number(arg("threads", "1"));
  type Row = { n: number; simd?: number; simdT?: number; ts?: number; tfjs?: number; native?: number; nativeT?: number };
  const rows: Row[] = [];
  const tfl = only === "descent" ? null : await loadTf();
  const pooled = threads > 1 && dtype === "float32" ? [new CpuBackend({ threads })] : [];
  // the native backend's AVX2 kernel, where its addon runs (float32 only)
  const addon = dtype === "float32" ? nativeAddon() : null;
  const natives = addon ? [new NativeBackend(addon), ...(threads > 1 ? [new NativeBackend(addon, { threads })] : [])] : [];
  const backends = [new CpuBackend(), ...pooled, new CpuBackend({ simd: false }), ...natives];
  const load0 = loadavg()[0]!;
  for (const n of sizes) {
    const row: Row = { n };
    rows.push(row);
    const rng = new Generator(n);
    if (only !== "tfjs") {
      for (const be of backends) {
        const [a, b] = withBackend(be, (): Tensor[] => [
          rand([n, n], { rng, low: -0.5, high: 0.5, dtype }), rand([n, n], { rng, low: -0.5, high: 0.5, dtype }),
        ]);
        // the cpu backend is synchronous: dataSync() copies C out (n^2, negligible beside 2n^3), as for tfjs
        const direct = dtype === "float64" && be.gemmKernel === "wasm-simd";
        const fn = direct ? simd64(a!, b!, n) : (): void => {
          const c = matmul(a!, b!);
          c.dataSync();
          c.dispose();
        };
        const r = benchGemm(fn, n, { warmup: 2, samples, maxCallS: 4 });
        if (be.gemmKernel === "native") row[be.threads > 1 ? "nativeT" : "native"] = r.gflops_median;
        else if (be.gemmKernel === "typescript") row.ts = r.gflops_median;
        else if (be.threads > 1) row.simdT = r.gflops_median;
        else row.simd = r.gflops_median;
        const via = direct ? { backend: "none", via: "gemmSimdBatch64" } : { backend: be.name };
        emit({ kind: "sgemm", lib: "descent", ...via, matmul: be.gemmKernel, dtype, threads: be.threads, ...r });
      }
    }
    if (tfl) {
      const { tf, version } = tfl;
      const av = new Float32Array(n * n);
      const bv = new Float32Array(n * n);
      for (let i = 0; i < n * n; i++) {
        av[i] = rng.uniform() - 0.5;
        bv[i] = rng.uniform() - 0.5;
      }
      const a = tf.tensor2d(av, [n, n]);
      const b = tf.tensor2d(bv, [n, n]);
      const fn = (): void => {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      };
      const r = benchGemm(fn, n, { warmup: 2, samples, maxCallS: 4 });
      row.tfjs = r.gflops_median;
      emit({ kind: "sgemm", lib: "tfjs-cpu", backend: tf.getBackend(), tfjs: version, dtype: "float32", threads: 1, ...r });
      a.dispose();
      b.dispose();
    }
  }
  const f = (x: number | undefined): string => (x === undefined ? "—" : x.toFixed(2));
  const ratio = (x: number | undefined, y: number | undefined): string =>
    x !== undefined && y !== undefined ? `${(x / y).toFixed(1)}x` : "—";
  console.log(`\nload average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`);
  console.log(`| size | descent ${dtype} SIMD GFLOP/s | SIMD ${threads} threads | native | native ${threads} threads | descent ${dtype} TS GFLOP/s | tfjs-cpu GFLOP/s | SIMD / TS | SIMD / tfjs |`);
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(`| ${r.n} | ${f(r.simd)} | ${f(r.simdT)} | ${f(r.native)} | ${f(r.nativeT)} | ${f(r.ts)} | ${f(r.tfjs)} | ${ratio(r.simd, r.ts)} | ${ratio(r.simd, r.tfjs)} |`);
  }
}

/** A float64 n x n product on the SIMD driver, from the tensors' arrays into a new C. */
function simd64(a: Tensor, b: Tensor, n: number): () => void {
  const av = a.dataSync(), bv = b.dataSync();
  if (!(av instanceof Float64Array && bv instanceof Float64Array)) throw new Error("simd64: operands must be float64");
  const args = { m: n, k: n, n, transA: false, transB: false };
  return () => {
    if (!gemmSimdBatch64(av, [0], bv, [0], new Float64Array(n * n), 0, args)) throw new Error("simd64: no WebAssembly SIMD");
  };
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
