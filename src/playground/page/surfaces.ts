/**
 * Two-parameter losses and what the library's optimizers do on them. Each surface is written with
 * the library's differentiable ops, so the same function gives the contour grid (evaluated
 * elementwise on a whole grid at once), the optimizer paths (Parameters stepped by createOptimizer)
 * and the exact gradient and Hessian at a clicked point (gradients with createGraph, symmetricEigen).
 * The page runs on the cpu backend and draws within an animation frame, so it reads values
 * synchronously (dataSync, item); the library's own code never does.
 */
import {
  Parameter, add, classifyCriticalPoint, createOptimizer, enableGrad, exp, gradients, mul, noGrad, square, sub, sum, symmetricEigen, tensor,
  type CriticalPoint, type Optimizer, type Tensor,
} from "../../index.js";
import type { View } from "./plot.js";

export interface Surface {
  id: string;
  name: string;
  note: string;
  view: View;
  f: (w1: Tensor, w2: Tensor) => Tensor;
}

export const SURFACES: readonly Surface[] = [
  {
    id: "saddle", name: "(1 − w1·w2)²", view: { x0: -2, x1: 2, y0: -2, y1: 2 },
    note: "a saddle at the origin (gradient zero, Hessian eigenvalues −2 and 2) and a valley of minima along w1·w2 = 1",
    f: (a, b) => square(sub(1, mul(a, b))),
  },
  {
    id: "ravine", name: "ravine w1²/20 + 5·w2²", view: { x0: -10, x1: 10, y0: -3, y1: 3 },
    note: "curvatures 0.1 and 10: plain gradient descent zig-zags across the ravine; momentum and RMSProp go along it",
    f: (a, b) => add(mul(square(a), 0.05), mul(square(b), 5)),
  },
  {
    id: "plateau", name: "plateau 1 − exp(−(w1² + w2²))", view: { x0: -3, x1: 3, y0: -3, y1: 3 },
    note: "almost flat far from the minimum: gradients vanish there, and steps that scale by 1/√v keep moving",
    f: (a, b) => sub(1, exp(mul(add(square(a), square(b)), -1))),
  },
  {
    id: "rosenbrock", name: "Rosenbrock (1 − w1)² + 100·(w2 − w1²)²", view: { x0: -2, x1: 2, y0: -1, y1: 3 },
    note: "a curved narrow valley with its minimum at (1, 1)",
    f: (a, b) => add(square(sub(1, a)), mul(square(sub(b, square(a))), 100)),
  },
];

/** The surface's values on a gw x gh grid over its view, top row first (one elementwise call). */
export function gridValues(s: Surface, gw: number, gh: number): Float64Array {
  const xs = new Float64Array(gw * gh), ys = new Float64Array(gw * gh);
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      xs[j * gw + i] = s.view.x0 + ((i + 0.5) / gw) * (s.view.x1 - s.view.x0);
      ys[j * gw + i] = s.view.y1 - ((j + 0.5) / gh) * (s.view.y1 - s.view.y0);
    }
  }
  const v = noGrad(() => s.f(tensor(xs, { dtype: "float64" }), tensor(ys, { dtype: "float64" })));
  return Float64Array.from(v.dataSync());
}

export interface PathOptimizer {
  id: string;
  label: string;
  color: string;
  lr: number;
  make: (params: [string, Parameter][], lr: number, b1: number, b2: number) => Optimizer;
}

/** The optimizers drawn on the surfaces, with their default learning rates. */
export const PATH_OPTIMIZERS: readonly PathOptimizer[] = [
  { id: "sgd", label: "SGD", color: "#e6194b", lr: 0.01, make: (p, lr) => createOptimizer("sgd", p, { lr }) },
  { id: "momentum", label: "momentum (v = βv + g)", color: "#f58231", lr: 0.01, make: (p, lr, b1) => createOptimizer("momentum", p, { lr, momentum: b1 }) },
  { id: "momentumEma", label: "momentum (v = βv + (1−β)g)", color: "#ffe119", lr: 0.05, make: (p, lr, b1) => createOptimizer("momentumEma", p, { lr, beta: b1 }) },
  { id: "nesterov", label: "Nesterov", color: "#3cb44b", lr: 0.01, make: (p, lr, b1) => createOptimizer("nesterov", p, { lr, momentum: b1 }) },
  { id: "adagrad", label: "AdaGrad", color: "#42d4f4", lr: 0.1, make: (p, lr) => createOptimizer("adagrad", p, { lr }) },
  { id: "rmsprop", label: "RMSProp", color: "#4363d8", lr: 0.01, make: (p, lr, _b1, b2) => createOptimizer("rmsprop", p, { lr, alpha: b2 }) },
  { id: "adam", label: "Adam", color: "#f032e6", lr: 0.02, make: (p, lr, b1, b2) => createOptimizer("adam", p, { lr, betas: [b1, b2] }) },
  {
    id: "adamNoBias", label: "Adam, no bias correction", color: "#ffffff", lr: 0.02,
    make: (p, lr, b1, b2) => createOptimizer("adam", p, { lr, betas: [b1, b2], biasCorrection: false }),
  },
];

