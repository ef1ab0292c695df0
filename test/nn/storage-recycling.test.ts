/**
 * The storage a training step lets go of goes back to the backend: a parameter's value replaced
 * by a fused optimizer step (nn/parameter.ts) and a gradient no one read, once zeroGrad drops it
 * (tensor/tensor.ts). Never what someone else may hold: a detached view or a snapshot of the old
 * value, a gradient read through `grad`, a gradient two leaves share, one given through
 * gradOutputs. In steady state a step of a plain loop then takes no fresh array of a
 * parameter's size.
 */
import { describe, expect, it, vi } from "vitest";
import { disposalTracking } from "./helpers.js";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import {
  add, buildSequential, createOptimizer, crossEntropy, detach, fromValues, Generator, mul, Parameter, sum, withBackend,
} from "../../src/index.js";
import { BufferPool } from "../../src/backend/cpu/pool.js";

function setup() {
  const { backend, disposed } = disposalTracking();
  return withBackend(backend, () => {
    const model = buildSequential([{ type: "linear", outFeatures: 40 }, { type: "relu" }, { type: "linear", outFeatures: 5 }], { inputShape: [32], rng: new Generator(2) });
    const optimizer = createOptimizer("adam", model, { lr: 1e-2 });
    const x = fromValues(Float32Array.from({ length: 16 * 32 }, (_, i) => Math.sin(i)), [16, 32], { backend });
    const y = fromValues(Int32Array.from({ length: 16 }, (_, i) => i % 5), [16], { backend });
    const backwardOnce = () => crossEntropy(model.forward(x), y).backward();
    const step = () => {
      backwardOnce();
      optimizer.step();
      optimizer.zeroGrad();
    };
    const weight = model.namedParameters().find(([n]) => n.endsWith("0.weight"))![1] as Parameter;
    return { backend, disposed, model, optimizer, backwardOnce, step, weight };
  });
}

describe("a parameter's replaced storage", () => {
  it("is freed after a fused step when nothing else wraps it, and the next step takes it back", () => {
    const s = setup();
    withBackend(s.backend, () => {
      s.step(); // the first value is the initializer's tensor's: shared, kept
      const before = s.weight.dataId;
      s.step();
      expect(s.disposed.has(before)).toBe(true);
      expect(() => s.backend.view(before)).toThrow(/storage was freed/);
    });
  });

  it("is kept when a detached view, a snapshot or an assigned tensor holds it", () => {
    const s = setup();
    withBackend(s.backend, () => {
      s.step();
      const view = detach(s.weight);
      const values = view.dataSync();
      const snapshot = s.model.stateDict()["0.weight"]!;
      s.step();
      s.step();
      expect(Array.from(view.dataSync())).toEqual(Array.from(values));
      expect(Array.from(snapshot.dataSync())).toEqual(Array.from(values));
      expect(Array.from(s.weight.dataSync())).not.toEqual(Array.from(values));

      const mine = fromValues(Float32Array.from(values), s.weight.shape as number[], { backend: s.backend });
      s.weight.assign(add(mine, 0));
      const assigned = s.weight.dataId;
      s.step();
      expect(s.disposed.has(assigned)).toBe(false);
    });
  });
});

describe("a gradient zeroGrad drops", () => {
  it("is freed when no one read it", () => {
    const s = setup();
    withBackend(s.backend, () => {
      s.backwardOnce();
      const g = s.weight.peekGrad()!;
      s.optimizer.step();
      s.optimizer.zeroGrad();
      expect(s.disposed.has(g.dataId)).toBe(true);
      expect(() => g.dataSync()).toThrow(/storage was freed/);
    });
  });

  it("stays valid when it was read through grad, or summed by a second backward from a read one", () => {
    const s = setup();
    withBackend(s.backend, () => {
      s.backwardOnce();
      const g = s.weight.grad!;
      const values = Array.from(g.dataSync());
      s.optimizer.step();
      s.optimizer.zeroGrad();
      expect(Array.from(g.dataSync())).toEqual(values);

      s.backwardOnce();
      const first = s.weight.peekGrad()!;
      s.backwardOnce(); // accumulates: the unread first gradient is freed, the sum kept
      expect(s.disposed.has(first.dataId)).toBe(true);
      const total = s.weight.grad!;
      s.optimizer.zeroGrad();
      expect(total.dataSync().length).toBe(values.length);
    });
  });

  it("is kept when two leaves share one gradient, or it is the caller's gradOutputs", () => {
    const backend = new CpuBackend();
    withBackend(backend, () => {
      const a = new Parameter(fromValues(Float32Array.from([1, 2, 3]), [3], { backend }));
      const b = new Parameter(fromValues(Float32Array.from([4, 5, 6]), [3], { backend }));
      const upstream = fromValues(Float32Array.from([0.5, 0.25, 2]), [3], { backend });
      add(a, b).backward(upstream); // add's rule gives the upstream gradient itself to both
      const ga = a.peekGrad()!;
      a.grad = null;
      expect(Array.from(upstream.dataSync())).toEqual([0.5, 0.25, 2]);
      expect(Array.from(b.grad!.dataSync())).toEqual([0.5, 0.25, 2]);
      expect(ga).toBe(upstream);

      const c = new Parameter(fromValues(Float32Array.from([1, 1]), [2], { backend }));
      const d = new Parameter(fromValues(Float32Array.from([2, 2]), [2], { backend }));
      sum(mul(add(c, d), 3)).backward();
      const gc = c.peekGrad()!;
      c.grad = null;
      expect(Array.from(d.grad!.dataSync())).toEqual([3, 3]);
      expect(gc).toBe(d.peekGrad());
    });
  });
});

describe("a plain training loop in steady state", () => {
  it("takes no fresh array of a parameter's size", () => {
    const s = setup();
    withBackend(s.backend, () => {
      for (let i = 0; i < 3; i++) s.step();
      const fresh: number[] = [];
      const take = BufferPool.prototype.take;
      const spy = vi.spyOn(BufferPool.prototype, "take").mockImplementation(function (this: BufferPool, dtype, size, zeroed) {
        const held = this.heldBytes;
        const out = take.call(this, dtype, size, zeroed);
        if (this.heldBytes === held && size >= 40 * 32) fresh.push(size);
        return out;
      });
      try {
        for (let i = 0; i < 3; i++) s.step();
      } finally {
        spy.mockRestore();
      }
      expect(fresh).toEqual([]);
    });
  });
});
