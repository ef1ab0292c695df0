/**
 * The wasm backend's fused convolution (src/backend/wasm/conv-simd.ts, Backend.conv2d): its
 * output and gradients are the composed path's (im2col, matmul, permute; what the cpu backend
 * runs) bit for bit, over padding, strides, dilation, rectangular kernels and a batch of one, on
 * 1 and 2 threads; second derivatives (createGraph) go through the composed formulas and match
 * them (to rounding where x's two paths meet); and the graph of a fused convolution keeps its input and weight, not its columns.
 */
import { describe, expect, it } from "vitest";
import {
  conv2d, cpu, createBackend, fromValues, Generator, gradients, mul, sum, withBackend, type Backend, type Conv2dOptions,
} from "../../src/index.js";
import { WasmBackend } from "../../src/backend/wasm/wasm.js";

/** The wasm backend without its fused convolution: the composed path on the same kernels. */
class ComposedWasm extends WasmBackend {
  override conv2d(): null {
    return null;
  }
}

const hasWorkers = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === "function";

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  options: Conv2dOptions;
}

const CASES: Case[] = [
  { name: "3x3 same", x: [4, 3, 12, 12], w: [8, 3, 3, 3], options: { padding: "same" } },
  { name: "stride 2, padding 1", x: [3, 2, 11, 9], w: [5, 2, 3, 3], options: { stride: 2, padding: 1 } },
  { name: "dilation 2, rectangular kernel", x: [2, 3, 10, 13], w: [4, 3, 2, 3], options: { dilation: 2, padding: [1, 2] } },
  { name: "1x1, batch of one", x: [1, 6, 7, 5], w: [9, 6, 1, 1], options: {} },
  { name: "large enough for 2 threads", x: [16, 8, 14, 14], w: [16, 8, 3, 3], options: { padding: 1 } },
];

function values(shape: readonly number[], seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
}

/** y = conv2d(x, w, b), and the gradients of sum(y · r) with respect to x, w and b. */
function run(backend: Backend, c: Case) {
  return withBackend(backend, () => {
    const x = fromValues(values(c.x, 1), c.x, { requiresGrad: true });
    const w = fromValues(values(c.w, 2), c.w, { requiresGrad: true });
    const b = fromValues(values([c.w[0]], 3), [c.w[0]], { requiresGrad: true });
    const y = conv2d(x, w, b, c.options);
    const r = fromValues(values(y.shape, 4), y.shape);
    const [gx, gw, gb] = gradients(sum(mul(y, r)), [x, w, b]);
    return { y: y.dataSync(), gx: gx!.dataSync(), gw: gw!.dataSync(), gb: gb!.dataSync(), op: y.node?.op };
  });
}

const bits = (a: ArrayLike<number>) => new Uint32Array(Float32Array.from(a).buffer);

describe("the fused convolution", () => {
  const wasm1 = createBackend("wasm");
  const wasm2 = createBackend("wasm", { threads: 2 });
  for (const c of CASES) {
    it(`gives the composed path's bits: ${c.name}`, () => {
      const composed = run(cpu, c);
      const fused = run(wasm1, c);
      expect(fused.op).toBe("conv2d"); // the bias added in the same op
      expect(composed.op).toBe("add");
      for (const k of ["y", "gx", "gw", "gb"] as const) expect(bits(fused[k]), k).toEqual(bits(composed[k]));
      if (hasWorkers) {
        const threaded = run(wasm2, c);
        for (const k of ["y", "gx", "gw", "gb"] as const) expect(bits(threaded[k]), `${k} on 2 threads`).toEqual(bits(composed[k]));
      }
    });
  }

  it("is one op in the graph, which keeps x and the weight", () => {
    withBackend(wasm1, () => {
      const x = fromValues(values([2, 3, 8, 8], 5), [2, 3, 8, 8]);
      const w = fromValues(values([4, 3, 3, 3], 6), [4, 3, 3, 3], { requiresGrad: true });
      const y = conv2d(x, w);
      expect(y.node?.op).toBe("conv2d");
      expect(y.node?.inputs).toEqual([x, w]);
      // only the weight's gradient is formed when x needs none
      const [gw] = gradients(sum(y), [w]);
      expect(gw!.shape).toEqual([4, 3, 3, 3]);
    });
  });

  it("takes second derivatives through the composed formulas (a Hessian-vector product)", () => {
    const hvp = (backend: Backend) => withBackend(backend, () => {
      const c = CASES[1]!;
      const x = fromValues(values(c.x, 7), c.x, { requiresGrad: true });
      const w = fromValues(values(c.w, 8), c.w, { requiresGrad: true });
      const y = conv2d(x, w, null, c.options);
      const loss = sum(mul(mul(y, y), y)); // cubic, so the second derivative depends on x and w
      const [gx, gw] = gradients(loss, [x, w], { createGraph: true });
      const v = fromValues(values(c.w, 9), c.w);
      const [hx, hw] = gradients(sum(mul(gw!, v)), [x, w]);
      return [gx!.dataSync(), hx!.dataSync(), hw!.dataSync()];
    });
    const composed = hvp(new ComposedWasm()); // the cpu backend's sums differ in the last bit
    const fused = hvp(wasm1);
    expect(bits(fused[0]!)).toEqual(bits(composed[0]!));
    expect(bits(fused[2]!)).toEqual(bits(composed[2]!));
    // x reaches the loss twice (through y, and through the columns of gw's product): the composed
    // graph adds the two in column space before one col2im, the fused one after two, so the sum
    // rounds differently
    const [hx, want] = [fused[1]!, composed[1]!];
    let worst = 0, scale = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(hx[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(worst).toBeLessThan(1e-5 * scale);
  });

  it("leaves float64 and grouped convolutions to the composed path", () => {
    withBackend(wasm1, () => {
      const x = fromValues(Float64Array.from(values([1, 4, 6, 6], 10)), [1, 4, 6, 6]);
      const w = fromValues(Float64Array.from(values([2, 4, 3, 3], 11)), [2, 4, 3, 3], { requiresGrad: true });
      expect(conv2d(x, w).node?.op).not.toBe("conv2d");
      const x32 = fromValues(values([1, 4, 6, 6], 10), [1, 4, 6, 6]);
      const wg = fromValues(values([2, 2, 3, 3], 12), [2, 2, 3, 3], { requiresGrad: true });
      expect(conv2d(x32, wg, null, { groups: 2 }).node?.op).not.toBe("conv2d");
    });
  });
});
