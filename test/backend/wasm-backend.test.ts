/**
 * The wasm backend end to end, at sizes where its SIMD kernels run (the op table's tiny inputs
 * stay below their break-even and exercise the TypeScript fallback): a convolutional network with
 * batch norm, leaky ReLU, max and average pooling, dropout and a softmax cross-entropy trains the
 * same on wasm as on cpu (its kernels are the cpu's bits except sums, which differ in the last
 * float32 bit), gives the same bits on 1 and 2 threads, and runs float64 products on its f64x2
 * kernel with the cpu's bits.
 */
import { describe, expect, it } from "vitest";
import {
  buildSequential, cpu, createBackend, createOptimizer, crossEntropy, fromValues, Generator, matmul, randn, withBackend,
  type Backend, type LayerSpec,
} from "../../src/index.js";
import { WasmBackend } from "../../src/backend/wasm/wasm.js";

const SPECS: LayerSpec[] = [
  { type: "conv2d", outChannels: 8, kernelSize: 3, padding: "same" }, { type: "batchNorm2d" }, { type: "leakyRelu", negativeSlope: 0.1 },
  { type: "maxPool2d", kernelSize: 2 },
  { type: "conv2d", outChannels: 12, kernelSize: 3, padding: 1, stride: 1 }, { type: "relu" }, { type: "avgPool2d", kernelSize: 2 },
  { type: "flatten" }, { type: "dropout", p: 0.25 }, { type: "linear", outFeatures: 5 },
];

/** Four Adam steps on fixed data; returns the losses and every parameter after them. */
function train(backend: Backend): { losses: number[]; params: Float32Array[] } {
  return withBackend(backend, () => {
    const model = buildSequential(SPECS, { inputShape: [2, 16, 16], rng: new Generator(3) });
    const optimizer = createOptimizer("adam", model, { lr: 1e-2 });
    const g = new Generator(11);
    const x = fromValues(Float32Array.from({ length: 24 * 2 * 256 }, () => g.normal()), [24, 2, 16, 16]);
    const y = fromValues(Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 5), [24]);
    model.train();
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) {
      const loss = crossEntropy(model.forward(x), y);
      losses.push(loss.item());
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
    }
    return { losses, params: [...model.namedParameters()].map(([, p]) => p.dataSync() as Float32Array) };
  });
}

const hasWorkers = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";

describe("the wasm backend", () => {
  const onWasm = train(createBackend("wasm"));

  it("trains a small CNN as the cpu backend does, to float32 rounding", () => {
    const onCpu = train(cpu);
    onWasm.losses.forEach((l, i) => expect(Math.abs(l - onCpu.losses[i]!)).toBeLessThan(1e-5 * Math.abs(onCpu.losses[i]!)));
    onWasm.params.forEach((p, i) => {
      const q = onCpu.params[i]!;
      let worst = 0;
      for (let k = 0; k < p.length; k++) worst = Math.max(worst, Math.abs(p[k]! - q[k]!));
      expect(worst, `parameter ${i}`).toBeLessThan(1e-4);
    });
  });

  it("is deterministic, and gives the same bits on 2 threads as on 1", () => {
    expect(train(createBackend("wasm"))).toEqual(onWasm);
    const two = new WasmBackend({ threads: 2 });
    expect(two.threads).toBe(hasWorkers ? 2 : 1);
    expect(train(two)).toEqual(onWasm);
  });

  it("runs float64 products on its f64x2 kernel with the cpu's bits", () => {
    const wasm = createBackend("wasm");
    const g = new Generator(5);
    const a = randn([37, 70], { rng: g, dtype: "float64" }), b = randn([70, 29], { rng: g, dtype: "float64" });
    const want = matmul(a, b).dataSync();
    const got = withBackend(wasm, () => matmul(fromValues(a.dataSync(), a.shape, { backend: wasm }), fromValues(b.dataSync(), b.shape, { backend: wasm })));
    expect(got.backend).toBe(wasm);
    expect(got.dataSync()).toEqual(want);
  });
});
