/**
 * The broken-runs gallery (examples/broken/): every config trains (a few seconds each) and its
 * diagnosis names the pathology its file is named after; the healthy run gets no problem or
 * warning at all. Then the w1·w2 saddle example (examples/saddle/): diagnose reports the saddle
 * with λmin = −2 and λmax = 2, --escape writes a checkpoint, and train --resume takes the loss
 * to ~0. This is the one file that trains many runs; keep each config small.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runExperiment } from "../../src/train/experiment.js";
import { loadConfigFile } from "../../src/train/config.js";
import { NonFiniteError } from "../../src/errors/errors.js";
import { diagnoseRun } from "../../src/diagnose/run.js";
import { depthCheck, shallowerTwin } from "../../src/diagnose/depth.js";
import { sortFindings } from "../../src/diagnose/findings.js";

const root = mkdtempSync(join(tmpdir(), "descent-gallery-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function train(file: string, name: string): Promise<string> {
  const out = join(root, name);
  try {
    // read as a user's --config is: data paths relative to the config file's folder
    await runExperiment(loadConfigFile(file), { outDir: out, log: () => {}, progress: false, report: false });
  } catch (e) {
    // a run that diverges stops on a non-finite loss: diagnose reads what it left behind
    if (!(e instanceof NonFiniteError)) throw e;
  }
  return out;
}

const gallery = readdirSync("examples/broken").filter((f) => f.endsWith(".json")).sort();
const expected: Record<string, string> = { "saddle-mlp": "saddle-point" };

describe("examples/broken: each run is diagnosed with its pathology", () => {
  it("has a config per pathology and a healthy one", () => {
    const names = gallery.map((f) => f.replace(/\.json$/, ""));
    for (const code of ["healthy", "high-bias", "high-variance", "data-mismatch", "overfit-dev", "lr-too-high", "lr-too-low", "vanishing-gradients",
      "exploding-gradients", "dead-relu", "saturated-units", "symmetric-weights", "unnormalized-inputs", "saddle-mlp", "optimization-problem"]) {
      expect(names).toContain(code);
    }
  });

  for (const file of gallery) {
    const name = file.replace(/\.json$/, "");
    it(name, async () => {
      const run = await train(join("examples/broken", file), name);
      const d = await diagnoseRun(run);
      // the shallow-versus-deep test trains a twin: only where it decides (and on the healthy run)
      if (name === "optimization-problem" || name === "healthy") {
        const dc = await depthCheck(run);
        if (dc.finding) d.findings = sortFindings([...d.findings, dc.finding]);
        expect(dc.deepLoss > dc.shallowLoss).toBe(name === "optimization-problem");
      }
      const codes = d.findings.map((f) => f.code);
      if (name === "healthy") {
        expect(d.findings.filter((f) => f.severity !== "info"), JSON.stringify(d.findings)).toEqual([]);
        expect(codes).toContain("healthy");
      } else {
        const want = expected[name] ?? name;
        const hit = d.findings.find((f) => f.code === want);
        expect(hit, `${name}: ${JSON.stringify(codes)}`).toBeDefined();
        expect(hit!.severity).not.toBe("info");
        expect(hit!.remedies.length).toBeGreaterThan(0);
        expect(codes).not.toContain("healthy");
      }
      if (name === "saddle-mlp") {
        // a real MLP started at a saddle (zero weights): the escape step and a resume train it
        await diagnoseRun(run, { escape: true });
        const resumed = await runExperiment(undefined, { resumeDir: run, log: () => {}, progress: false, report: false });
        expect(resumed.test.accuracy).toBeGreaterThan(0.9);
      }
      // layer findings name a real layer of the model, as the summary prints it
      for (const f of d.findings) if (f.layer) expect(f.layer.type).toMatch(/^[A-Z][A-Za-z0-9]+$/);
    });
  }
});

describe("examples/saddle: L(w1, w2) = (1 − w1·w2)² at the origin", () => {
  it("is a saddle with λmin = −2 and λmax = 2; --escape then train --resume brings the loss near 0", async () => {
    const run = await train("examples/saddle/w1w2.json", "w1w2");
    const d = await diagnoseRun(run);
    const saddle = d.findings.find((f) => f.code === "saddle-point");
    expect(saddle?.severity).toBe("problem");
    expect(d.findings.map((f) => f.code)).toContain("plateau");
    const cp = d.criticalPoint!;
    expect(cp.class).toBe("saddle");
    expect(cp.gradNorm).toBe(0);
    expect(cp.lambdaMin).toBeCloseTo(-2, 10);
    expect(cp.lambdaMax).toBeCloseTo(2, 10);
    expect(cp.escape!.lossAfter).toBeLessThan(cp.escape!.lossBefore);
    expect(cp.escape!.checkpoint).toBeUndefined();
    const escaped = await diagnoseRun(run, { escape: true });
    expect(escaped.criticalPoint!.escape!.checkpoint).toBe(join(run, "checkpoints", "escape.ckpt"));
    const resumed = await runExperiment(undefined, { resumeDir: run, log: () => {}, progress: false, report: false });
    expect(resumed.test.loss!).toBeLessThan(1e-6);
    // at the minimum now: no saddle to escape from
    await expect(diagnoseRun(run, { escape: true })).rejects.toThrow(/--escape: the point at .* is no saddle \((minimum|degenerate|none)/);
  });
});

describe("shallowerTwin", () => {
  it("removes half of the hidden blocks (at least one), the last ones, and lets input sizes be inferred again", () => {
    const lin = (n: number) => ({ type: "linear" as const, outFeatures: n });
    expect(shallowerTwin([lin(4), { type: "relu" }, lin(2)])).toEqual([lin(2)]);
    expect(shallowerTwin([lin(4), { type: "tanh" }, lin(4), { type: "batchNorm1d", numFeatures: 4 }, { type: "tanh" }, { type: "linear", outFeatures: 2, inFeatures: 4 }]))
      .toEqual([lin(4), { type: "tanh" }, lin(2)]);
    const cnn = [{ type: "conv2d" as const, outChannels: 8, kernelSize: 3 }, { type: "relu" as const }, { type: "maxPool2d" as const, kernelSize: 2 },
      { type: "conv2d" as const, outChannels: 16, kernelSize: 3, inChannels: 8 }, { type: "relu" as const }, { type: "maxPool2d" as const, kernelSize: 2 },
      { type: "flatten" as const }, lin(10)];
    expect(shallowerTwin(cnn)!.map((s) => s.type)).toEqual(["conv2d", "relu", "maxPool2d", "maxPool2d", "flatten", "linear"]);
    expect(shallowerTwin([lin(3)])).toBeNull();
  });
});
