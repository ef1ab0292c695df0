/**
 * Autograd behaviour: accumulation into leaves, the errors of misuse, grad modes, grad() and
 * valueAndGrad(), higher derivatives, exact Hessian-vector products (checked against finite
 * differences of gradients), the Parameter version check, and detach.
 */
import { describe, expect, it } from "vitest";
import {
  GradError, Generator, Parameter, ShapeError, Tensor,
  add, backward, detach, enableGrad, gather, grad, gradients, hvp, isGradEnabled, linear, logSoftmax, mean, mul, neg, noGrad,
  pow, sub, sum, tanh, valueAndGrad,
} from "../../src/index.js";
import { expectClose, f64, i32, normal } from "./helpers.js";

const leaf = (data: number[]) => f64(data).requireGrad();

describe("backward()", () => {
  it("accumulates into leaf .grad across two calls", () => {
    const x = leaf([1, 2, 3]);
    // d/dx sum(x^2) = 2x
    sum(mul(x, x)).backward();
    expectClose(x.grad!, [2, 4, 6]);
    sum(mul(x, x)).backward();
    expectClose(x.grad!, [4, 8, 12]);
    // the graph is kept: the same loss can go backward again
    const y = sum(mul(x, 3));
    y.backward();
    y.backward();
    expectClose(x.grad!, [10, 14, 18]);
    expect(x.grad!.requiresGrad).toBe(false);
  });

  it("sums the paths through shared subexpressions", () => {
    const x = leaf([0.5, -2]);
    // y = x·x + x: dy/dx = 2x + 1
    backward(sum(add(mul(x, x), x)));
    expectClose(x.grad!, [2, -3]);
  });

  it("on a non-scalar needs a gradient, and says so", () => {
    const x = leaf([1, 2, 3]);
    const y = mul(x, 2);
    expect(() => y.backward()).toThrow(GradError);
    expect(() => y.backward()).toThrow(/output 0 has shape \[3\]; backward needs a scalar, or a gradient of the output's shape/);
    expect(() => y.backward(f64([1, 1]))).toThrow(/gradOutputs\[0\] has shape \[2\], output 0 has \[3\]/);
    y.backward(f64([1, 0.5, -1]));
    expectClose(x.grad!, [2, 1, -2]);
  });

  it("refuses a tensor that nothing requiring gradients went into", () => {
    expect(() => sum(f64([1, 2])).backward()).toThrow(GradError);
    expect(() => sum(f64([1, 2])).backward()).toThrow(/does not require gradients/);
  });

  it("with createGraph leaves a differentiable gradient", () => {
    const x = leaf([2]);
    // y = x^3: x.grad = 3x^2 = 12, and d(x.grad)/dx = 6x = 12
    pow(x, 3).backward(undefined, { createGraph: true });
    expect(x.grad!.requiresGrad).toBe(true);
    const [g2] = gradients(x.grad!, [x]);
    expectClose(x.grad!.detach(), [12]);
    expectClose(g2!, [12]);
  });
});

describe("gradients()", () => {
  it("errors clearly for an input outside the graph, or one not requiring gradients", () => {
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    const y = sum(a);
    expect(() => gradients(y, [b])).toThrow(GradError);
    expect(() => gradients(y, [b])).toThrow(/input 0 \(shape \[2\]\) is not part of the graph of the outputs/);
    expect(() => gradients(y, [a, f64([1])])).toThrow(/input 1 \(shape \[1\]\) does not require gradients/);
    // allowUnused gives zeros instead
    const [ga, gb] = gradients(y, [a, b], { allowUnused: true });
    expectClose(ga!, [1, 1]);
    expectClose(gb!, [0, 0]);
  });

  it("sums gradOutput-weighted derivatives over several outputs", () => {
    const x = leaf([1, 2]);
    // d/dx [3x·g1 + x^2·g2] with g1 = [1, 1], g2 = [1, -1] = 3 + 2x·g2 = [5, -1]
    const [g] = gradients([mul(x, 3), mul(x, x)], [x], { gradOutputs: [f64([1, 1]), f64([1, -1])] });
    expectClose(g!, [5, -1]);
  });

  it("refuses an int output", () => {
    const x = leaf([1.5]);
    expect(() => gradients(i32([1]), [x])).toThrow(/only floating tensors have gradients/);
  });
});

describe("grad modes", () => {
  it("noGrad results do not require grad, and the mode is restored even after a throw", () => {
    const x = leaf([1, 2]);
    const y = noGrad(() => mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.isLeaf).toBe(true);
    expect(isGradEnabled()).toBe(true);
    expect(() => noGrad(() => { throw new Error("boom"); })).toThrow("boom");
    expect(isGradEnabled()).toBe(true);
    // enableGrad records again inside noGrad
    const z = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return enableGrad(() => mul(x, 2));
    });
    expect(z.requiresGrad).toBe(true);
    expect(mul(x, 2).requiresGrad).toBe(true);
  });
});

