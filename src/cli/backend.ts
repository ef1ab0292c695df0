/**
 * The backend the CLI's commands run on, and `descent env`, which says what it is. Every command
 * takes the global options --backend NAME and --threads N, which default to the environment's
 * DESCENT_BACKEND and DESCENT_THREADS, then to the fastest valid backend (native where its addon runs, else wasm where SIMD validates, else cpu) on one thread; the choice becomes the default
 * backend (setBackend) before the command runs. `descent env` prints the version, the runtime,
 * the backend in use, its float32 matmul kernel, the WebAssembly features (SIMD, relaxed SIMD,
 * shared memory) and the thread count.
 */
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { BACKENDS, createBackend, currentBackend, DEFAULT_BACKEND, setBackend } from "../backend/registry.js";
import { CpuBackend } from "../backend/cpu/cpu.js";
import { wasmFeatures } from "../backend/features.js";
import { fusedMultiplyAdd } from "../backend/cpu/simd/gemm-simd.js";
import { ConfigError } from "../errors/errors.js";
import { DESCENT_VERSION } from "../io/version.js";
import { runAction } from "./errors.js";

function parseThreads(raw: string, where: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${where}: invalid thread count "${raw}" (expected an integer >= 1)`);
  return n;
}

/** Adds --backend and --threads to the program and applies them before any command's action. */
export function registerBackendOptions(program: Command): void {
  program
    .option("--backend <name>", `backend to run on: ${Object.keys(BACKENDS).join(", ")} (default: $DESCENT_BACKEND or ${DEFAULT_BACKEND})`)
    .option("--threads <n>", "threads for float32 matrix products (default: $DESCENT_THREADS or 1)")
    .hook("preAction", async (root) => {
      await runAction(() => {
        const opts = root.opts<{ backend?: string; threads?: string }>();
        const name = opts.backend ?? process.env.DESCENT_BACKEND ?? DEFAULT_BACKEND;
        const rawThreads = opts.threads ?? process.env.DESCENT_THREADS;
        const where = opts.threads !== undefined ? "--threads" : "DESCENT_THREADS";
        const threads = rawThreads === undefined ? undefined : parseThreads(rawThreads, where);
        setBackend(createBackend(name, threads === undefined ? {} : { threads }));
      });
      // a bad choice is bad usage: stop before the command runs
      if (process.exitCode) process.exit(process.exitCode);
    });
}

/** The lines `descent env` prints. */
export function envLines(): string[] {
  const b = currentBackend();
  const f = wasmFeatures();
  const yes = (v: boolean): string => (v ? "yes" : "no");
  const lines = [
    `descent ${DESCENT_VERSION}`,
    `runtime node ${process.version} (${process.platform} ${process.arch}), ${availableParallelism()} cores`,
    `backend ${b.name}`,
  ];
  if (b instanceof CpuBackend) {
    const detail = b.gemmKernel === "native" ? " (AVX2, fused multiply-add)" : b.gemmKernel === "wasm-simd" && fusedMultiplyAdd() ? " (fused multiply-add)" : "";
    lines.push(`float32 matmul ${b.gemmKernel}${detail}`);
  }
  lines.push(
    `simd ${yes(f.simd)}`,
    `relaxed simd ${yes(f.relaxedSimd)}${f.relaxedSimd ? "" : " (no fused multiply-add in this runtime)"}`,
    `shared memory ${yes(f.sharedMemory)}`,
    `threads ${b instanceof CpuBackend ? b.threads : 1}`,
  );
  return lines;
}

export function registerEnv(program: Command): void {
  program
    .command("env")
    .description("print the version, runtime, backend, SIMD / relaxed SIMD support and thread count in use")
    .action(() => runAction(() => console.log(envLines().join("\n"))));
}
