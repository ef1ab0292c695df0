/**
 * A Sequential runs a ReLU followed by a MaxPool2d as the pool then the ReLU (sequential.ts,
 * reluThenMaxPool). The values, the gradients and the second derivatives must be the ones the
 * layers give in their own order, word for word: windows wholly <= 0 (whose argmax the ReLU
 * changes), ties of positive values, +0 and -0, NaN and ±Infinity, overlapping and padded windows,
 * float32 and float64, on every backend of the cpu family.
 */
import { describe, expect, it } from "vitest";
import {
  Conv2d, createBackend, crossEntropy, Flatten, fromValues, Generator, gradients, Linear, MaxPool2d, mul, ReLU, Sequential, sum,
  withBackend, type Backend, type Module, type Tensor,
} from "../../src/index.js";
import { nativeAddon } from "../../src/backend/native/native.js";
import { rng } from "../backend/helpers.js";

const backends: [string, () => Backend][] = [["cpu", () => createBackend("cpu")], ["wasm", () => createBackend("wasm")]];
if (nativeAddon()) backends.push(["native", () => createBackend("native")]);

/** Equal as words, with every NaN one word. */
function sameWords(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i]!)));
}

/** [2, 3, 7, 6] values: mostly negative, with a wholly negative plane row, ties, signed zeros and non-finite values. */
function input(seed: number): number[] {
  const r = rng(seed);
  const v = Array.from({ length: 2 * 3 * 7 * 6 }, () => Math.round((r() - 0.65) * 8) / 2);
  for (let j = 0; j < 12; j++) v[j] = -1 - (j % 3); // the first two rows of plane 0: every window there is <= 0
  v[20] = -0; v[21] = 0; v[26] = -0; v[27] = -0; // signed zeros side by side
  v[50] = 2.5; v[51] = 2.5; v[56] = 2.5; // positive ties
  v[90] = NaN; v[130] = Infinity; v[131] = -Infinity; v[170] = -Infinity; v[171] = -Infinity;
  return v;
}

const POOLS = [
  { kernelSize: 2 },
  { kernelSize: 3, stride: 1, padding: 1 },
  { kernelSize: 2, stride: 1 },
  { kernelSize: 3, stride: 2, padding: 1, dilation: 1 },
  { kernelSize: 2, stride: 1, dilation: 2 },
] as const;

/** The pooled values and d(sum(y · w))/dx, from `forward`. */
function valuesAndGradient(backend: Backend, dtype: "float32" | "float64", seed: number, forward: (x: Tensor) => Tensor) {
  return withBackend(backend, () => {
    const values = input(seed);
    const x = fromValues(dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values), [2, 3, 7, 6], { backend, requiresGrad: true });
    const y = forward(x);
    const r = rng(seed + 100);
    // upstream gradients with a -0 and ties of their own
    const w = Array.from({ length: y.size }, (_, i) => (i === 3 ? -0 : Math.round((r() - 0.5) * 6) / 4));
    const [g] = gradients([sum(mul(y, fromValues(dtype === "float32" ? Float32Array.from(w) : Float64Array.from(w), y.shape)))], [x]);
    return { y: y.dataSync(), g: g!.dataSync(), op: y.node?.op };
  });
}

describe.each(backends)("ReLU then MaxPool2d in a Sequential, on %s", (_name, make) => {
  const backend = make();
  for (const dtype of ["float32", "float64"] as const) {
    it(`gives the layers' own values and gradients word for word (${dtype})`, () => {
      for (const pool of POOLS) {
        for (const seed of [1, 2]) {
          const relu = new ReLU(), maxPool = new MaxPool2d(pool);
          const model = new Sequential([relu, maxPool]);
          const reordered = valuesAndGradient(backend, dtype, seed, (x) => model.forward(x));
          const inOrder = valuesAndGradient(backend, dtype, seed, (x) => maxPool.forward(relu.forward(x)));
          expect(reordered.op, "the ReLU runs last").toBe("relu");
          expect(sameWords(reordered.y, inOrder.y), `values ${JSON.stringify(pool)}`).toBe(true);
          expect(sameWords(reordered.g, inOrder.g), `gradient ${JSON.stringify(pool)}`).toBe(true);
          expect(Array.from(inOrder.g).some((v) => v !== 0)).toBe(true);
        }
      }
    });
  }

  it("differentiates twice: a CNN's Hessian-vector product is the one of its layers in their own order", () => {
    const hvp = (run: (model: Sequential, x: Tensor) => Tensor): number[] =>
      withBackend(backend, () => {
        const g0 = new Generator(7);
        const layers: Module[] = [
          new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: "same", dtype: "float64", rng: g0 }), new ReLU(),
          new MaxPool2d({ kernelSize: 2 }), new Flatten(), new Linear({ inFeatures: 3 * 3 * 3, outFeatures: 4, dtype: "float64", rng: g0 }),
        ];
        const model = new Sequential(layers);
        const r = rng(9);
        const x = fromValues(Float64Array.from({ length: 5 * 2 * 6 * 6 }, () => r() - 0.5), [5, 2, 6, 6]);
        const labels = fromValues(Int32Array.from([0, 3, 1, 2, 0]), [5]);
        const params = model.parameters();
        const grads = gradients([crossEntropy(run(model, x), labels)], params, { createGraph: true });
        const dot = grads.map((g, i) => sum(mul(g, fromValues(Float64Array.from({ length: g.size }, (_, j) => Math.sin(i + j)), g.shape))));
        return gradients([dot.reduce((a, b) => a.add(b))], params).flatMap((h) => Array.from(h.dataSync()));
      });
    const reordered = hvp((model, x) => model.forward(x));
    const inOrder = hvp((model, x) => [...model].reduce((h: Tensor, m) => m.forward(h), x));
    expect(sameWords(reordered, inOrder)).toBe(true);
    expect(reordered.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

describe("the reordering", () => {
  it("leaves a subclass of ReLU in its place", () => {
    class MyReLU extends ReLU {}
    const model = new Sequential([new MyReLU(), new MaxPool2d({ kernelSize: 2 })]);
    const x = fromValues(Float32Array.from({ length: 16 }, (_, i) => i - 8), [1, 1, 4, 4]);
    expect(model.forward(x).node).toBeNull(); // no gradient asked: nothing recorded; the values say the rest
    expect(Array.from(model.forward(x).dataSync())).toEqual([0, 0, 5, 7]);
  });

  it("leaves a ReLU whose forward was replaced in its place", () => {
    const seen: number[][] = [];
    const relu = new ReLU();
    const forward = relu.forward.bind(relu);
    relu.forward = (x: Tensor) => (seen.push(x.shape.slice()), forward(x));
    new Sequential([relu, new MaxPool2d({ kernelSize: 2 })]).forward(fromValues(new Float32Array(16), [1, 1, 4, 4]));
    expect(seen).toEqual([[1, 1, 4, 4]]);
  });

  it("keeps a failing pool's error on the pool's layer", () => {
    const model = new Sequential([new ReLU(), new MaxPool2d({ kernelSize: 2 })]);
    expect(() => model.forward(fromValues(Float32Array.from([1, 2, 3, 4]), [4]))).toThrow(/^layer 1 \(MaxPool2d "1"\): maxPool2d: expected input \[N, C, H, W\]/);
  });
});
