/**
 * Movement and indexing: reshape (shares storage), permute/transpose, expand, slice, concat,
 * stack, pad, and flat gather (take) / scatter-add, from which gather, indexSelect and max
 * pooling are built. Each pair of adjoint ops (expand/sumToShape, slice/placement, take/scatterAdd)
 * differentiates into the other.
 */
import { record } from "../autograd/graph.js";
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import type { DType } from "../tensor/dtype.js";
import { isFloat } from "../tensor/dtype.js";
import { normalizeAxis, sameShape, sizeOf, stridesOf, type Shape } from "../tensor/shape.js";
import { sharingStorage, Tensor } from "../tensor/tensor.js";
import { fromValues } from "../tensor/creation.js";
import { sumToShape } from "./reduce.js";
import { add, eq, mul } from "./elementwise.js";
import { output, sameBackend } from "./util.js";
import { checkIndexRange } from "./checks.js";

/** Same values, new shape (one dim may be -1); shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = [...shape];
  const infer = target.indexOf(-1);
  if (infer >= 0) {
    if (target.indexOf(-1, infer + 1) >= 0) throw new ShapeError(`reshape: only one dimension can be -1, got ${fmtShape(shape)}`);
    const known = sizeOf(target.filter((_, i) => i !== infer));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    }
    target[infer] = x.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(target) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  if (sameShape(target, x.shape)) return x;
  const y = sharingStorage(x, target);
  return record("reshape", [x], y, (g) => [reshape(g, x.shape)]);
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis("flatten", startDim, x.rank);
  const e = normalizeAxis("flatten", endDim, x.rank);
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Removes dim (which must be 1), or every dim of size 1. */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis("squeeze", dim, x.rank);
  if (x.shape[a] !== 1) return x;
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Inserts a dim of size 1 at `dim` (-1 appends). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const a = normalizeAxis("unsqueeze", dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.rank) throw new ShapeError(`permute: got ${dims.length} dims for a tensor of rank ${x.rank}`);
  const perm = dims.map((d) => normalizeAxis("permute", d, x.rank));
  if (new Set(perm).size !== perm.length) throw new ShapeError(`permute: dims ${JSON.stringify(dims)} repeat an axis`);
  if (perm.every((p, i) => p === i)) return x;
  const strides = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const y = output(x, x.backend.strided(x.dataId, shape, perm.map((p) => strides[p]!), 0, x.dtype), shape);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record("permute", [x], y, (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normalizeAxis("transpose", dim0, x.rank);
  const b = normalizeAxis("transpose", dim1, x.rank);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Broadcasts to `shape` (dims of size 1 repeat; -1 keeps a dim); gradient: sumToShape. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0) throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to fewer dims ${fmtShape(shape)}`);
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  if (target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`expand: invalid target shape ${fmtShape(shape)} for ${fmtShape(x.shape)} (-1 only keeps an existing dim)`);
  }
  const own = stridesOf(x.shape);
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const xd = x.shape[i - lead]!;
    if (xd === d) return xd === 1 ? 0 : own[i - lead]!;
    if (xd === 1) return 0;
    throw new ShapeError(`expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (dim ${i} is ${xd}, not 1)`);
  });
  if (sameShape(target, x.shape)) return x;
  const y = output(x, x.backend.strided(x.dataId, target, strides, 0, x.dtype), target);
  return record("expand", [x], y, (g) => [sumToShape(g, x.shape)]);
}

export interface SliceRange {
  start?: number;
  end?: number;
  step?: number;
}

interface ResolvedSlice {
  start: number;
  step: number;
  length: number;
}

function resolveSlice(dimSize: number, r: SliceRange | null | undefined, dim: number): ResolvedSlice {
  const step = r?.step ?? 1;
  if (!Number.isInteger(step) || step <= 0) throw new ShapeError(`slice: dim ${dim}: step must be a positive integer, got ${step}`);
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + dimSize : v, 0), dimSize);
  const start = clampIdx(r?.start ?? 0);
  const end = clampIdx(r?.end ?? dimSize);
  return { start, step, length: Math.max(0, Math.ceil((end - start) / step)) };
}

/**
 * Python-style slicing per leading dim: `slice(x, [{ start: 1 }, null, { end: -1, step: 2 }])`.
 * Missing or null entries take the whole dim; negative indices count from the end.
 */
export function slice(x: Tensor, ranges: readonly (SliceRange | null | undefined)[]): Tensor {
  if (ranges.length > x.rank) throw new ShapeError(`slice: ${ranges.length} ranges for a tensor of rank ${x.rank}`);
  const rs = x.shape.map((d, i) => resolveSlice(d, ranges[i], i));
  return stridedSlice(x, rs);
}

/** The part of x along `dim` from start, `length` long (torch.narrow; a negative start counts from the end). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const a = normalizeAxis("narrow", dim, x.rank);
  if (start < 0 && start >= -x.shape[a]!) start += x.shape[a]!;
  if (start < 0 || length < 0 || start + length > x.shape[a]!) {
    throw new ShapeError(`narrow: [${start}, ${start + length}) is outside dim ${a} of size ${x.shape[a]} in ${fmtShape(x.shape)}`);
  }
  return stridedSlice(x, x.shape.map((d, i) => (i === a ? { start, step: 1, length } : { start: 0, step: 1, length: d })));
}

function stridedSlice(x: Tensor, rs: readonly ResolvedSlice[]): Tensor {
  if (rs.every((r, i) => r.start === 0 && r.step === 1 && r.length === x.shape[i])) return x;
  const own = stridesOf(x.shape);
  const shape = rs.map((r) => r.length);
  let offset = 0;
  rs.forEach((r, i) => (offset += r.start * own[i]!));
  const y = output(x, x.backend.strided(x.dataId, shape, rs.map((r, i) => r.step * own[i]!), offset, x.dtype), shape);
  return record("slice", [x], y, (g) => [placeSlice(g, x.shape, rs)]);
}

/** The adjoint of a slice: g placed into zeros of `shape` at the slice's positions. */
function placeSlice(g: Tensor, shape: Shape, rs: readonly ResolvedSlice[]): Tensor {
  let y: Tensor;
  if (rs.every((r) => r.step === 1)) {
    y = output(g, g.backend.assemble([{ id: g.dataId, shape: g.shape, offset: rs.map((r) => r.start) }], shape, 0, g.dtype), shape);
  } else {
    y = scatterAdd(g, sliceIndices(g, shape, rs), sizeOf(shape), shape);
    return y;
  }
  return record("placeSlice", [g], y, (gg) => [stridedSlice(gg, rs)]);
}

/** Flat indices into a tensor of `shape` of every element a slice selects, in order. */
function sliceIndices(like: Tensor, shape: Shape, rs: readonly ResolvedSlice[]): Tensor {
  const own = stridesOf(shape);
  const count = sizeOf(rs.map((r) => r.length));
  const idx = new Int32Array(count);
  let k = 0;
  const walk = (d: number, base: number): void => {
    if (d === rs.length) {
      idx[k++] = base;
      return;
    }
    const r = rs[d]!;
    for (let i = 0; i < r.length; i++) walk(d + 1, base + (r.start + i * r.step) * own[d]!);
  };
  walk(0, 0);
  return fromValues(idx, rs.map((r) => r.length), { backend: like.backend });
}

/** Joins tensors along an existing dim. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError("concat: needs at least one tensor");
  const first = tensors[0]!;
  sameBackend("concat", ...tensors);
  const axis = normalizeAxis("concat", dim, first.rank);
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) throw new DTypeError(`concat: tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`);
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
      throw new ShapeError(`concat: tensor ${i} has shape ${fmtShape(t.shape)}, incompatible with ${fmtShape(first.shape)} along dim ${axis}`);
    }
  });
  const shape = [...first.shape];
  shape[axis] = tensors.reduce((s, t) => s + t.shape[axis]!, 0);
  let at = 0;
  const starts: number[] = [];
  const parts = tensors.map((t) => {
    const offset = t.shape.map((_, j) => (j === axis ? at : 0));
    starts.push(at);
    at += t.shape[axis]!;
    return { id: t.dataId, shape: t.shape, offset };
  });
  const y = output(first, first.backend.assemble(parts, shape, 0, first.dtype), shape);
  return record("concat", tensors, y, (g) => tensors.map((t, i) => (t.requiresGrad ? narrow(g, axis, starts[i]!, t.shape[axis]!) : null)));
}

/** Joins same-shape tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError("stack: needs at least one tensor");
  const a = normalizeAxis("stack", dim, tensors[0]!.rank + 1);
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, tensors[0]!.shape)) {
      throw new ShapeError(`stack: tensor ${i} has shape ${fmtShape(t.shape)}, tensor 0 has ${fmtShape(tensors[0]!.shape)}`);
    }
  });
  return concat(tensors.map((t) => unsqueeze(t, a)), a);
}

/**
 * Pads with a constant. `padding` lists [before, after] pairs for the trailing dims, last pair for
 * the last dim: `pad(x, [[1, 1], [2, 2]])` pads H by 1 and W by 2 on each side.
 */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], value = 0): Tensor {
  if (padding.length > x.rank) throw new ShapeError(`pad: ${padding.length} pairs for a tensor of rank ${x.rank}`);
  const lead = x.rank - padding.length;
  const before = x.shape.map((_, i) => (i < lead ? 0 : padding[i - lead]![0]));
  const after = x.shape.map((_, i) => (i < lead ? 0 : padding[i - lead]![1]));
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError(`pad: padding must be non-negative integers, got ${JSON.stringify(padding)}`);
  }
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const y = output(x, x.backend.assemble([{ id: x.dataId, shape: x.shape, offset: before }], shape, value, x.dtype), shape);
  return record("pad", [x], y, (g) => [stridedSlice(g, x.shape.map((d, i) => ({ start: before[i]!, step: 1, length: d })))]);
}

function requireIndex(op: string, indices: Tensor): void {
  if (indices.dtype !== "int32") throw new DTypeError(`${op}: indices must be int32, got ${indices.dtype}`);
}

/**
 * out[i] = x.flat[indices[i]]; out has the indices' shape. Gradient: scatterAdd into x's shape.
 * Indices are trusted here (ops that take user indices check them first).
 */
export function take(x: Tensor, indices: Tensor): Tensor {
  requireIndex("take", indices);
  sameBackend("take", x, indices);
  return recordTake(x, indices, output(x, x.backend.take(x.dataId, indices.dataId, indices.size, x.dtype), indices.shape));
}

/** Records y, already take(x, indices)'s values (a kernel that gathers as it goes), as take. */
export function recordTake(x: Tensor, indices: Tensor, y: Tensor): Tensor {
  return record("take", [x], y, (g) => [scatterAdd(g, indices, x.size, x.shape)]);
}

/** zeros(shape) with out.flat[indices[i]] += x[i]; the adjoint of take. */
export function scatterAdd(x: Tensor, indices: Tensor, size: number, shape: Shape = [size]): Tensor {
  requireIndex("scatterAdd", indices);
  const y = output(x, x.backend.scatterAdd(x.dataId, indices.dataId, indices.size, size, x.dtype), shape);
  return record("scatterAdd", [x], y, (g) => [take(reshape(g, [size]), indices)]);
}

/** torch.gather: out[i][j] = x[i][index[i][j]] for dim 1 (index has x's rank). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("gather", index);
  const axis = normalizeAxis("gather", dim, x.rank);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    throw new ShapeError(`gather: index of shape ${fmtShape(index.shape)} does not fit input ${fmtShape(x.shape)} along dim ${axis}`);
  }
  checkIndexRange("gather", index, x.shape[axis]!, "index");
  const xs = stridesOf(x.shape);
  const base = new Int32Array(index.size);
  const is = stridesOf(index.shape);
  for (let f = 0; f < index.size; f++) {
    let off = 0;
    for (let d = 0; d < index.rank; d++) if (d !== axis) off += Math.floor(f / is[d]!) % index.shape[d]! * xs[d]!;
    base[f] = off;
  }
  const flat = add(mul(index, xs[axis]!), fromValues(base, index.shape, { backend: x.backend }));
  return take(x, flat);
}

/** Rows (or slices along dim) of x picked by a 1-D int32 index, in that order. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex("indexSelect", index);
  if (index.rank !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got ${fmtShape(index.shape)}`);
  const axis = normalizeAxis("indexSelect", dim, x.rank);
  checkIndexRange("indexSelect", index, x.shape[axis]!, "index");
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const n = x.shape[axis]!;
  // flat index (o·n + index[i])·inner + j over [outer, L, inner], built with ops: no read-back
  const ints = (count: number, scale: number, shape: Shape): Tensor =>
    fromValues(Int32Array.from({ length: count }, (_, i) => i * scale), shape, { backend: x.backend });
  const rows = add(ints(outer, n * inner, [outer, 1, 1]), mul(reshape(index, [1, index.size, 1]), inner));
  const flat = add(rows, ints(inner, 1, [1, 1, inner]));
  const shape = [...x.shape];
  shape[axis] = index.size;
  return take(x, reshape(flat, shape));
}

