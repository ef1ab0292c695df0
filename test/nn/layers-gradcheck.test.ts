/**
 * The layer table: every layer, in float64, through gradcheck with respect to its input and each
 * of its parameters (through functionalCall), in train and in eval mode where the two differ
 * (batch norm, dropout). Inputs avoid kinks and ties (relu at 0, equal maxima).
 */
import { describe, expect, it } from "vitest";
import {
  AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, ELU, Flatten, Generator, GlobalAvgPool2d, GroupNorm, InstanceNorm2d, LayerNorm,
  LeakyReLU, Linear, MaxPool2d, Module, PReLU, ReLU, Sequential, Sigmoid, Softmax, Tanh, functionalCall, gradcheck, randn, type Tensor,
} from "../../src/index.js";
import { awayFromZero, distinct, normal } from "../core/helpers.js";

type Mode = "train" | "eval";

interface Row {
  name: string;
  make: (rng: Generator) => Module;
  input: (rng: Generator) => Tensor;
  modes: Mode[];
  /** the layer draws random numbers in forward (dropout): replay the same draws for every evaluation */
  replay?: Generator;
}

const dtype = "float64" as const;
const dropRng = new Generator(99);

const rows: Row[] = [
  { name: "Linear", make: (rng) => new Linear({ inFeatures: 4, outFeatures: 3, rng, dtype }), input: (rng) => normal(rng, [3, 4]), modes: ["train"] },
  { name: "Linear (no bias, 3-D input)", make: (rng) => new Linear({ inFeatures: 3, outFeatures: 2, bias: false, rng, dtype }), input: (rng) => normal(rng, [2, 2, 3]), modes: ["train"] },
  {
    name: "Conv2d (padding 1, stride 2)",
    make: (rng) => new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, stride: 2, rng, dtype }),
    input: (rng) => normal(rng, [2, 2, 5, 5]), modes: ["train"],
  },
  {
    name: "Conv2d (same, dilation 2, groups 2)",
    make: (rng) => new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: [3, 2], padding: "same", dilation: 2, groups: 2, rng, dtype }),
    input: (rng) => normal(rng, [1, 2, 5, 4]), modes: ["train"],
  },
  { name: "MaxPool2d", make: () => new MaxPool2d({ kernelSize: 2 }), input: (rng) => distinct(rng, [2, 2, 4, 4]), modes: ["train"] },
  { name: "MaxPool2d (padding, stride 1)", make: () => new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1 }), input: (rng) => distinct(rng, [1, 2, 4, 4]), modes: ["train"] },
  { name: "AvgPool2d", make: () => new AvgPool2d({ kernelSize: 2, stride: 1, padding: 1 }), input: (rng) => normal(rng, [2, 2, 3, 3]), modes: ["train"] },
  { name: "GlobalAvgPool2d", make: () => new GlobalAvgPool2d(), input: (rng) => normal(rng, [2, 3, 3, 3]), modes: ["train"] },
  { name: "Flatten", make: () => new Flatten(), input: (rng) => normal(rng, [2, 2, 2, 3]), modes: ["train"] },
  { name: "BatchNorm1d", make: () => withStats(new BatchNorm1d({ numFeatures: 3, dtype })), input: (rng) => normal(rng, [5, 3]), modes: ["train", "eval"] },
  { name: "BatchNorm1d ([N, C, L])", make: () => withStats(new BatchNorm1d({ numFeatures: 2, dtype })), input: (rng) => normal(rng, [3, 2, 4]), modes: ["train", "eval"] },
  { name: "BatchNorm2d", make: () => withStats(new BatchNorm2d({ numFeatures: 2, dtype })), input: (rng) => normal(rng, [2, 2, 3, 3]), modes: ["train", "eval"] },
  { name: "LayerNorm", make: () => perturbed(new LayerNorm({ normalizedShape: [2, 3], dtype })), input: (rng) => normal(rng, [3, 2, 3]), modes: ["train"] },
  { name: "InstanceNorm2d (affine)", make: () => perturbed(new InstanceNorm2d({ numFeatures: 2, affine: true, dtype })), input: (rng) => normal(rng, [2, 2, 3, 3]), modes: ["train"] },
  { name: "GroupNorm", make: () => perturbed(new GroupNorm({ numGroups: 2, numChannels: 4, dtype })), input: (rng) => normal(rng, [2, 4, 2, 2]), modes: ["train"] },
  {
    name: "Dropout", make: () => new Dropout({ p: 0.4, rng: dropRng }), input: (rng) => normal(rng, [4, 5]), modes: ["train", "eval"], replay: dropRng,
  },
  { name: "ReLU", make: () => new ReLU(), input: (rng) => awayFromZero(rng, [3, 4]), modes: ["train"] },
  { name: "LeakyReLU", make: () => new LeakyReLU({ negativeSlope: 0.1 }), input: (rng) => awayFromZero(rng, [3, 4]), modes: ["train"] },
  { name: "PReLU (per channel)", make: () => new PReLU({ numParameters: 3, dtype }), input: (rng) => awayFromZero(rng, [2, 3, 2, 2]), modes: ["train"] },
  { name: "PReLU (shared)", make: () => new PReLU({ dtype }), input: (rng) => awayFromZero(rng, [3, 4]), modes: ["train"] },
  { name: "ELU", make: () => new ELU({ alpha: 0.7 }), input: (rng) => awayFromZero(rng, [3, 4]), modes: ["train"] },
  { name: "Sigmoid", make: () => new Sigmoid(), input: (rng) => normal(rng, [3, 4]), modes: ["train"] },
  { name: "Tanh", make: () => new Tanh(), input: (rng) => normal(rng, [3, 4]), modes: ["train"] },
  { name: "Softmax", make: () => new Softmax({ dim: 1 }), input: (rng) => normal(rng, [3, 4]), modes: ["train"] },
  {
    name: "Sequential (conv, bn, relu, pool, flatten, linear)",
    make: (rng) => new Sequential([
      new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, padding: "same", rng, dtype }), withStats(new BatchNorm2d({ numFeatures: 2, dtype })),
      new Tanh(), new AvgPool2d({ kernelSize: 2 }), new Flatten(), new Linear({ inFeatures: 8, outFeatures: 3, rng, dtype }),
    ]),
    input: (rng) => normal(rng, [2, 1, 4, 4]), modes: ["train", "eval"],
  },
];

