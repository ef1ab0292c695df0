/**
 * Recycled storage: the BufferPool hands a given array back for the same dtype and size (cleared
 * when asked), never an uploaded one; the autograd engine disposes what it made and nobody else
 * can see, and leaves alone what it returns and what the caller made; a tensor a backward rule kept
 * past its return fails loudly when read, naming why.
 */
import { describe, expect, it, vi } from "vitest";
import { BufferPool } from "../../src/backend/cpu/pool.js";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { record } from "../../src/autograd/graph.js";
import { fromValues, gradients, mul, relu, sum, Tensor, withBackend, Generator, randn } from "../../src/index.js";

describe("BufferPool", () => {
  it("gives back an array of the same dtype and size, cleared when asked", () => {
    const pool = new BufferPool();
    const a = pool.take("float32", 4096, false) as Float32Array;
    a.fill(7);
    pool.give(a);
    expect(pool.heldBytes).toBe(4096 * 4);
    expect(pool.take("float64", 4096, true)).not.toBe(a);
    expect(pool.take("float32", 4095, true)).not.toBe(a);
    const b = pool.take("float32", 4096, true);
    expect(b).toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
    expect(pool.heldBytes).toBe(0);
    pool.give(b);
    b.fill(3);
    expect(pool.take("float32", 4096, false)[0]).toBe(3);
  });

  it("leaves small arrays to the allocator", () => {
    const pool = new BufferPool();
    const small = new Float32Array(16);
    pool.give(small);
    expect(pool.heldBytes).toBe(0);
    expect(pool.take("float32", 16, false)).not.toBe(small);
  });
});

describe("the engine's frees", () => {
  it("disposes a rule's temporaries and spent gradients, never the returned gradients or the caller's tensors", () => {
    const backend = new CpuBackend();
    const disposed: object[] = [];
    const dispose = backend.dispose.bind(backend);
    vi.spyOn(backend, "dispose").mockImplementation((id) => {
      disposed.push(id);
      dispose(id);
    });
    withBackend(backend, () => {
      const x = randn([64, 64], { rng: new Generator(1) }).requireGrad();
      const w = randn([64, 64], { rng: new Generator(2) }).requireGrad();
      const h = relu(mul(x, w));
      const [gx, gw] = gradients(sum(mul(h, h)), [x, w]);
      expect(disposed.length).toBeGreaterThan(0);
      for (const t of [gx!, gw!, x, w, h]) expect(disposed).not.toContain(t.dataId);
      // the returned gradients are intact: d/dx sum(relu(xw)^2) = 2 relu(xw) w
      const want = mul(mul(h, w), 2).dataSync();
      expect(Array.from(gx!.dataSync())).toEqual(Array.from(want));
    });
  });

  it("a gradient a rule kept past its return is an error when read, naming why", () => {
    let kept: Tensor | null = null;
    const x = fromValues(Float32Array.from({ length: 4096 }, (_, i) => i / 4096), [4096]).requireGrad();
    const y = mul(x, 3);
    const z = record("keep", [y], mul(y, 1), (g) => {
      kept = mul(g, 2);
      return [mul(g, 1)];
    });
    gradients(sum(z), [x]);
    expect(() => kept!.dataSync()).toThrow(/storage was freed/);
  });
});
