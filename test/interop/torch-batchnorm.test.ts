/**
 * State dicts move between descent and PyTorch both ways (issue 9, item 12), BatchNorm's buffers
 * included: `running_mean`, `running_var` and `num_batches_tracked` under PyTorch's names, and
 * momentum null, the cumulative average. The committed fixture (test/interop/fixtures) was written
 * by Debian's python3-torch with torch_batchnorm.py, so CI without torch still checks the loading
 * side; where torch is installed the test also writes a fresh one with another seed, and has torch
 * load descent's state dict with strict=True.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { noGrad } from "../../src/autograd/mode.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors-file.js";
import { buildSequential, type LayerSpec, type Sequential } from "../../src/nn/index.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { randn } from "../../src/tensor/creation.js";

const SPECS: LayerSpec[] = [
  { type: "conv2d", outChannels: 2, kernelSize: 3, padding: 1 }, { type: "batchNorm2d" }, { type: "relu" }, { type: "flatten" },
  { type: "linear", outFeatures: 6 }, { type: "batchNorm1d", momentum: null }, { type: "relu" }, { type: "linear", outFeatures: 3 },
];
const SCRIPT = new URL("./torch_batchnorm.py", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0;

const root = mkdtempSync(join(tmpdir(), "descent-torch-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const model = (): Sequential => buildSequential(SPECS, { inputShape: [1, 4, 4], rng: new Generator(11) });

function expectClose(a: Tensor, b: Tensor, what: string, tol = 1e-5): void {
  expect([...a.shape], `${what}: shape`).toEqual([...b.shape]);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!), `${what}[${i}]: ${x[i]} vs ${y[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!)));
}

function python(...args: string[]): void {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`torch_batchnorm.py ${args[0]} failed: ${r.stderr}`);
}

/** Loads torch's state dict strictly, then checks eval outputs and one more training step's buffers. */
function checkTorchFiles(folder: string): void {
  const { tensors: state } = readSafetensors(join(folder, "model.safetensors"));
  const io = readSafetensors(join(folder, "io.safetensors")).tensors;
  expect(Object.keys(state)).toEqual(expect.arrayContaining(["1.running_mean", "1.running_var", "1.num_batches_tracked", "5.num_batches_tracked"]));
  const m = model();
  expect(m.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
  expect(Array.from(m.stateDict()["5.num_batches_tracked"]!.dataSync())).toEqual([3]);
  m.eval();
  expectClose(noGrad(() => m.forward(io.x_eval!)), io.y_eval!, "eval output");
  m.train();
  noGrad(() => m.forward(io.x_train!));
  const after = m.stateDict();
  for (const key of ["1.running_mean", "1.running_var", "5.running_mean", "5.running_var"]) expectClose(after[key]!, io[`after.${key}`]!, key);
  for (const key of ["1.num_batches_tracked", "5.num_batches_tracked"]) {
    expect(Array.from(after[key]!.dataSync()), key).toEqual(Array.from(io[`after.${key}`]!.dataSync()));
  }
}

describe("BatchNorm state dicts with PyTorch's keys", () => {
  it("loads a state dict torch wrote (committed fixture): eval outputs and the cumulative running average match", () => {
    checkTorchFiles(FIXTURES);
  });

  it("a non-strict load reports what it skipped", () => {
    const { tensors } = readSafetensors(join(FIXTURES, "model.safetensors"));
    const { "1.running_var": _dropped, ...rest } = tensors;
    const m = model();
    const report = m.loadStateDict({ ...rest, "1.runningVar": tensors["1.running_var"]! }, { strict: false });
    expect(report).toEqual({ missing: ["1.running_var"], unexpected: ["1.runningVar"] });
    expect(() => model().loadStateDict({ ...rest })).toThrow(/missing "1\.running_var"/);
  });

  it.runIf(hasTorch)("round trip with torch at test time: torch writes, descent loads; descent writes, torch loads strictly", () => {
    const folder = join(root, "fresh");
    spawnSync("mkdir", ["-p", folder]);
    python("write", folder, "7");
    checkTorchFiles(folder);

    // descent trains its own model a little (moving its running statistics), then torch loads it
    const m = model();
    const rng = new Generator(3);
    for (let i = 0; i < 4; i++) noGrad(() => m.forward(randn([8, 1, 4, 4], { rng })));
    m.eval();
    const x = randn([5, 1, 4, 4], { rng });
    const ours = noGrad(() => m.forward(x));
    const statePath = join(root, "descent.safetensors");
    writeSafetensors(statePath, m.stateDict());
    writeSafetensors(join(root, "x.safetensors"), { x });
    python("check", statePath, join(root, "x.safetensors"), join(root, "y.safetensors"));
    expectClose(ours, readSafetensors(join(root, "y.safetensors")).tensors.y!, "torch's output on descent's weights");
  });
});
