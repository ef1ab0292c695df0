/**
 * V8 flags that turn on what the kernels can use in older Node versions. Relaxed SIMD (the fused
 * multiply-add of the float32 matrix product, wasm/gemm.ts) is on by default from Node 22 (V8
 * 12.4) and in Chrome; Node 20 has it behind --experimental-wasm-relaxed-simd. The `descent`
 * command sets it before the library compiles a kernel (bin/descent.js), and local search workers
 * get it in their execArgv. A program that imports the library on Node 20 passes the flag to
 * node itself. No imports beyond node:v8, so the command can load this before the library.
 */
import { setFlagsFromString } from "node:v8";

/** The flags this Node needs for relaxed SIMD: none from Node 22 on (where the flag is gone). */
export function relaxedSimdFlags(version: string = process.versions.node): string[] {
  return Number(version.split(".")[0]) < 22 ? ["--experimental-wasm-relaxed-simd"] : [];
}

/** Sets `relaxedSimdFlags()` in this process; call before the first import of the library. */
export function enableRelaxedSimd(): void {
  for (const flag of relaxedSimdFlags()) setFlagsFromString(flag);
}
