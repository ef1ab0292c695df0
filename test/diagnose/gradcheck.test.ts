/**
 * gradcheckModel: backprop of a whole model's objective against two-sided differences, per
 * parameter tensor; a wrong gradient is found and located.
 */
import { describe, expect, it } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { buildSequential } from "../../src/nn/sequential.js";
import { crossEntropy, l2Penalty } from "../../src/losses/index.js";
import { add, detach, mul, sum } from "../../src/ops/index.js";
import { gradcheckModel, verdictOf } from "../../src/diagnose/gradcheck-model.js";
import type { Sequential } from "../../src/nn/sequential.js";

const rng = new Generator(3);
const model = buildSequential([{ type: "linear", outFeatures: 5 }, { type: "tanh" }, { type: "dropout", p: 0.3 }, { type: "linear", outFeatures: 3 }], { inputShape: [4], rng });
const x = fromValues(Float32Array.from({ length: 24 }, () => rng.normal()), [6, 4]);
const y = fromValues(Int32Array.from([0, 1, 2, 0, 1, 2]), [6]);

describe("gradcheckModel", () => {
  it("a correct model with an l2 penalty is fine on every tensor; dropout is turned off and said so", async () => {
    const r = await gradcheckModel(model, crossEntropy, x, y, (m) => l2Penalty(m as Sequential, 0.1));
    expect(r.verdict).toBe("fine");
    expect(r.tensors.map((t) => t.name)).toEqual(["0.weight", "0.bias", "3.weight", "3.bias"]);
    for (const t of r.tensors) {
      expect(t.relError).toBeLessThan(1e-7);
      expect(t.checked).toBe(t.shape.reduce((a, b) => a * b, 1));
    }
    expect(r.notes[0]).toMatch(/dropout turned off for the check \(layer 2\)/);
  });

  it("a loss whose gradient misses a term is wrong, and the tensor and entry are named", async () => {
    // the detached term changes the loss but not its backprop: the gradient of 3.bias is wrong
    const broken = (out: Tensor, t: Tensor) => add(crossEntropy(out, t), sum(mul(out, detach(out))));
    const r = await gradcheckModel(model, broken, x, y, undefined);
    expect(r.verdict).toBe("wrong");
    const bias = r.tensors.find((t) => t.name === "3.bias")!;
    expect(bias.verdict).toBe("wrong");
    expect(bias.worst.index).toHaveLength(1);
    expect(Math.abs(bias.worst.analytic - bias.worst.numeric)).toBeGreaterThan(1e-3);
  });

  it("checks a seeded subset of a large tensor, and reads the thresholds", async () => {
    const r = await gradcheckModel(model, crossEntropy, x, y, undefined, { maxPerTensor: 7 });
    expect(r.tensors[0]!.checked).toBe(7);
    expect(r.notes).toContain("0.weight: 7 of 20 entries checked (a seeded random subset)");
    expect([verdictOf(1e-8), verdictOf(1e-5), verdictOf(2e-3)]).toEqual(["fine", "look closer", "wrong"]);
    await expect(gradcheckModel(model, crossEntropy, x, y, undefined, { maxPerTensor: 0 })).rejects.toThrow(/invalid maxPerTensor 0/);
  });
});
