/**
 * crossEntropy's fused kernel (backend.crossEntropy, src/backend/cpu/loss.ts) against the composed
 * path it replaces, on each backend of the cpu family: the same backend with the fused methods
 * taken away runs the composed ops. Loss and gradient must agree word for word over every
 * reduction, ignored labels, logits with ties, ±Infinity and NaN rows, float32 and float64, and
 * the second derivative (createGraph) must match the composed path's Hessian-vector product.
 */
import { describe, expect, it } from "vitest";
import {
  createBackend, crossEntropy, fromValues, gradients, mul, sum, withBackend, type Backend, type Tensor,
} from "../../src/index.js";
import { nativeAddon } from "../../src/backend/native/native.js";
import { rng } from "../backend/helpers.js";

/** The same backend object's state and methods, without the fused cross-entropy: the composed path runs. */
function composedOf(b: Backend): Backend {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(b) as object) as Backend, b);
  Object.assign(copy, { crossEntropy: undefined, crossEntropyBackward: undefined });
  return copy;
}

type Case = { rows: number; classes: number; values: number[]; labels: number[] };

function makeCase(seed: number, rows: number, classes: number, special: boolean): Case {
  const r = rng(seed);
  const values = Array.from({ length: rows * classes }, () => (r() - 0.5) * 12);
  const labels = Array.from({ length: rows }, () => Math.floor(r() * classes));
  labels[1 % rows] = -100; // ignored
  if (special && rows >= 6) {
    for (let j = 0; j < classes; j++) values[2 * classes + j] = 0.75; // all tied
    values[3 * classes] = Infinity;
    values[4 * classes + 1] = -Infinity;
    values[5 * classes + classes - 1] = NaN;
  }
  return { rows, classes, values, labels };
}

/** Loss and d loss / d logits of one case on `backend`. */
function run(backend: Backend, c: Case, dtype: "float32" | "float64", reduction: "mean" | "sum" | "none"): { loss: number[]; grad: number[] } {
  return withBackend(backend, () => {
    const values = dtype === "float32" ? Float32Array.from(c.values) : Float64Array.from(c.values);
    const x = fromValues(values, [c.rows, c.classes], { backend, requiresGrad: true });
    const y = fromValues(Int32Array.from(c.labels), [c.rows], { backend });
    const loss = crossEntropy(x, y, { reduction });
    const scalar = reduction === "none" ? sum(mul(loss, fromValues(values.slice(0, c.rows).map((_, i) => 0.5 + i), [c.rows], { backend }))) : loss;
    const [g] = gradients([scalar], [x]);
    return { loss: Array.from(loss.dataSync()), grad: Array.from(g!.dataSync()) };
  });
}

/** Equal as words, with every NaN one word (the sign of a NaN is not part of a result). */
function sameWords(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));
}

const backends: [string, () => Backend][] = [["cpu", () => createBackend("cpu")], ["wasm", () => createBackend("wasm")]];
if (nativeAddon()) backends.push(["native", () => createBackend("native")]);

describe.each(backends)("fused crossEntropy on %s", (_name, make) => {
  const fused = make();
  const composed = composedOf(fused);

  it("is the fused op, not the composed ops", () => {
    expect(typeof fused.crossEntropy).toBe("function");
    const x = fromValues(Float32Array.from([1, 2, 3, 4]), [2, 2], { backend: fused, requiresGrad: true });
    const loss = withBackend(fused, () => crossEntropy(x, fromValues(Int32Array.from([0, 1]), [2], { backend: fused })));
    expect(loss.node?.op).toBe("crossEntropy");
  });

  for (const dtype of ["float32", "float64"] as const) {
    for (const reduction of ["mean", "sum", "none"] as const) {
      it(`gives the composed path's words: ${dtype}, reduction ${reduction}`, () => {
        const cases = [makeCase(1, 64, 10, false), makeCase(2, 9, 37, true), makeCase(3, 300, 3, true), makeCase(4, 1, 1, false)];
        for (const c of cases) {
          const a = run(fused, c, dtype, reduction), b = run(composed, c, dtype, reduction);
          expect(sameWords(a.loss, b.loss), `loss ${c.rows}x${c.classes}`).toBe(true);
          expect(sameWords(a.grad, b.grad), `gradient ${c.rows}x${c.classes}`).toBe(true);
        }
      });
    }
  }

  it("mean over only ignored labels is NaN, as the composed path and PyTorch give", () => {
    const c: Case = { rows: 2, classes: 3, values: [1, 2, 3, 4, 5, 6], labels: [-100, -100] };
    expect(Number.isNaN(run(fused, c, "float32", "mean").loss[0])).toBe(true);
  });

  it("differentiates twice: its Hessian-vector product is the composed path's", () => {
    const c = makeCase(5, 6, 4, false);
    const hvp = (backend: Backend): number[] =>
      withBackend(backend, () => {
        const x = fromValues(Float64Array.from(c.values), [c.rows, c.classes], { backend, requiresGrad: true });
        const y = fromValues(Int32Array.from(c.labels), [c.rows], { backend });
        const v = fromValues(Float64Array.from(c.values.map((_, i) => Math.sin(i))), [c.rows, c.classes], { backend });
        const [g] = gradients([crossEntropy(x, y)], [x], { createGraph: true });
        const [h] = gradients([sum(mul(g!, v))], [x]);
        return Array.from(h!.dataSync());
      });
    const a = hvp(fused), b = hvp(composed);
    expect(a.every(Number.isFinite)).toBe(true);
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
    expect(a.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

describe("crossEntropy on a backend without the fused kernel", () => {
  it("runs the composed ops", () => {
    const b = composedOf(createBackend("cpu"));
    const x = fromValues(Float32Array.from([1, 2, 3, 4]), [2, 2], { backend: b, requiresGrad: true });
    const loss: Tensor = withBackend(b, () => crossEntropy(x, fromValues(Int32Array.from([0, 1]), [2], { backend: b })));
    expect(loss.node?.op).not.toBe("crossEntropy");
  });
});
