/**
 * The layer table (LAYERS in nn/specs.ts): specElements counts what a layer allocates before it is
 * built, and buildSequential refuses a model past its budget before allocating; the count must equal
 * what the built layer holds, for every layer type and the options that change it. Every layer's
 * toSpec round-trips through its entry's schema, and validation messages name the table's fields.
 */
import { describe, expect, it } from "vitest";
import { LAYER_TYPES, buildSequential, specElements, validateLayerSpecs, type LayerSpec } from "../../src/nn/index.js";
import { Generator } from "../../src/tensor/random.js";

const CASES: [LayerSpec, number[]][] = [
  [{ type: "linear", outFeatures: 5 }, [7]],
  [{ type: "linear", outFeatures: 5, bias: false }, [3, 7]],
  [{ type: "conv2d", outChannels: 4, kernelSize: [3, 2] }, [2, 6, 6]],
  [{ type: "conv2d", outChannels: 4, kernelSize: 3, groups: 2, bias: false }, [6, 6, 6]],
  [{ type: "maxPool2d", kernelSize: 2 }, [2, 4, 4]],
  [{ type: "avgPool2d", kernelSize: 2 }, [2, 4, 4]],
  [{ type: "globalAvgPool2d" }, [2, 4, 4]],
  [{ type: "flatten" }, [2, 4, 4]],
  [{ type: "batchNorm1d" }, [5]],
  [{ type: "batchNorm1d", affine: false, momentum: null }, [5, 3]],
  [{ type: "batchNorm2d" }, [3, 4, 4]],
  [{ type: "layerNorm" }, [3, 4]],
  [{ type: "layerNorm", normalizedShape: [4], elementwiseAffine: false }, [3, 4]],
  [{ type: "instanceNorm2d" }, [3, 4, 4]],
  [{ type: "instanceNorm2d", affine: true }, [3, 4, 4]],
  [{ type: "groupNorm", numGroups: 2 }, [4, 3]],
  [{ type: "groupNorm", numGroups: 2, affine: false }, [4, 3]],
  [{ type: "dropout", p: 0.5 }, [4]],
  [{ type: "relu" }, [4]],
  [{ type: "leakyRelu" }, [4]],
  [{ type: "prelu", numParameters: 3 }, [3, 2]],
  [{ type: "elu" }, [4]],
  [{ type: "sigmoid" }, [4]],
  [{ type: "tanh" }, [4]],
  [{ type: "softmax" }, [4]],
];

describe("specElements", () => {
  it("covers every layer type", () => {
    expect(new Set(CASES.map(([s]) => s.type))).toEqual(new Set(LAYER_TYPES));
  });
  for (const [spec, shape] of CASES) {
    it(`${JSON.stringify(spec)} on ${JSON.stringify(shape)} counts what the built layer holds`, () => {
      const built = buildSequential([spec], { inputShape: shape, rng: new Generator(0) });
      const held = Object.values(built.stateDict()).reduce((n, t) => n + t.size, 0);
      expect(specElements(spec, shape)).toBe(held);
    });
  }

  it("every layer writes a spec its table entry accepts and rebuilds from (the toSpec round trip)", () => {
    for (const [spec, shape] of CASES) {
      const built = buildSequential([spec], { inputShape: shape, rng: new Generator(0) });
      const again = buildSequential(validateLayerSpecs(JSON.parse(JSON.stringify(built.specs()))), { inputShape: shape, rng: new Generator(0) });
      expect(again.specs(), spec.type).toEqual(built.specs());
    }
  });

  it("validation speaks of the table's fields", () => {
    expect(() => validateLayerSpecs([{ type: "conv2d", outChannels: 2, kernelSize: "3x3" }])).toThrow('layers: layer 0 (conv2d): kernelSize is "3x3" (expected an integer >= 1 or [h, w] of them)');
    expect(() => validateLayerSpecs([{ type: "linear", outFeatures: 0 }])).toThrow("layers: layer 0 (linear): outFeatures is 0 (expected an integer >= 1)");
    expect(() => validateLayerSpecs([{ type: "batchNorm1d", momentum: "x" }])).toThrow("momentum is \"x\" (expected a finite number or null)");
    expect(() => validateLayerSpecs([{ type: "relu", slope: 1 }])).toThrow('layer 0 (relu): unknown field "slope" (allowed: none)');
    expect(() => validateLayerSpecs([{ type: "groupNorm" }])).toThrow('layer 0 (groupNorm): missing required field "numGroups"');
    expect(() => validateLayerSpecs([{ type: "linear", outFeatures: 2, weightInit: "xavier" }])).toThrow(/layer 0 \(linear\): weightInit: invalid initializer "xavier"/);
  });

  it("buildSequential refuses a model past its budget, naming the layer and the reason", () => {
    const specs: LayerSpec[] = [{ type: "linear", outFeatures: 4 }, { type: "linear", outFeatures: 4 }];
    expect(() => buildSequential(specs, { inputShape: [4], rng: new Generator(0), maxElements: 30, budgetReason: "the 30 values w.safetensors holds" }))
      .toThrow("layer 1 (linear): needs 20 weight values, 40 with the layers before it: more than the 30 values w.safetensors holds");
    expect(() => buildSequential([{ type: "conv2d", outChannels: 1 << 20, kernelSize: 1 }], { inputShape: [1, 64, 64], rng: new Generator(0) }))
      .toThrow(/layer 0 \(conv2d\): outputs \[1048576,64,64\] per sample, more than 67108864 values/);
  });
});
