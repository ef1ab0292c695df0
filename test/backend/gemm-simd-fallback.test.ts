import { describe, expect, it, vi } from "vitest";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { gemmSimd, simdAvailable } from "../../src/backend/cpu/simd/gemm-simd.js";

// No usable module (as where WebAssembly SIMD does not validate): the TypeScript kernel runs.
vi.mock("../../src/backend/cpu/simd/gemm-wasm.generated.js", () => ({ GEMM_WASM_BASE64: "" }));

describe("wasm SIMD gemm fallback", () => {
  it("falls back to the TypeScript kernel when the module is unusable", () => {
    expect(simdAvailable()).toBe(false);
    expect(new CpuBackend().gemmKernel).toBe("typescript");
    const a = Float32Array.of(9, 1, 2, 3, 4, 5, 6);
    const b = Float32Array.of(1, 0, 0, 1, 1, 1);
    const c = new Float32Array(6).fill(7);
    gemmSimd(a, 1, b, 0, c, 1, { m: 2, k: 3, n: 2, transA: false, transB: false });
    expect(Array.from(c)).toEqual([7, 4, 5, 10, 11, 7]);
  });
});
