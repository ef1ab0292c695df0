/**
 * Choosing the backend in the API: setBackend makes the default for new tensors, withBackend
 * scopes one and restores the default, createBackend makes one by name (threads for cpu), and
 * wasmFeatures probes the runtime.
 */
import { describe, expect, it } from "vitest";
import {
  BACKENDS, cpu, CpuBackend, createBackend, currentBackend, DEFAULT_BACKEND, setBackend, tensor, WasmBackend, wasmFeatures, withBackend,
} from "../../src/index.js";
import { nativeAddon } from "../../src/backend/native/native.js";

describe("backend choice", () => {
  it("the default is the fastest valid backend: native where its addon runs, else wasm where SIMD validates (it does in this Node)", () => {
    const expected = nativeAddon() ? "native" : "wasm";
    expect(DEFAULT_BACKEND).toBe(expected);
    const start = currentBackend();
    expect(start).toBeInstanceOf(WasmBackend);
    expect(start.name).toBe(expected);
    expect(createBackend(expected)).toBe(start);
    expect(tensor([1]).backend).toBe(start);
  });

  it("setBackend changes the default for new tensors; withBackend scopes over it", () => {
    const other = new CpuBackend({ simd: false });
    const start = currentBackend();
    try {
      setBackend(other);
      expect(tensor([1]).backend).toBe(other);
      expect(withBackend(cpu, () => tensor([1]).backend)).toBe(cpu);
      expect(currentBackend()).toBe(other);
    } finally {
      setBackend(start);
    }
    expect(tensor([1]).backend).toBe(start);
  });

  it("createBackend by name, with threads; unknown names are refused with the known ones", () => {
    expect(Object.keys(BACKENDS)).toEqual(["cpu", "wasm", "native"]);
    expect(createBackend("cpu")).toBe(cpu);
    // a worker pool needs process.getBuiltinModule (Node 20.16+); elsewhere one thread runs
    const workers = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";
    expect((createBackend("cpu", { threads: 2 }) as CpuBackend).threads).toBe(workers ? 2 : 1);
    const wasm2 = createBackend("wasm", { threads: 2 }) as WasmBackend;
    expect(wasm2).toBeInstanceOf(WasmBackend);
    expect(wasm2.threads).toBe(workers ? 2 : 1);
    expect(() => createBackend("webgpu")).toThrow('Unknown backend "webgpu" (available: cpu, wasm, native)');
  });

  it("wasmFeatures reports SIMD in this Node (the SIMD matmul runs here)", () => {
    const f = wasmFeatures();
    expect(f.simd).toBe(true);
    expect(cpu.gemmKernel).toBe("wasm-simd");
    expect(typeof f.relaxedSimd).toBe("boolean");
  });
});
