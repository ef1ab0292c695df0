/**
 * Which backend new tensors are made on. The default is the fastest valid one: `native` where the
 * native addon was built and runs (Node on x86-64 with AVX2 and FMA), else `wasm` where
 * WebAssembly SIMD validates, else `cpu`; `withBackend(b, fn)` scopes another
 * one for the duration of fn and restores the previous one in `finally`; `setBackend(b)` replaces
 * the default for the rest of the program (what the CLI's --backend does). Ops run on the backend
 * of their inputs, so only creation functions consult this. `createBackend(name)` makes one by
 * name, from the table of names a user may choose.
 */
import type { Backend } from "./backend.js";
import { cpu, CpuBackend } from "./cpu/cpu.js";
import { simdAvailable } from "./cpu/simd/gemm-simd.js";
import { WasmBackend } from "./wasm/wasm.js";
import { nativeAddon, NativeBackend } from "./native/native.js";
import { ConfigError } from "../errors/errors.js";

/** The shared one-thread wasm backend, or null where WebAssembly SIMD does not validate. */
export const wasm: WasmBackend | null = simdAvailable() ? new WasmBackend() : null;

const addon = wasm ? nativeAddon() : null;

/** The shared one-thread native backend, or null where the addon does not run here. */
export const native: NativeBackend | null = addon ? new NativeBackend(addon) : null;

/** The name of the backend a program starts on: "native", else "wasm" where SIMD validates, else "cpu". */
export const DEFAULT_BACKEND: string = native ? "native" : wasm ? "wasm" : "cpu";

let current: Backend = native ?? wasm ?? cpu;

export function currentBackend(): Backend {
  return current;
}

/** Makes `backend` the default for every tensor created from now on (outside withBackend scopes). */
export function setBackend(backend: Backend): void {
  current = backend;
}

export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export interface BackendChoice {
  /** threads for the float32 matrix product (cpu: a worker pool when > 1) */
  threads?: number;
}

/** The backends a user can name, each with its one-line description. */
export const BACKENDS: Readonly<Record<string, { describe: string; create: (choice: BackendChoice) => Backend }>> = {
  cpu: {
    describe: "TypeScript kernels, WebAssembly SIMD for float32 matmul and optimizer updates, float64 capable",
    create: (choice) => (choice.threads === undefined || choice.threads === 1 ? cpu : new CpuBackend({ threads: choice.threads })),
  },
  wasm: {
    describe: "the cpu backend's storage with every hot float32 kernel on WebAssembly SIMD (elementwise, reductions, im2col, pooling, copies); the cpu backend where SIMD is missing",
    create: (choice) => {
      if (!wasm) return BACKENDS.cpu!.create(choice);
      return choice.threads === undefined || choice.threads === 1 ? wasm : new WasmBackend({ threads: choice.threads });
    },
  },
  native: {
    describe: "the wasm backend with float32 matrix products (matmul, convolution) on descent's native AVX2 kernel and its own threads (Node on x86-64, where `npm ci` could build it); the wasm backend elsewhere",
    create: (choice) => {
      if (!addon || !native) return BACKENDS.wasm!.create(choice);
      return choice.threads === undefined || choice.threads === 1 ? native : new NativeBackend(addon, { threads: choice.threads });
    },
  },
};

/** A backend by name (see BACKENDS); an unknown name is an error listing the known ones. */
export function createBackend(name: string, choice: BackendChoice = {}): Backend {
  const entry = BACKENDS[name];
  if (!entry) throw new ConfigError(`Unknown backend "${name}" (available: ${Object.keys(BACKENDS).join(", ")})`);
  return entry.create(choice);
}
