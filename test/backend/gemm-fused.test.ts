/**
 * The relaxed-SIMD build of the float32 GEMM (fused multiply-add), as the descent command runs it:
 * in a child node started with relaxedSimdFlags() or with the preload module
 * (./fused-gemm-check.mjs on the build in dist/),
 * the kernel is the fused one, stays within float32 summation error of a float64 product on every
 * transpose and edge, and gives 1 thread's bits on 2 and the native addon's bits. The rest of the suite runs the plain build
 * (this process has no flag on Node 20), as a library user's program does.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { relaxedSimdFlags } from "../../src/backend/node-flags.js";
import { ensureBuilt } from "../cli/helpers.js";

describe("fused multiply-add GEMM (relaxed SIMD)", () => {
  beforeAll(ensureBuilt);

  it("is used under the descent command's flags, accurate and thread-count independent", () => {
    const script = fileURLToPath(new URL("./fused-gemm-check.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [...relaxedSimdFlags(), script], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { fused: boolean; pool: boolean; products: number; worst: number; threadMismatches: number; nativeMismatches: number };
    expect(out.fused).toBe(true);
    expect(out.products).toBe(7);
    expect(out.worst).toBeLessThanOrEqual(1);
    expect(out.worst).toBeGreaterThan(0);
    expect(out.threadMismatches).toBe(0);
    // the native addon sums in the fused kernel's order: the same bits (test/backend/native.test.ts has the rest)
    expect(out.nativeMismatches).toBe(0);
  });

  it("is switched on by the preload module a program passes to node (--import descent-dl/relaxed-simd)", () => {
    const script = fileURLToPath(new URL("./fused-gemm-check.mjs", import.meta.url));
    const preload = fileURLToPath(new URL("../../dist/src/backend/relaxed-simd-preload.js", import.meta.url));
    const r = spawnSync(process.execPath, ["--import", pathToFileURL(preload).href, script], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).fused).toBe(true);
  });
});
