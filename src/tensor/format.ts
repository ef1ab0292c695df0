/**
 * Prints tensors the way PyTorch does: `tensor([[1.0000, 2.5000], [...]])`, integers shown as `1.`
 * when every float is whole, scientific notation when the magnitudes span more than 1000x (or
 * exceed 1e8, or go below 1e-4), columns right-aligned, rows wrapped at 80 characters, and "..."
 * beyond 1000 elements.
 */
import type { DType, TypedArray } from "./dtype.js";
import { sizeOf } from "./shape.js";

const SUMMARIZE_OVER = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

function sci(v: number, digits: number): string {
  const s = v.toExponential(digits);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

function makeFormatter(values: number[], dtype: DType): (v: number) => string {
  if (dtype === "int32") return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const special = (v: number): string | null => (Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : null);
  const nonzero = finite.map(Math.abs).filter((v) => v !== 0);
  const intMode = finite.every((v) => Number.isInteger(v));
  const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  let fmt: (v: number) => string;
  if (intMode) {
    const useSci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8);
    fmt = useSci ? (v) => sci(v, 4) : (v) => `${v.toFixed(0)}.`;
  } else {
    const useSci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4);
    fmt = useSci ? (v) => sci(v, 4) : (v) => v.toFixed(4);
  }
  return (v) => special(v) ?? (Object.is(v, -0) ? fmt(0).replace(/^/, "-") : fmt(v));
}

export function formatTensor(values: TypedArray, shape: readonly number[], dtype: DType, requiresGrad: boolean): string {
  const size = sizeOf(shape);
  const summarize = size > SUMMARIZE_OVER;
  const suffix: string[] = [];
  if (size === 0 && shape.length !== 1) suffix.push(`size=[${shape.join(", ")}]`);
  if (dtype !== "float32") suffix.push(`dtype=${dtype}`);
  if (requiresGrad) suffix.push("requiresGrad=true");
  const tail = suffix.length ? `, ${suffix.join(", ")}` : "";
  if (size === 0) return `tensor([]${tail})`;

  // the indices shown along each dim (all, or the edges when summarizing)
  const shown = (n: number): (number | null)[] =>
    summarize && n > 2 * EDGE
      ? [...Array.from({ length: EDGE }, (_, i) => i), null, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
      : Array.from({ length: n }, (_, i) => i);
  const strides = shape.map((_, d) => sizeOf(shape.slice(d + 1)));
  const visible: number[] = [];
  const collect = (dim: number, off: number): void => {
    if (dim === shape.length) {
      visible.push(values[off]!);
      return;
    }
    for (const i of shown(shape[dim]!)) if (i !== null) collect(dim + 1, off + i * strides[dim]!);
  };
  collect(0, 0);
  const fmt = makeFormatter(visible, dtype);
  // NOTE: as in PyTorch's _Formatter, float columns are as wide as the widest nonzero finite value;
  // zeros, inf and nan do not widen them.
  const sized = dtype === "int32" ? visible : visible.filter((v) => Number.isFinite(v) && v !== 0);
  const width = Math.max(1, ...sized.map((v) => fmt(v).length));
  const cell = (v: number) => fmt(v).padStart(width);

  const render = (dim: number, off: number, indent: number): string => {
    if (dim === shape.length) return cell(values[off]!);
    const last = dim === shape.length - 1;
    const parts = shown(shape[dim]!).map((i) => (i === null ? (last ? " ..." : "...") : render(dim + 1, off + i * strides[dim]!, indent + 1)));
    if (last) {
      // NOTE: rows wrap at LINE_WIDTH as PyTorch's _vector_str does: each cell takes width + 2 (", ").
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < parts.length; i += perLine) lines.push(parts.slice(i, i + perLine).join(", "));
      return `[${lines.join(`,\n${" ".repeat(indent + 1)}`)}]`;
    }
    const sep = `,${"\n".repeat(shape.length - dim - 1)}${" ".repeat(indent + 1)}`;
    return `[${parts.join(sep)}]`;
  };
  return `tensor(${render(0, 0, 7)}${tail})`;
}
