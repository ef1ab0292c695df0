/**
 * Shape arithmetic: sizes, row-major strides, NumPy broadcasting, and axis normalization.
 * Pure functions over number arrays; every op validates through these so the error messages
 * have one voice.
 */
import { ShapeError, fmtShape } from "../errors/errors.js";

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting: align from the right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else {
      throw new ShapeError(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast (dimension ${i - n} is ${da} and ${db})`,
      );
    }
  }
  return out;
}

/** Strides of `shape` seen inside the broadcast shape `out`: 0 where the dim is broadcast. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = stridesOf(shape);
  const res = new Array<number>(out.length).fill(0);
  const off = out.length - shape.length;
  for (let i = 0; i < shape.length; i++) res[off + i] = shape[i] === 1 ? 0 : own[i]!;
  return res;
}

/** Turns a possibly negative axis into 0..rank-1, or names the op, axis and rank. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ShapeError(`${op}: dim ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes a dim argument (one axis, a list, or all when undefined) to sorted unique axes. */
export function normalizeAxes(op: string, dim: number | readonly number[] | undefined, rank: number): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dim === "number" ? [dim] : dim;
  const axes = list.map((d) => normalizeAxis(op, d, rank));
  const uniq = [...new Set(axes)].sort((x, y) => x - y);
  if (uniq.length !== axes.length) throw new ShapeError(`${op}: dim ${JSON.stringify(dim)} repeats an axis`);
  return uniq;
}

export function checkShape(where: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${where}: invalid shape ${fmtShape(shape)} (dimensions must be non-negative integers)`);
    }
  }
}
