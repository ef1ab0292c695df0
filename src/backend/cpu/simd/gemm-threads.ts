/**
 * A worker pool for the SIMD matrix product: one instance of the shared-memory build of
 * wasm/gemm.ts (gemm-shared-wasm.generated.ts, or its relaxed-SIMD twin where the single-thread
 * engine fuses multiply-adds: `fusedMultiplyAdd`) on the calling thread and one in each of
 * threads − 1 workers (node:worker_threads), all over one shared WebAssembly.Memory, each with
 * its own kernel scratch. A job's columns are cut into bands (gemm-simd.ts `bands`); the caller
 * posts each worker its band through a small shared control block (Atomics.notify), computes band
 * 0 itself, and waits until every worker has marked its band done. Both sides poll the block
 * briefly before sleeping in Atomics.wait (SPINS). Each element of
 * C is computed by exactly one thread in the kernel's fixed order: results do not depend on the
 * number of threads, nor on which thread computes a band.
 *
 * The caller blocks its event loop while it waits, so it never waits on a worker that might not
 * answer: a worker is given bands only once it has marked itself ready (READY, set as its loop
 * starts; until then, or if it never starts, the caller computes its band), and a worker whose band
 * throws marks it failed and done, and is given no more (the caller computes that band again, and
 * meets the same error itself if the fault is the kernel's).
 *
 * Node only: the workers come from process.getBuiltinModule("node:worker_threads") (no static
 * import, so a browser bundle never loads it), and the caller blocks in Atomics.wait, which
 * Node's main thread allows. Elsewhere, or where shared memory or SIMD is unavailable, `gemmPool`
 * returns null and products run on one thread. Workers are unref'd (they never keep a process
 * alive) and sleep in Atomics.wait between jobs.
 */
import { GEMM_SHARED_RELAXED_WASM_BASE64 } from "./gemm-shared-relaxed-wasm.generated.js";
import { GEMM_SHARED_WASM_BASE64 } from "./gemm-shared-wasm.generated.js";
import { decodeBase64 } from "./instantiate.js";
import { fusedMultiplyAdd, runBand, threadsFor, bands, type GemmEngine, type GemmExports, type GemmJob } from "./gemm-simd.js";

interface WorkerThreads {
  Worker: new (code: string, options: { eval: true; workerData: unknown; execArgv: string[] }) => { unref(): void; on(event: "error", listener: () => void): void };
}

/**
 * Control block fields (int32 slots): the job sequence number, the last one done, the job, whether
 * the worker's loop has started, and the last job whose band threw in it.
 */
const SEQ = 0, DONE = 1, A = 2, B = 3, C = 4, M = 5, K = 6, N = 7, TA = 8, TB = 9, BATCH = 10, OFFS = 11, J0 = 12, J1 = 13, READY = 14, FAILED = 15;
const CONTROL_INTS = 16;
/**
 * Polls of the control block before sleeping in Atomics.wait (tens of microseconds): waking a sleeping
 * thread costs tens of microseconds on a VM, as long as a small product takes, and a training
 * step's products follow each other closer than that.
 */
const SPINS = 20_000;

