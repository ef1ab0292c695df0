/**
 * linear as one op on the native backend (Backend.matmulBias, the bias added by native/sgemm.c as
 * each block of sums is finished): its values and gradients are those of the composed path (mm then
 * a broadcast add) on the same backend word for word, over shapes past one block in each dimension,
 * an empty inner dimension, a bias with -0, NaN and infinities, 1 and 2 threads; its second
 * derivative is the composed path's; and a short bias is refused with a RangeError.
 * Skipped where the addon is not built (test/backend/native.test.ts says whether it should be).
 */
import { describe, expect, it } from "vitest";
import { fromValues, gradients, linear, mul, sum, tanh, withBackend, type Backend, type Tensor } from "../../src/index.js";
import { nativeAddon, NativeBackend } from "../../src/backend/native/native.js";
import { rng } from "./helpers.js";

const native = nativeAddon();

/** The same backend object's state and methods, without matmulBias: linear runs mm then add. */
function composedOf(b: Backend): Backend {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(b) as object) as Backend, b);
  Object.assign(copy, { matmulBias: undefined });
  return copy;
}

const words = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** y = linear(x, W, b) and the gradients of sum(y · u) for x, W and b. */
function run(backend: Backend, rows: number, inF: number, outF: number, seed: number) {
  return withBackend(backend, () => {
    const r = rng(seed);
    const values = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
    const x = fromValues(values(rows * inF), [rows, inF], { requiresGrad: true });
    const w = fromValues(values(outF * inF), [outF, inF], { requiresGrad: true });
    const b = values(outF);
    if (outF > 5) [b[0], b[1], b[2], b[3]] = [-0, NaN, Infinity, -Infinity];
    const bias = fromValues(b, [outF], { requiresGrad: true });
    const y = linear(x, w, bias);
    const u = fromValues(values(rows * outF), [rows, outF]);
    const grads = gradients([sum(mul(y, u))], [x, w, bias]);
    return { op: y.node?.op, y: words(y.dataSync()), grads: grads.map((g) => words(g.dataSync())) };
  });
}

describe.skipIf(!native)("linear on the native backend", () => {
  const SHAPES: [number, number, number][] = [[64, 784, 256], [64, 256, 128], [64, 128, 10], [7, 300, 33], [1, 1, 1], [5, 0, 9], [300, 17, 600]];
  for (const threads of [1, 2]) {
    it(`gives mm then add's words, values and gradients (${threads} thread${threads > 1 ? "s" : ""})`, () => {
      const fused = new NativeBackend(native!, { threads });
      const composed = composedOf(fused);
      for (const [rows, inF, outF] of SHAPES) {
        const a = run(fused, rows, inF, outF, rows + inF + outF), c = run(composed, rows, inF, outF, rows + inF + outF);
        const at = `${rows}x${inF} -> ${outF}`;
        expect(a.op, at).toBe("linear");
        expect(c.op, at).toBe("add");
        expect(a.y, at).toEqual(c.y);
        a.grads.forEach((g, i) => expect(g, `${at}, gradient ${i}`).toEqual(c.grads[i]));
      }
    });
  }

  it("differentiates twice: its Hessian-vector product is the composed path's", () => {
    const hvp = (backend: Backend): number[] =>
      withBackend(backend, () => {
        const r = rng(3);
        const values = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
        const x = fromValues(values(6 * 5), [6, 5], { requiresGrad: true });
        const w = fromValues(values(4 * 5), [4, 5], { requiresGrad: true });
        const b = fromValues(values(4), [4], { requiresGrad: true });
        const params: Tensor[] = [x, w, b];
        const loss = sum(mul(tanh(linear(x, w, b)), tanh(linear(x, w, b))));
        const grads = gradients([loss], params, { createGraph: true });
        const dot = grads.map((g) => sum(mul(g, fromValues(values(g.size), g.shape))));
        return gradients([dot.reduce((p, q) => p.add(q))], params).flatMap((h) => Array.from(h.dataSync()));
      });
    const fused = new NativeBackend(native!);
    const a = hvp(fused), c = hvp(composedOf(fused));
    expect(words(a)).toEqual(words(c));
    expect(a.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it("refuses a bias shorter than a row of the product", () => {
    const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(9), zero = new Int32Array(1);
    expect(() => native!.sgemm(a, zero, b, zero, c, 0, 3, 3, 2, 3, 0, 0, 1, new Float32Array(2))).toThrow(RangeError);
    expect(() => native!.sgemm(a, zero, b, zero, c, 0, 3, 3, 2, 3, 0, 0, 1, new Float32Array(2))).toThrow(/bias is shorter/);
  });
});
