/**
 * `descent env` and the global backend choice: the report names the backend, the float32 matmul
 * kernel, SIMD, relaxed SIMD and the thread count; --threads and DESCENT_THREADS change the
 * thread count (flag first); an unknown backend or a bad count is bad usage (exit 2), one line.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { relaxedSimdFlags } from "../../src/backend/node-flags.js";
import { nativeAddon } from "../../src/backend/native/native.js";
import { ensureBuilt, lines, ROOT, runCli, tempDir } from "./helpers.js";

describe("descent env", () => {
  beforeAll(ensureBuilt);
  const cwd = tempDir("env");

  it("prints the backend, SIMD, relaxed SIMD and threads", async () => {
    const r = await runCli(["env"], cwd);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^descent \d+\.\d+\.\d+/);
    // the default: native where its addon was built and runs, else wasm
    const native = nativeAddon() !== null;
    expect(out).toContain(native ? "backend native" : "backend wasm");
    expect(out).toContain("threads 1");
    expect(out.some((l) => /^float32 matmul (native \(AVX2, fused multiply-add\)|wasm-simd( \(fused multiply-add\))?|typescript)$/.test(l))).toBe(true);
    expect(out.some((l) => /^simd (yes|no)$/.test(l))).toBe(true);
    expect(out.some((l) => /^relaxed simd (yes|no)/.test(l))).toBe(true);
    // the WebAssembly matmul fuses its multiply-adds exactly where relaxed SIMD validates
    const wasm = lines((await runCli(["--backend", "wasm", "env"], cwd)).stdout);
    expect(wasm.includes("relaxed simd yes")).toBe(wasm.includes("float32 matmul wasm-simd (fused multiply-add)"));
  });

  it("switches relaxed SIMD on where this Node has it behind a flag (Node 20)", async () => {
    const features = join(ROOT, "dist", "src", "backend", "features.js");
    const probe = spawnSync(
      process.execPath,
      [...relaxedSimdFlags(), "--input-type=module", "-e", `import { wasmFeatures } from ${JSON.stringify(pathToFileURL(features).href)}; console.log(wasmFeatures().relaxedSimd)`],
      { encoding: "utf8", timeout: 60_000 },
    );
    const runtimeHasIt = probe.stdout.trim() === "true";
    const out = lines((await runCli(["env"], cwd)).stdout);
    expect(out.includes("relaxed simd yes")).toBe(runtimeHasIt);
  });

  it("takes --backend, then DESCENT_BACKEND", async () => {
    expect(lines((await runCli(["--backend", "cpu", "env"], cwd)).stdout)).toContain("backend cpu");
    process.env.DESCENT_BACKEND = "cpu";
    try {
      expect(lines((await runCli(["env"], cwd)).stdout)).toContain("backend cpu");
      expect(lines((await runCli(["--backend", "wasm", "env"], cwd)).stdout)).toContain("backend wasm");
    } finally {
      delete process.env.DESCENT_BACKEND;
    }
  });

  // a worker pool needs process.getBuiltinModule (Node 20.16+)
  it.runIf(typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function")("takes --threads, then DESCENT_THREADS", async () => {
    expect(lines((await runCli(["--threads", "2", "env"], cwd)).stdout)).toContain("threads 2");
    process.env.DESCENT_THREADS = "2";
    try {
      expect(lines((await runCli(["env"], cwd)).stdout)).toContain("threads 2");
      expect(lines((await runCli(["--threads", "1", "env"], cwd)).stdout)).toContain("threads 1");
    } finally {
      delete process.env.DESCENT_THREADS;
    }
  });

  it("refuses an unknown backend and a bad thread count as bad usage, in one line", async () => {
    const bad = await runCli(["--backend", "webgl", "env"], cwd);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual(['error: Unknown backend "webgl" (available: cpu, wasm, native)']);
    const threads = await runCli(["--threads", "0", "env"], cwd);
    expect(threads.code).toBe(2);
    expect(lines(threads.stderr)).toEqual(['error: --threads: invalid thread count "0" (expected an integer >= 1)']);
    expect(threads.stdout).toBe("");
  });
});