/** The worker's whole program (CommonJS, run with eval): the same runBand loop as the caller's. */
export const WORKER_PROGRAM = `
const { workerData } = require("node:worker_threads");
const { module, memory, control, scratch } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control);
let seen = 0;
Atomics.store(ctl, ${READY}, 1);
for (;;) {
  for (let spin = 0; spin < ${SPINS} && Atomics.load(ctl, ${SEQ}) === seen; spin++);
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  try {
    const h = new Int32Array(memory.buffer);
    const m = ctl[${M}], k = ctl[${K}], n = ctl[${N}], tB = ctl[${TB}], j0 = ctl[${J0}], j1 = ctl[${J1}];
    const offs = ctl[${OFFS}] / 4, bShift = (tB ? j0 * k : j0) * 4;
    for (let t = 0; t < ctl[${BATCH}]; t++) {
      ex.gemm(ctl[${A}] + h[offs + 2 * t] * 4, ctl[${B}] + h[offs + 2 * t + 1] * 4 + bShift, ctl[${C}] + (t * m * n + j0) * 4,
        m, k, j1 - j0, ctl[${TA}], tB, scratch, n);
    }
  } catch {
    Atomics.store(ctl, ${FAILED}, seen);
  }
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

function workerThreads(): WorkerThreads | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return (proc?.getBuiltinModule?.("node:worker_threads") as WorkerThreads | undefined) ?? null;
}

const pools = new Map<number, GemmEngine | null>();

/** A pool of `threads` threads whose workers run `program` (WORKER_PROGRAM; a test passes a broken one), or null where threads cannot run. */
export function makePool(threads: number, program: string = WORKER_PROGRAM): GemmEngine | null {
  const wt = workerThreads();
  if (!wt || typeof SharedArrayBuffer === "undefined") return null;
  const bytes = decodeBase64(fusedMultiplyAdd() ? GEMM_SHARED_RELAXED_WASM_BASE64 : GEMM_SHARED_WASM_BASE64);
  if (bytes.length === 0 || !WebAssembly.validate(bytes)) return null;
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 32768, shared: true });
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
  const scratch0 = ex.heapBase();
  const each = Math.ceil(ex.scratchBytes() / 16) * 16;
  const free = scratch0 + threads * each;
  const have = memory.buffer.byteLength;
  if (free > have) memory.grow(Math.ceil((free - have) / 65536));
  const controls: Int32Array[] = [];
  const retired: boolean[] = [];
  for (let w = 1; w < threads; w++) {
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    controls.push(new Int32Array(control));
    retired.push(false);
    // no execArgv of the program's (an --input-type=module would make this CommonJS fail); a worker that dies is retired, never a crash
    const worker = new wt.Worker(program, { eval: true, workerData: { module, memory, control, scratch: scratch0 + w * each }, execArgv: [] });
    worker.on("error", () => { retired[w - 1] = true; });
    worker.unref();
  }
  let seq = 0;
  return {
    ex, threads, free,
    run(job: GemmJob) {
      const h32 = new Int32Array(memory.buffer);
      const t = threadsFor(job, threads);
      if (t === 1) {
        runBand(ex, h32, job, 0, job.n, scratch0);
        return;
      }
      const parts = bands(job.n, t);
      seq++;
      // band i + 1 goes to worker i if it is running; the caller keeps the bands of the others
      const posted = parts.slice(1).map(([j0, j1], i) => {
        const ctl = controls[i]!;
        if (retired[i] || Atomics.load(ctl, READY) !== 1) return false;
        ctl[A] = job.aAt; ctl[B] = job.bAt; ctl[C] = job.cAt; ctl[M] = job.m; ctl[K] = job.k; ctl[N] = job.n;
        ctl[TA] = job.transA; ctl[TB] = job.transB; ctl[BATCH] = job.batch; ctl[OFFS] = job.offsetsAt; ctl[J0] = j0; ctl[J1] = j1;
        Atomics.store(ctl, SEQ, seq);
        Atomics.notify(ctl, SEQ);
        return true;
      });
      const here = ([j0, j1]: [number, number]) => runBand(ex, h32, job, j0, j1, scratch0);
      here(parts[0]!);
      posted.forEach((wasPosted, i) => {
        if (!wasPosted) here(parts[i + 1]!);
      });
      posted.forEach((wasPosted, i) => {
        if (!wasPosted) return;
        const ctl = controls[i]!;
        for (let spin = 0; spin < SPINS && Atomics.load(ctl, DONE) !== seq; spin++);
        while (Atomics.load(ctl, DONE) !== seq) Atomics.wait(ctl, DONE, Atomics.load(ctl, DONE));
        if (Atomics.load(ctl, FAILED) === seq) {
          retired[i] = true;
          here(parts[i + 1]!);
        }
      });
    },
  };
}

/** The engine with `threads` threads (made once per count), or null where threads cannot run. */
export function gemmPool(threads: number): GemmEngine | null {
  if (!pools.has(threads)) pools.set(threads, makePool(threads));
  return pools.get(threads)!;
}