/** One-hot rows: [N] int32 labels in [0, numClasses) to [N, numClasses]. */
export function oneHot(labels: Tensor, numClasses: number, dtype: DType = "float32"): Tensor {
  requireIndex("oneHot", labels);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new ConfigError(`oneHot: invalid numClasses ${numClasses}`);
  checkIndexRange("oneHot", labels, numClasses, "label");
  // labels[..., None] == [0, 1, ..., C−1], with ops: no read-back
  const classes = fromValues(Int32Array.from({ length: numClasses }, (_, i) => i), [numClasses], { backend: labels.backend });
  return cast(eq(reshape(labels, [...labels.shape, 1]), classes), dtype);
}

/** The same values, cut from the graph: no gradient flows back through the result. */
export function detach(x: Tensor): Tensor {
  if (!x.requiresGrad) return x;
  return sharingStorage(x, x.shape);
}

/** Converts values to another dtype (float to int truncates toward zero). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return x;
  if (dtype === "float64" && !x.backend.supportsFloat64) throw new DTypeError(`cast: the ${x.backend.name} backend has no float64`);
  const y = output(x, x.backend.cast(x.dataId, x.size, x.dtype, dtype), x.shape, dtype);
  if (!isFloat(dtype) || !isFloat(x.dtype)) return y;
  return record("cast", [x], y, (g) => [cast(g, x.dtype)]);
}
