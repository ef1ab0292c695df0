/**
 * `descent diagnose` and `descent gradcheck` as a user runs them: the exact --json contract, the
 * terminal verdict, and one-line errors for bad input (a bad --target-error, a missing run, a
 * damaged metrics line, a run without checkpoints, --escape where there is no saddle).
 */
import { appendFileSync, cpSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, ROOT, runCli, tempDir, writeConfig } from "./helpers.js";

let dir: string;

const blobs = (extra: Record<string, unknown> = {}) => ({
  data: { source: "csv", path: resolve(ROOT, "examples/broken/data/blobs.csv"), label: "label" },
  split: { train: 300, dev: 100, test: 100 },
  model: { layers: [{ type: "linear", outFeatures: 16 }, { type: "relu" }, { type: "linear", outFeatures: 3 }] },
  optimizer: { name: "adam", lr: 0.003 },
  epochs: 4,
  batchSize: 32,
  ...extra,
});

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("diagnose");
  writeConfig(dir, "ok.json", blobs());
  writeConfig(dir, "dropout.json", blobs({ model: { layers: [{ type: "linear", outFeatures: 8 }, { type: "tanh" }, { type: "dropout", p: 0.5 }, { type: "linear", outFeatures: 3 }] }, regularization: { l2: 0.01 } }));
  const r = await runCli(["train", "--config", "ok.json", "--out", "run", "--no-progress"], dir);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

describe("descent diagnose RUN", () => {
  it("--json prints exactly { findings, errors } for a healthy run", async () => {
    const r = await runCli(["diagnose", "run", "--json", "--target-error", "0.01"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["errors", "findings"]);
    expect(out.findings).toEqual([{ code: "healthy", severity: "info", evidence: {}, remedies: [] }]);
    expect(Object.keys(out.errors).sort()).toEqual(["dev", "target", "test", "train"]);
    expect(out.errors.target).toBe(0.01);
    for (const k of ["train", "dev", "test"]) expect(out.errors[k]).toBeGreaterThanOrEqual(0);
  });

  it("--hessian adds the critical point: class, gradient norm, λmin ≤ λmax, top-k and trace", async () => {
    const r = await runCli(["diagnose", "run", "--json", "--hessian"], dir);
    expect(r.code, r.stderr).toBe(0);
    const cp = JSON.parse(r.stdout).criticalPoint;
    expect(["minimum", "degenerate", "saddle", "none", "maximum", "flat"]).toContain(cp.class);
    expect(cp.lambdaMin).toBeLessThanOrEqual(cp.lambdaMax);
    expect(cp.topK[0]).toBe(cp.lambdaMax);
    expect(typeof cp.trace).toBe("number");
    expect(cp.gradNorm).toBeGreaterThanOrEqual(0);
  });

  it("the terminal verdict: errors, then each finding with its remedies", async () => {
    const r = await runCli(["diagnose", "run"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toBe("diagnosis of run");
    expect(out[1]).toMatch(/^errors: train \d+\.\d\d%  dev \d+\.\d\d%  test \d+\.\d\d%$/);
    expect(out[2]).toMatch(/^INFO +healthy: no problem found$/);
  });

  it("bad input: one line, exit 2", async () => {
    for (const [args, msg] of [
      [["diagnose", "run", "--target-error", "1.5"], /^error: --target-error: 1\.5 is outside \[0, 1\)$/],
      [["diagnose", "run", "--target-error", "x"], /^error: --target-error: "x" is not a number$/],
      [["diagnose", "nowhere"], /^error: nowhere: no such run folder$/],
      [["diagnose", "run", "--escape"], /^error: --escape: the point at .*epoch-4\.ckpt is no saddle \(\w+: λmin .*, λmax .*, gradient norm .*\)$/],
    ] as const) {
      const r = await runCli([...args], dir);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
    }
  });

  it("a damaged metrics line is skipped with a warning naming it; a run without checkpoints or model says what it could not check", async () => {
    cpSync(join(dir, "run"), join(dir, "damaged"), { recursive: true });
    appendFileSync(join(dir, "damaged", "metrics.jsonl"), '{"type":"step","step":\n');
    const r = await runCli(["diagnose", "damaged", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: damaged\/metrics\.jsonl line \d+: not valid JSON, skipped$/m);
    JSON.parse(r.stdout);
    rmSync(join(dir, "damaged", "checkpoints"), { recursive: true });
    rmSync(join(dir, "damaged", "model.json"));
    const bare = await runCli(["diagnose", "damaged"], dir);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toMatch(/errors: train n\/a  dev n\/a/);
    expect(bare.stdout).toMatch(/not checked:\n  - errors, weights and the Hessian: the run has no model and no checkpoint/);
  });
});

describe("descent gradcheck", () => {
  it("RUN: every parameter tensor fine, with its relative error", async () => {
    const r = await runCli(["gradcheck", "run", "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe("fine");
    expect(out.tensors.map((t: { name: string }) => t.name)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    for (const t of out.tensors) expect(t.relError).toBeLessThan(1e-6);
  });

  it("--config: dropout is turned off and said so; l2 is in the checked loss", async () => {
    const r = await runCli(["gradcheck", "--config", "dropout.json"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^note: dropout turned off for the check \(layer 2\)/m);
    expect(r.stdout).toMatch(/^verdict: fine/m);
    const both = await runCli(["gradcheck", "run", "--config", "dropout.json"], dir);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe("error: gradcheck: give a run folder or --config FILE (one of them)");
  });
});
