/**
 * Module behaviour: dotted names, train/eval, stateDict round trips and strict loading,
 * resetParameters, specs → build → specs, build-time shape errors, the summary of the W2 CNN,
 * and batch norm's running statistics through the layer API against the batchNorm conformance cases.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BatchNorm1d, BatchNorm2d, ConfigError, Conv2d, Dropout, Generator, GroupNorm, Linear, MaxPool2d, PReLU, ReLU, Sequential, ShapeError,
  buildSequential, convOutputSize, functionalCall, gradients, noGrad, presetSpecs, receptiveFields, summarize, summary,
  validateLayerSpecs, LAYER_TYPES, mul, sum, Flatten, type LayerSpec, type Tensor,
} from "../../src/index.js";
import { toTensor, fromTensor } from "../../src/conformance/values.js";
import { expectClose, normal } from "../core/helpers.js";

const dtype = "float64" as const;

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

describe("Module traversal", () => {
  it("names parameters and buffers with dots through nested modules", () => {
    const rng = new Generator(0);
    const features = new Sequential([new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, rng }), new BatchNorm2d({ numFeatures: 2 }), new ReLU()]);
    class Net extends Sequential {}
    const net = new Net([features, new Flatten(), new Linear({ inFeatures: 8, outFeatures: 2, rng })]);
    expect(net.namedParameters().map(([n]) => n)).toEqual(["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "2.weight", "2.bias"]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(["0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"]);
    expect(Object.keys(net.stateDict())).toEqual([...net.namedParameters().map(([n]) => n), "0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"]);
    expect(net.namedModules().map(([n]) => n)).toEqual(["", "0", "0.0", "0.1", "0.2", "1", "2"]);
    expect(features.at(0).path).toBe("0.0");
    expect(net.parameters()).toHaveLength(6);
    expect(net.countParameters()).toBe(2 * 9 + 2 + 2 + 2 + 16 + 2);
  });

  it("train() and eval() reach every descendant", () => {
    const m = buildSequential([{ type: "linear", outFeatures: 3 }, { type: "dropout", p: 0.5 }, { type: "batchNorm1d" }], { inputShape: [4], rng: new Generator(0) });
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
  });

  it("forward errors name the layer", () => {
    const m = buildSequential(presetSpecs("mlp"), { inputShape: [1, 28, 28], rng: new Generator(0) });
    const bad = normal(new Generator(1), [2, 1, 27, 28]).cast("float32");
    expect(() => m.forward(bad)).toThrow(/layer 1 \(Linear "1"\).*756.*784/);
  });
});

describe("stateDict", () => {
  const specs: LayerSpec[] = [
    { type: "conv2d", outChannels: 3, kernelSize: 3, padding: 1 }, { type: "batchNorm2d" }, { type: "prelu", numParameters: 3 },
    { type: "maxPool2d", kernelSize: 2 }, { type: "flatten" }, { type: "dropout", p: 0.3 }, { type: "linear", outFeatures: 4 },
  ];

  it("save → load into a fresh model gives identical outputs (train statistics included)", () => {
    const a = buildSequential(specs, { inputShape: [2, 4, 4], rng: new Generator(1), dtype });
    const x = normal(new Generator(2), [3, 2, 4, 4]);
    a.forward(x); // one training step moves the running statistics
    a.eval();
    const dict = a.stateDict();
    const b = buildSequential(a.specs(), { inputShape: [2, 4, 4], rng: new Generator(7), dtype });
    b.eval();
    expect(values(b.forward(x))).not.toEqual(values(a.forward(x)));
    b.loadStateDict(dict);
    expect(values(b.forward(x))).toEqual(values(a.forward(x)));
    expect(values(b.stateDict()["1.running_mean"]!)).toEqual(values(a.stateDict()["1.running_mean"]!));
  });

  it("a saved dict is a snapshot: later updates do not change it", () => {
    const m = new Linear({ inFeatures: 2, outFeatures: 2, rng: new Generator(0), dtype });
    const saved = m.stateDict();
    const before = values(saved.weight!);
    noGrad(() => m.weight.assign(m.weight.mul(2)));
    expect(values(saved.weight!)).toEqual(before);
  });

  it("strict loading names missing, unexpected and wrongly shaped entries", () => {
    const m = buildSequential(specs, { inputShape: [2, 4, 4], rng: new Generator(1) });
    const dict = m.stateDict();
    const { ["6.bias"]: _dropped, ...missing } = dict;
    expect(() => m.loadStateDict(missing)).toThrow(ConfigError);
    expect(() => m.loadStateDict(missing)).toThrow(/missing "6\.bias"/);
    expect(() => m.loadStateDict({ ...dict, "7.weight": dict["6.weight"]! })).toThrow(/unexpected "7\.weight"/);
    expect(() => m.loadStateDict({ ...dict, "6.weight": dict["0.weight"]! })).toThrow(ShapeError);
    expect(() => m.loadStateDict({ ...dict, "6.weight": dict["0.weight"]! })).toThrow(/"6\.weight" has shape \[3,2,3,3\], the model expects \[4,12\]/);
    m.loadStateDict(missing, { strict: false });
  });

  it("loading keeps the Parameter objects (optimizers hold them) and bumps their version", () => {
    const m = new Linear({ inFeatures: 3, outFeatures: 2, rng: new Generator(0) });
    const w = m.weight;
    const other = new Linear({ inFeatures: 3, outFeatures: 2, rng: new Generator(1) });
    m.loadStateDict(other.stateDict());
    expect(m.weight).toBe(w);
    expect(w.version).toBe(1);
    expect(values(w)).toEqual(values(other.weight));
  });

  it("resetParameters redraws from the generator, reproducibly", () => {
    const m = buildSequential(presetSpecs("cnn"), { inputShape: [1, 8, 8], rng: new Generator(3) });
    const first = values(m.stateDict()["0.weight"]!);
    m.resetParameters(new Generator(3));
    expect(values(m.stateDict()["0.weight"]!)).toEqual(first);
    m.resetParameters(new Generator(4));
    expect(values(m.stateDict()["0.weight"]!)).not.toEqual(first);
  });
});

describe("layers built by hand without a generator", () => {
  it("name the layer and say how to pass one (plain JavaScript, where the types do not stop it)", () => {
    const build: [string, () => unknown][] = [
      ["Linear", () => new Linear({ inFeatures: 2, outFeatures: 3 } as never)],
      ["Conv2d", () => new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, rng: null } as never)],
      ["Dropout", () => new Dropout({ p: 0.5, rng: 7 } as never)],
    ];
    for (const [name, make] of build) {
      expect(make, name).toThrow(ConfigError);
      expect(make, name).toThrow(`${name}: options.rng must be a Generator (there is no global one: pass { rng: new Generator(seed) })`);
    }
  });
});

describe("buildSequential and specs", () => {
  it("round-trips through JSON", () => {
    const specs: LayerSpec[] = [
      { type: "conv2d", outChannels: 4, kernelSize: [3, 1], padding: "same" }, { type: "groupNorm", numGroups: 2 }, { type: "elu", alpha: 0.5 },
      { type: "avgPool2d", kernelSize: 2 }, { type: "instanceNorm2d" }, { type: "globalAvgPool2d" }, { type: "flatten" },
      { type: "layerNorm" }, { type: "leakyRelu" }, { type: "linear", outFeatures: 3, bias: false, weightInit: "xavierUniform" },
      { type: "batchNorm1d" }, { type: "sigmoid" }, { type: "tanh" }, { type: "softmax" }, { type: "relu" }, { type: "dropout" },
    ];
    const m = buildSequential(specs, { inputShape: [2, 6, 6], rng: new Generator(0) });
    const json = JSON.parse(JSON.stringify(m.specs())) as unknown;
    const again = buildSequential(validateLayerSpecs(json), { inputShape: [2, 6, 6], rng: new Generator(0) });
    expect(again.specs()).toEqual(m.specs());
    expect(values(again.stateDict()["9.weight"]!)).toEqual(values(m.stateDict()["9.weight"]!));
    expect(m.specs()[0]).toMatchObject({ type: "conv2d", inChannels: 2, outChannels: 4, kernelSize: [3, 1], padding: "same" });
    expect(m.specs()[9]).toMatchObject({ inFeatures: 4, outFeatures: 3, bias: false, weightInit: "xavierUniform" });
    expect(m.outputShape([2, 6, 6])).toEqual([3]);
    // the types left out here are built in the stateDict tests above
    expect(LAYER_TYPES.filter((t) => !specs.some((s) => s.type === t))).toEqual(["maxPool2d", "batchNorm2d", "prelu"]);
  });

  it("a Linear that disagrees with the Flatten before it is reported at build time, naming both", () => {
    const specs: LayerSpec[] = [
      { type: "conv2d", outChannels: 16, kernelSize: 3, padding: "same" }, { type: "maxPool2d", kernelSize: 2 }, { type: "flatten" },
      { type: "linear", inFeatures: 784, outFeatures: 10 },
    ];
    expect(() => buildSequential(specs, { inputShape: [1, 28, 28], rng: new Generator(0) })).toThrow(ShapeError);
    expect(() => buildSequential(specs, { inputShape: [1, 28, 28], rng: new Generator(0) })).toThrow(
      "layer 3 (linear): inFeatures is 784, but layer 2 (flatten) outputs [3136] (inFeatures 3136)",
    );
  });

  it("config errors name the layer and the value", () => {
    const build = (specs: LayerSpec[], inputShape = [3, 8, 8]) => () => buildSequential(specs, { inputShape, rng: new Generator(0) });
    expect(build([{ type: "conv2d", outChannels: -4, kernelSize: 3 }])).toThrow(/layer 0 \(conv2d\): outChannels is -4 \(expected an integer >= 1\)/);
    expect(build([{ type: "conv2d", outChannels: 4, kernelSize: 3, groups: 2 }])).toThrow(/layer 0 \(conv2d\).*groups 2 must divide both inChannels 3/);
    expect(build([{ type: "relu" }, { type: "conv2d", outChannels: 4, kernelSize: 9, padding: 0 }])).toThrow(ConfigError);
    expect(build([{ type: "relu" }, { type: "conv2d", outChannels: 4, kernelSize: 9, padding: 0 }])).toThrow(/layer 1 \(conv2d\).*kernel 9 is larger than the padded input 8x8/);
    expect(build([{ type: "maxPool2d", kernelSize: 3, padding: 2 }])).toThrow(/invalid padding 2/);
    expect(build([{ type: "dropout", p: 1 }])).toThrow(/layer 0 \(dropout\): Dropout: invalid p 1 \(expected 0 <= p < 1\)/);
    expect(build([{ type: "dropout", p: -0.1 }])).toThrow(/invalid p -0.1/);
    expect(build([{ type: "groupNorm", numGroups: 2 }])).toThrow(/numGroups 2 does not divide numChannels 3/);
    expect(build([{ type: "flatten" }, { type: "conv2d", outChannels: 1, kernelSize: 1 }])).toThrow(/layer 1 \(conv2d\): conv2d expects \[C, H, W\] per example, but layer 0 \(flatten\) outputs \[192\]/);
    expect(build([{ type: "batchNorm2d", numFeatures: 4 }])).toThrow(/numFeatures is 4, but the input shape \[3,8,8\]/);
    expect(() => validateLayerSpecs([{ type: "conv2d", outChannels: 4 }])).toThrow('layers: layer 0 (conv2d): missing required field "kernelSize"');
    expect(() => validateLayerSpecs([{ type: "dense", units: 4 }])).toThrow(/layer 0 has type "dense"/);
    expect(() => validateLayerSpecs([{ type: "relu", slope: 1 }])).toThrow(/unknown field "slope"/);
    expect(() => validateLayerSpecs([{ type: "linear", outFeatures: "10" }])).toThrow(/outFeatures is "10" \(expected an integer >= 1\)/);
    expect(() => new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, stride: 2, padding: "same", rng: new Generator(0) })).toThrow(/padding "same" needs stride 1/);
    expect(() => new BatchNorm1d({ numFeatures: 2, momentum: 1.5 })).toThrow(/invalid momentum 1.5/);
  });

  it("dropout layers keep the build generator by reference", () => {
    const rng = new Generator(11);
    const m = buildSequential([{ type: "flatten" }, { type: "dropout", p: 0.5 }], { inputShape: [2, 2], rng });
    expect((m.at(1) as Dropout).rng).toBe(rng);
    expect(m.rng).toBe(rng);
    const x = normal(new Generator(0), [4, 2, 2]);
    const state = rng.getState();
    const a = values(m.forward(x));
    rng.setState(state);
    expect(values(m.forward(x))).toEqual(a);
    m.eval();
    expect(values(m.forward(x))).toEqual(values(x));
  });

  it("presets: the W1 MLP and the W2 CNN", () => {
    const mlp = buildSequential(presetSpecs("mlp"), { inputShape: [1, 28, 28], rng: new Generator(0) });
    expect(mlp.countParameters()).toBe(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    expect(mlp.forward(normal(new Generator(0), [2, 1, 28, 28]).cast("float32")).shape).toEqual([2, 10]);
  });
});

describe("summary", () => {
  it("prints the W2 CNN with shapes, parameter counts and receptive fields", () => {
    const model = buildSequential(presetSpecs("cnn"), { inputShape: [1, 28, 28], rng: new Generator(0) });
    const s = summarize(model, [1, 28, 28]);
    expect(s.rows.map((r) => [r.name, r.type, r.outputShape, r.params, r.receptiveField ?? null])).toEqual([
      ["0", "Conv2d", [16, 28, 28], 160, [3, 3]],
      ["1", "ReLU", [16, 28, 28], 0, null],
      ["2", "MaxPool2d", [16, 14, 14], 0, [4, 4]],
      ["3", "Conv2d", [32, 14, 14], 4640, [8, 8]],
      ["4", "ReLU", [32, 14, 14], 0, null],
      ["5", "MaxPool2d", [32, 7, 7], 0, [10, 10]],
      ["6", "Flatten", [1568], 0, null],
      ["7", "Linear", [10], 15690, null],
    ]);
    expect(s.totalParams).toBe(20490);
    expect(s.trainableParams).toBe(20490);
    const text = summary(model, [1, 28, 28]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^Layer\s+Type\s+Output shape\s+Params\s+Receptive field$/);
    expect(text).toMatch(/^0\s+Conv2d\s+\[16, 28, 28\]\s+160\s+3x3$/m);
    expect(text).toMatch(/^5\s+MaxPool2d\s+\[32, 7, 7\]\s+0\s+10x10$/m);
    expect(text).toMatch(/^7\s+Linear\s+\[10\]\s+15,690$/m);
    expect(lines.at(-3)).toBe("Total params: 20,490");
  });

  it("counts frozen parameters as non-trainable, and follows dilation and global pooling", () => {
    const model = buildSequential(
      [{ type: "conv2d", outChannels: 2, kernelSize: 3, dilation: 2 }, { type: "maxPool2d", kernelSize: 2, stride: 2 }, { type: "globalAvgPool2d" }],
      { inputShape: [1, 12, 12], rng: new Generator(0) },
    );
    (model.at(0) as Conv2d).weight.requiresGrad = false;
    expect(receptiveFields(model, [1, 12, 12])).toEqual([[5, 5], [6, 6], [12, 12]]);
    const s = summarize(model, [1, 12, 12]);
    expect(s.nonTrainableParams).toBe(18);
    expect(s.trainableParams).toBe(2);
  });

  it("convOutputSize is floor((n + 2p − d(f − 1) − 1)/s) + 1", () => {
    expect(convOutputSize(28, { kernelSize: 3, padding: "same" })).toBe(28);
    expect(convOutputSize(28, { kernelSize: 2, stride: 2 })).toBe(14);
    expect(convOutputSize(7, { kernelSize: 3, stride: 2, padding: 1 })).toBe(4);
    expect(convOutputSize(10, { kernelSize: 3, dilation: 2 })).toBe(6);
    expect(() => convOutputSize(3, { kernelSize: 5 })).toThrow(/larger than the padded input 3/);
  });
});

describe("batch norm through the layer API matches the batchNorm conformance cases", () => {
  for (const k of [0, 1, 2]) {
    it(`op__batchNorm__${k}`, async () => {
      const c = JSON.parse(readFileSync(`../shared/conformance/cases/op/op__batchNorm__${k}.json`, "utf8")) as {
        attrs: { training: boolean; momentum: number; eps: number };
        inputs: { input: unknown; weight: unknown; bias: unknown; state: { runningMean: unknown; runningVar: unknown } };
        gradOutput: unknown;
        expected: { output: { data: number[]; shape: number[] }; grads: Record<string, { data: number[]; shape: number[] }>; state: Record<string, { data: number[]; shape: number[] }> };
      };
      const x = toTensor(c.inputs.input, dtype, "input").requireGrad();
      const C = x.shape[1]!;
      const Layer = x.rank === 4 ? BatchNorm2d : BatchNorm1d;
      const layer = new Layer({ numFeatures: C, momentum: c.attrs.momentum, eps: c.attrs.eps, dtype });
      layer.loadStateDict({
        weight: toTensor(c.inputs.weight, dtype, "weight"), bias: toTensor(c.inputs.bias, dtype, "bias"),
        running_mean: toTensor(c.inputs.state.runningMean, dtype, "rm"), running_var: toTensor(c.inputs.state.runningVar, dtype, "rv"),
        num_batches_tracked: layer.numBatchesTracked,
      });
      layer.train(c.attrs.training);
      const y = layer.forward(x);
      const tol = { atol: 1e-9, rtol: 1e-7 };
      expectClose(y, c.expected.output.data, { ...tol, shape: c.expected.output.shape });
      const gOut = toTensor(c.gradOutput, dtype, "gradOutput");
      const [gx, gw, gb] = gradients([sum(mul(y, gOut))], [x, layer.weight!, layer.bias!]);
      expectClose(gx!, c.expected.grads.input!.data, { ...tol, shape: c.expected.grads.input!.shape });
      expectClose(gw!, c.expected.grads.weight!.data, { ...tol, shape: [C] });
      expectClose(gb!, c.expected.grads.bias!.data, { ...tol, shape: [C] });
      expectClose(layer.runningMean, c.expected.state.runningMean!.data, { ...tol, shape: [C] });
      expectClose(layer.runningVar, c.expected.state.runningVar!.data, { ...tol, shape: [C] });
      expect((await fromTensor(layer.runningMean)).shape).toEqual([C]);
    });
  }
});

describe("functionalCall", () => {
  it("routes gradients to the given tensors and leaves the parameters alone", () => {
    const m = new Linear({ inFeatures: 2, outFeatures: 1, rng: new Generator(0), dtype });
    const w = normal(new Generator(1), [1, 2]).requireGrad();
    const x = normal(new Generator(2), [3, 2]);
    const y = functionalCall(m, { weight: w }, x);
    const [gw] = gradients([sum(y)], [w]);
    expectClose(gw!, [[values(sum(x, 0))[0]!, values(sum(x, 0))[1]!]]);
    expect(m.weight.grad).toBeNull();
    expect(() => functionalCall(m, { nope: w }, x)).toThrow(/no parameter "nope"/);
  });

  it("PReLU and GroupNorm carry no default regularization", () => {
    const m = new Sequential([new PReLU(), new GroupNorm({ numGroups: 1, numChannels: 2 }), new MaxPool2d({ kernelSize: 1 })]);
    expect(m.defaultRegularizedNames()).toEqual([]);
  });
});
