/**
 * Reductions: sum, mean, max, min, var, std, argmax, argmin, and sumToShape, the one place where
 * broadcasting is undone (every broadcasting op's gradient passes through it).
 *
 * max and min are computed as a gather of the arg-extreme index, so their gradient is the
 * scatter of g to that index (ties: the first, as the returned index in PyTorch).
 */
import { record } from "../autograd/graph.js";
import { ShapeError, fmtShape } from "../errors/errors.js";
import { requireFloat } from "../tensor/dtype.js";
import { normalizeAxes, normalizeAxis, sameShape, sizeOf, type Shape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { add, div, sqrt, sub, square } from "./elementwise.js";
import { expand, permute, reshape, take } from "./movement.js";
import { output } from "./util.js";
import { fromValues } from "../tensor/creation.js";

type Dim = number | readonly number[] | undefined;

function keptShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

export function sum(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  const axes = normalizeAxes("sum", dim, x.rank);
  const shape = keptShape(x.shape, axes, keepdim);
  const y = output(x, x.backend.reduce("sum", x.dataId, x.shape, axes, x.dtype), shape);
  return record("sum", [x], y, (g) => [expand(reshape(g, keptShape(x.shape, axes, true)), x.shape)]);
}

export function mean(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  requireFloat("mean", x.dtype);
  const axes = normalizeAxes("mean", dim, x.rank);
  let count = 1;
  for (const a of axes) count *= x.shape[a]!;
  return div(sum(x, dim, keepdim), count);
}

/**
 * Variance over `dim` with Bessel's correction by default (divides by n - correction), like
 * torch.var; `correction: 0` gives the biased (population) variance.
 */
export function variance(x: Tensor, dim?: Dim, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
  requireFloat("var", x.dtype);
  const { correction = 1, keepdim = false } = options;
  const axes = normalizeAxes("var", dim, x.rank);
  let count = 1;
  for (const a of axes) count *= x.shape[a]!;
  const centered = sub(x, mean(x, dim, true));
  return div(sum(square(centered), dim, keepdim), Math.max(count - correction, 0));
}

export function std(x: Tensor, dim?: Dim, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
  return sqrt(variance(x, dim, options));
}

/** Moves the reduced axes last and merges them: returns x as [kept, reduced] and the kept shape. */
function asRows(x: Tensor, axes: readonly number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const moved = perm.every((p, i) => p === i) ? x : permute(x, perm);
  let rows = 1;
  for (const k of kept) rows *= x.shape[k]!;
  return reshape(moved, [rows, sizeOf(x.shape) / Math.max(rows, 1)]);
}

function extreme(op: "max" | "min", x: Tensor, dim: Dim, keepdim: boolean): Tensor {
  const axes = normalizeAxes(op, dim, x.rank);
  if (axes.some((a) => x.shape[a] === 0)) throw new ShapeError(`${op}: cannot reduce an empty dimension of ${fmtShape(x.shape)}`);
  const rows2d = asRows(x, axes);
  const [rows, len] = rows2d.shape as [number, number];
  const arg = output(x, x.backend.argReduce(op === "max" ? "argmax" : "argmin", rows2d.dataId, rows2d.shape, 1, x.dtype), [rows], "int32");
  const rowStarts = new Int32Array(rows);
  for (let r = 0; r < rows; r++) rowStarts[r] = r * len;
  const flat = add(arg, fromValues(rowStarts, [rows], { backend: x.backend }));
  return reshape(take(rows2d, flat), keptShape(x.shape, axes, keepdim));
}

export function max(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  return extreme("max", x, dim, keepdim);
}

export function min(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  return extreme("min", x, dim, keepdim);
}

function argExtreme(op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const flat = reshape(x, [x.size]);
    return output(x, x.backend.argReduce(op, flat.dataId, flat.shape, 0, x.dtype), keepdim ? x.shape.map(() => 1) : [], "int32");
  }
  const axis = normalizeAxis(op, dim, x.rank);
  return output(x, x.backend.argReduce(op, x.dataId, x.shape, axis, x.dtype), keptShape(x.shape, [axis], keepdim), "int32");
}

/** Index of the first maximum along dim (of the flattened tensor when dim is omitted), int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme("argmax", x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argExtreme("argmin", x, dim, keepdim);
}

/**
 * Sums a gradient of a broadcast shape back to `shape`: leading extra dims are summed away, and
 * dims where `shape` has 1 are summed with keepdim. The adjoint of `expand`.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`sumToShape: ${fmtShape(g.shape)} cannot be reduced to ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== g.shape[i]) {
      throw new ShapeError(`sumToShape: ${fmtShape(g.shape)} cannot be reduced to ${fmtShape(shape)}`);
    }
  }
  const s = axes.length ? sum(g, axes, true) : g;
  return reshape(s, shape);
}
