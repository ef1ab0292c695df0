/**
 * A Sequential's hidden activations (its outputs between layers, autograd/graph.ts): a backward
 * frees them once it has run, never the input, the result, or a result that shares storage with
 * one of them (a Flatten at the end), and what their ops saved for backward (max-pool's argmax);
 * the next step's forward gets the same arrays back; walking
 * the freed graph again is an error that names retainGraph, and with retainGraph (or createGraph)
 * nothing is freed.
 */
import { describe, expect, it, vi } from "vitest";
import { disposalTracking } from "./helpers.js";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import type { BufferPool } from "../../src/backend/cpu/pool.js";
import {
  buildSequential, crossEntropy, fromValues, Generator, GradError, gradients, withBackend, type LayerSpec, type Module, type Tensor,
} from "../../src/index.js";

const SPECS: LayerSpec[] = [
  { type: "linear", outFeatures: 48 }, { type: "relu" }, { type: "linear", outFeatures: 40 }, { type: "tanh" }, { type: "flatten" },
];

/** A model on its own cpu backend whose layers report each output they make. */
function setup() {
  const { backend, disposed } = disposalTracking();
  return withBackend(backend, () => {
    const rng = new Generator(3);
    const model = buildSequential(SPECS, { inputShape: [24], rng });
    const outputs: Tensor[] = [];
    for (const layer of model as Iterable<Module>) {
      const forward = layer.forward.bind(layer);
      layer.forward = (x: Tensor) => {
        const y = forward(x);
        outputs.push(y);
        return y;
      };
    }
    const x = fromValues(Float32Array.from({ length: 64 * 24 }, () => rng.normal()), [64, 24]);
    const labels = fromValues(Int32Array.from({ length: 64 }, (_, i) => i % 40), [64]);
    return { backend, disposed, model, outputs, x, loss: (y: Tensor) => crossEntropy(y, labels) };
  });
}

describe("a Sequential's hidden activations", () => {
  it("are freed by backward; the input and the result (which shares the last one's storage) are not", () => {
    const { backend, disposed, model, outputs, x, loss } = setup();
    withBackend(backend, () => {
      const y = model.forward(x);
      const before = Array.from(y.dataSync());
      loss(y).backward();
      const [linear1, relu1, linear2, tanh1, flat] = outputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
      expect(flat).toBe(y);
      expect(tanh1.dataId).toBe(y.dataId); // flatten of [64, 40] is a view
      for (const t of [linear1, relu1, linear2]) expect(disposed.has(t.dataId)).toBe(true);
      for (const t of [x, y, tanh1]) expect(disposed.has(t.dataId)).toBe(false);
      expect(Array.from(y.dataSync())).toEqual(before);
      expect(Array.from(x.dataSync()).length).toBe(64 * 24);
    });
  });

  it("come back to the backend's pool, and the next forward takes them instead of new memory", () => {
    const held = (backend: CpuBackend) => (backend as unknown as { buffers: BufferPool }).buffers.heldBytes;
    const run = (retainGraph: boolean) => {
      const { backend, model, outputs, x, loss } = setup();
      return withBackend(backend, () => {
        loss(model.forward(x)).backward(undefined, { retainGraph });
        const afterBackward = held(backend);
        model.forward(x);
        return { afterBackward, afterForward: held(backend), hiddenBytes: outputs.slice(0, 3).reduce((n, t) => n + t.size * 4, 0) };
      });
    };
    const freed = run(false), kept = run(true);
    expect(freed.afterBackward - kept.afterBackward).toBe(freed.hiddenBytes);
    // the second forward's activations, matrix products before their bias and all, came from the pool
    expect(freed.afterBackward - freed.afterForward).toBeGreaterThanOrEqual(freed.hiddenBytes);
  });

  it("a second backward through the freed graph is an error naming retainGraph; with it, gradients accumulate", () => {
    const { backend, model, x, loss } = setup();
    withBackend(backend, () => {
      const l = loss(model.forward(x));
      l.backward();
      expect(() => l.backward()).toThrow(GradError);
      expect(() => l.backward()).toThrow(/retainGraph/);

      model.zeroGrad();
      const kept = loss(model.forward(x));
      kept.backward({ retainGraph: true });
      const once = model.parameters().map((p) => Array.from(p.grad!.dataSync()));
      kept.backward();
      model.parameters().forEach((p, i) => {
        const twice = Array.from(p.grad!.dataSync());
        twice.forEach((v, j) => expect(v).toBeCloseTo(2 * once[i]![j]!, 5));
      });
    });
  });

  it("take what their ops saved for backward with them (max-pool's argmax indices), which the next step reuses", () => {
    const backend = new CpuBackend();
    const disposed: Int32Array[] = [];
    const made: Int32Array[] = [];
    const dispose = backend.dispose.bind(backend);
    vi.spyOn(backend, "dispose").mockImplementation((id) => {
      const v = (id as { values?: unknown }).values;
      if (v instanceof Int32Array) disposed.push(v);
      dispose(id);
    });
    const maxPool = backend.maxPool.bind(backend);
    vi.spyOn(backend, "maxPool").mockImplementation((...a) => {
      const ids = maxPool(...a);
      made.push((ids.indices as unknown as { values: Int32Array }).values);
      return ids;
    });
    withBackend(backend, () => {
      const rng = new Generator(4);
      // indices of 16 x 4 x 8 x 8: past the pool's smallest size
      const specs: LayerSpec[] = [{ type: "conv2d", outChannels: 4, kernelSize: 3, padding: 1 }, { type: "maxPool2d", kernelSize: 2 }, { type: "flatten" }, { type: "linear", outFeatures: 5 }];
      const model = buildSequential(specs, { inputShape: [2, 16, 16], rng });
      const x = fromValues(Float32Array.from({ length: 16 * 2 * 256 }, () => rng.normal()), [16, 2, 16, 16]);
      const labels = fromValues(Int32Array.from({ length: 16 }, (_, i) => i % 5), [16]);
      for (let step = 0; step < 2; step++) crossEntropy(model.forward(x), labels).backward();
    });
    expect(made.length).toBe(2);
    expect(disposed).toContain(made[0]); // freed by the first backward
    expect(made[1]).toBe(made[0]); // and taken back by the second step's max-pool
  });

  it("are kept by createGraph: a gradient of the gradient walks the same forward graph", () => {
    const { backend, model, x, loss } = setup();
    withBackend(backend, () => {
      const params = model.parameters();
      const l = loss(model.forward(x));
      const [g] = gradients([l], [params[0]!], { createGraph: true });
      const gg1 = gradients([g!.sum()], [params[0]!], { retainGraph: true });
      const gg2 = gradients([g!.sum()], [params[0]!]);
      expect(Array.from(gg2[0]!.dataSync())).toEqual(Array.from(gg1[0]!.dataSync()));
    });
  });
});