/** Non-trivial running statistics, so eval mode is not the identity normalization. */
function withStats<M extends BatchNorm1d | BatchNorm2d>(m: M): M {
  const c = m.numFeatures;
  const rng = new Generator(5);
  m.loadStateDict({
    ...m.stateDict(),
    running_mean: randn([c], { rng, dtype }),
    running_var: randn([c], { rng, dtype }).abs().add(0.5),
    weight: randn([c], { rng, dtype }),
    bias: randn([c], { rng, dtype }),
  });
  return m;
}

/** Scale and shift away from 1 and 0, so their gradients are not special. */
function perturbed<M extends Module>(m: M): M {
  const rng = new Generator(6);
  const dict = m.stateDict();
  for (const [k, v] of Object.entries(dict)) if (v.dtype !== "int32") dict[k] = randn(v.shape, { rng, dtype });
  m.loadStateDict(dict);
  return m;
}

describe("layer table: gradcheck with respect to input and parameters (float64)", () => {
  for (const row of rows) {
    for (const mode of row.modes) {
      it(`${row.name} (${mode})`, async () => {
        const rng = new Generator(1);
        const layer = row.make(rng);
        if (mode === "train") layer.train();
        else layer.eval();
        const names = layer.namedParameters().map(([n]) => n);
        const params = layer.namedParameters().map(([, p]) => p.detach());
        const x = row.input(rng);
        const replayState = row.replay?.getState();
        const f = (input: Tensor, ...ps: Tensor[]) => {
          if (row.replay && replayState) row.replay.setState(replayState);
          return functionalCall(layer, Object.fromEntries(names.map((n, i) => [n, ps[i]!])), input);
        };
        const report = await gradcheck(f, [x, ...params], { names: ["input", ...names] });
        expect(report.ok, report.message).toBe(true);
        expect(report.checked).toBe(x.size + params.reduce((n, p) => n + p.size, 0));
      });
    }
  }

  it("the layer table covers every layer class", () => {
    const covered = new Set(rows.map((r) => r.name.split(" ")[0]));
    for (const name of ["Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten", "Sequential", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "InstanceNorm2d", "GroupNorm", "Dropout", "ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "Softmax"]) {
      expect(covered.has(name), name).toBe(true);
    }
  });
});
