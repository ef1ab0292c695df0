/**
 * Choosing the backend in the API: setBackend makes the default for new tensors, withBackend
 * scopes one and restores the default, createBackend makes one by name (threads for cpu), and
 * wasmFeatures probes the runtime.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, cpu, CpuBackend, createBackend, currentBackend, setBackend, tensor, wasmFeatures, withBackend } from "../../src/index.js";

describe("backend choice", () => {
  it("setBackend changes the default for new tensors; withBackend scopes over it", () => {
    const other = new CpuBackend({ simd: false });
    try {
      setBackend(other);
      expect(tensor([1]).backend).toBe(other);
      expect(withBackend(cpu, () => tensor([1]).backend)).toBe(cpu);
      expect(currentBackend()).toBe(other);
    } finally {
      setBackend(cpu);
    }
    expect(tensor([1]).backend).toBe(cpu);
  });

  it("createBackend by name, with threads; unknown names are refused with the known ones", () => {
    expect(Object.keys(BACKENDS)).toEqual(["cpu"]);
    expect(createBackend("cpu")).toBe(cpu);
    // a worker pool needs process.getBuiltinModule (Node 20.16+); elsewhere one thread runs
    const workers = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";
    expect((createBackend("cpu", { threads: 2 }) as CpuBackend).threads).toBe(workers ? 2 : 1);
    expect(() => createBackend("wasm")).toThrow('Unknown backend "wasm" (available: cpu)');
  });

  it("wasmFeatures reports SIMD in this Node (the SIMD matmul runs here)", () => {
    const f = wasmFeatures();
    expect(f.simd).toBe(true);
    expect(cpu.gemmKernel).toBe("wasm-simd");
    expect(typeof f.relaxedSimd).toBe("boolean");
  });
});