describe("grad() and valueAndGrad()", () => {
  it("grad(f) gives df/darg for every argument", () => {
    // f(x, y) = sum(x^3 · y): df/dx = 3x^2 y, df/dy = x^3
    const f = (x: Tensor, y: Tensor) => sum(mul(pow(x, 3), y));
    const [gx, gy] = grad(f)(f64([1, 2]), f64([3, -1]));
    expectClose(gx!, [9, -12]);
    expectClose(gy!, [1, 8]);
  });

  it("valueAndGrad(f) also returns the value; unused arguments get zeros", () => {
    const f = (x: Tensor, _unused: Tensor) => sum(mul(x, x));
    const { value, grads } = valueAndGrad(f)(f64([3, 4]), f64([1]));
    expect(value.item()).toBe(25);
    expectClose(grads[0]!, [6, 8]);
    expectClose(grads[1]!, [0]);
    expect(() => grad((x: Tensor) => mul(x, 2))(f64([1, 2]))).toThrow(/f must return a scalar, got shape \[2\]/);
  });

  it("nests: the second derivative of x^3 is 6x", () => {
    const d1 = (x: Tensor) => grad((y: Tensor) => sum(pow(y, 3)))(x)[0]!;
    const d2 = (x: Tensor) => grad((y: Tensor) => sum(d1(y)))(x)[0]!;
    const x = f64([0.5, -1, 2]);
    expectClose(d1(x), [0.75, 3, 12]);
    expectClose(d2(x), [3, -6, 12]);
    // and the third is 6
    const d3 = grad((y: Tensor) => sum(d2(y)))(x)[0]!;
    expectClose(d3, [6, 6, 6]);
  });
});

describe("hvp()", () => {
  // A two-layer tanh network with softmax cross-entropy (logSoftmax + gather), in float64.
  const rng = new Generator(11);
  const X = normal(rng, [5, 3]);
  const labels = i32([[0], [2], [1], [1], [0]]);
  const loss = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => {
    const logits = linear(tanh(linear(X, w1, b1)), w2, b2);
    return neg(mean(gather(logSoftmax(logits, 1), 1, labels)));
  };
  const params = [normal(rng, [4, 3]), normal(rng, [4]), normal(rng, [3, 4]), normal(rng, [3])];
  const v = [normal(rng, [4, 3]), normal(rng, [4]), normal(rng, [3, 4]), normal(rng, [3])];

  it("matches finite differences of gradients: (∇f(p + hv) − ∇f(p − hv)) / 2h", () => {
    const h = 1e-4;
    const { value, grads, hvp: hv } = hvp(loss, params, v);
    const shifted = (s: number) => grad(loss)(...params.map((p, i) => add(p, mul(v[i]!, s * h))));
    const plus = shifted(1);
    const minus = shifted(-1);
    let norm = 0;
    hv.forEach((got, i) => {
      const fd = Array.from(sub(plus[i]!, minus[i]!).dataSync()).map((d) => d / (2 * h));
      expectClose(got, fd, { atol: 1e-6, rtol: 0, shape: got.shape });
      norm += Array.from(got.dataSync()).reduce((s, x) => s + x * x, 0);
    });
    expect(norm).toBeGreaterThan(1e-4); // a non-trivial product
    // value and gradient come back too
    const vg = valueAndGrad(loss)(...params);
    expect(value.item()).toBeCloseTo(vg.value.item(), 12);
    grads.forEach((g, i) => expectClose(g, Array.from(vg.grads[i]!.dataSync()), { shape: g.shape }));
  });

  it("is linear in v and checks its arguments", () => {
    const hv1 = hvp(loss, params, v).hvp;
    const hv2 = hvp(loss, params, v.map((t) => mul(t, -2))).hvp;
    hv1.forEach((a, i) => expectClose(hv2[i]!, Array.from(a.dataSync()).map((x) => -2 * x), { shape: a.shape, atol: 1e-12 }));
    expect(() => hvp(loss, params, v.slice(1))).toThrow(/3 vectors for 4 parameters/);
    expect(() => hvp(loss, params, [v[1]!, v[0]!, v[2]!, v[3]!])).toThrow(/vector 0 has shape \[4\], parameter 0 has \[4,3\]/);
  });
});

describe("Parameter", () => {
  it("assign bumps the version, and backward through an older graph throws", () => {
    const p = new Parameter(f64([1, 2]));
    expect(p.version).toBe(0);
    expect(p.requiresGrad).toBe(true);
    const stale = sum(mul(p, p));
    p.assign(f64([3, 4]));
    expect(p.version).toBe(1);
    expectClose(p, [3, 4]);
    expect(() => stale.backward()).toThrow(GradError);
    expect(() => stale.backward()).toThrow(/was updated after the forward pass/);
    expect(p.grad).toBeNull();
    // a loss computed after the update is fine and sees the new value: d/dp sum(p^2) = 2p
    sum(mul(p, p)).backward();
    expectClose(p.grad!, [6, 8]);
  });

  it("assign refuses another shape or dtype; requiresGrad can be switched off", () => {
    const p = new Parameter(f64([1, 2]));
    expect(() => p.assign(f64([1, 2, 3]))).toThrow(ShapeError);
    expect(() => p.assign(f64([1, 2]).cast("float32"))).toThrow(/float32, parameter is float64/);
    p.requiresGrad = false;
    expect(mul(p, 2).requiresGrad).toBe(false);
  });
});

describe("detach()", () => {
  it("stops gradients", () => {
    const x = leaf([1, 2, 3]);
    const d = detach(x);
    expect(d.requiresGrad).toBe(false);
    expectClose(d, [1, 2, 3]);
    // y = x · detach(x): dy/dx = detach(x) = x, not 2x
    sum(mul(x, detach(x))).backward();
    expectClose(x.grad!, [1, 2, 3]);
    // only through the detached path: nothing reaches x
    const [g] = gradients(sum(mul(detach(x), 2)), [x], { allowUnused: true });
    expectClose(g!, [0, 0, 0]);
    expect(() => sum(mul(x.detach(), 2)).backward()).toThrow(GradError);
  });
});