/** The points an optimizer visits from `start` in `steps` steps (stops early on a non-finite value). */
export function optimizerPath(s: Surface, o: PathOptimizer, start: [number, number], steps: number, lr: number, b1: number, b2: number): [number, number][] {
  const w1 = new Parameter(tensor([start[0]], { dtype: "float64" }));
  const w2 = new Parameter(tensor([start[1]], { dtype: "float64" }));
  const opt = o.make([["w1", w1], ["w2", w2]], lr, b1, b2);
  const pts: [number, number][] = [start];
  for (let t = 0; t < steps; t++) {
    sum(s.f(w1, w2)).backward();
    opt.step();
    opt.zeroGrad();
    const p: [number, number] = [w1.item(), w2.item()];
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1]) || Math.abs(p[0]) > 1e6 || Math.abs(p[1]) > 1e6) break;
    pts.push(p);
  }
  return pts;
}

export interface PointInfo {
  value: number;
  gradient: [number, number];
  eigenvalues: [number, number];
  /** eigenvectors as columns: eigenvectors[k] goes with eigenvalues[k] */
  eigenvectors: [[number, number], [number, number]];
  /** the critical-point class when the gradient is (numerically) zero, else "none" */
  kind: CriticalPoint;
  /** the shape of the surface here from the Hessian's signs, critical point or not */
  curvature: "bowl (minimum-like)" | "cap (maximum-like)" | "saddle-shaped" | "flat in one direction";
  /** at a saddle-shaped point: the eigenvector of the negative eigenvalue, the way down */
  escape: [number, number] | null;
}

/** The value, gradient and 2 x 2 Hessian at (x, y): exact second derivatives, read synchronously. */
function secondOrder(s: Surface, x: number, y: number): { value: number; gradient: [number, number]; hessian: Float64Array } {
  const w = [tensor([x], { dtype: "float64", requiresGrad: true }), tensor([y], { dtype: "float64", requiresGrad: true })];
  return enableGrad(() => {
    const value = sum(s.f(w[0]!, w[1]!));
    const g = gradients([value], w, { createGraph: true });
    const row = (gi: Tensor): number[] => gradients([gi], w, { allowUnused: true, retainGraph: true }).map((h) => (h ? h.item() : 0));
    return { value: value.item(), gradient: [g[0]!.item(), g[1]!.item()], hessian: Float64Array.from([...row(g[0]!), ...row(g[1]!)]) };
  });
}

/** Gradient, Hessian eigen-decomposition and class of the surface at (x, y). */
export function pointInfo(s: Surface, x: number, y: number, tol = 1e-6): PointInfo {
  const h = secondOrder(s, x, y);
  const eig = symmetricEigen(h.hessian, 2);
  const l0 = eig.values[0]!, l1 = eig.values[1]!;
  const vec = (k: number): [number, number] => [eig.vectors[k]!, eig.vectors[2 + k]!];
  const g = h.gradient;
  const flat = Math.abs(l0) <= tol || Math.abs(l1) <= tol;
  const curvature = flat ? "flat in one direction" : l0 > 0 ? "bowl (minimum-like)" : l1 < 0 ? "cap (maximum-like)" : "saddle-shaped";
  return {
    value: h.value, gradient: g, eigenvalues: [l0, l1], eigenvectors: [vec(0), vec(1)],
    kind: classifyCriticalPoint(Math.hypot(...g), eig.values, tol),
    curvature, escape: l0 < -tol ? vec(0) : null,
  };
}
