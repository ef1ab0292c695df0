/**
 * Model summary and the geometry of conv/pool layers.
 *
 * Output size of a sliding window (conv or pool) along one dim of size n, with kernel f, stride s,
 * padding p on each side and dilation d:
 *
 *   out = floor((n + 2p − d·(f − 1) − 1) / s) + 1
 *
 * Receptive field: how many input pixels (per dim) one output unit of a layer sees. With r the
 * receptive field and j the jump (distance in input pixels between neighbouring units) before a
 * layer, a window layer gives
 *
 *   r' = r + d·(f − 1)·j,   j' = j·s            (starting from r = 1, j = 1 at the input)
 *
 * and elementwise layers (activations, norms, dropout) change neither. For the W2 CNN
 * (conv3 same, pool2, conv3 same, pool2) that is 3, 4, 8, 10.
 */
import { ConfigError } from "../errors/errors.js";
import { resolvePadding, windowOutputShape } from "../ops/window.js";
import type { Module } from "./module.js";
import type { Sequential } from "./sequential.js";

/** One row of a summary. */
export interface SummaryRow {
  /** the layer's dotted name (its index in a Sequential) */
  name: string;
  /** the class name: Conv2d, ReLU, ... */
  type: string;
  /** output shape without the batch dim */
  outputShape: number[];
  /** scalar parameters of this layer */
  params: number;
  /** of which require gradients */
  trainableParams: number;
  /** receptive field [h, w] in input pixels, for conv and pool layers */
  receptiveField?: [number, number];
}

export interface ModelSummary {
  inputShape: number[];
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

/**
 * Output length of a conv or pool window along one dim: floor((n + 2p − d·(f − 1) − 1) / s) + 1.
 * Padding "same" keeps n (stride 1); "valid" is 0.
 */
export function convOutputSize(n: number, options: { kernelSize: number; stride?: number; padding?: number | "same" | "valid"; dilation?: number }): number {
  const { kernelSize: f, stride = 1, padding = 0, dilation = 1 } = options;
  for (const [k, v, min] of [["n", n, 1], ["kernelSize", f, 1], ["stride", stride, 1], ["dilation", dilation, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`convOutputSize: invalid ${k} ${v} (expected an integer >= ${min})`);
  }
  if (typeof padding === "number" && !(Number.isInteger(padding) && padding >= 0)) {
    throw new ConfigError(`convOutputSize: invalid padding ${padding} (expected an integer >= 0, "same" or "valid")`);
  }
  // one dim of the 2-D geometry (ops/window.ts)
  const pads = resolvePadding("convOutputSize", padding, [f, f], [stride, stride], [dilation, dilation]);
  return windowOutputShape("convOutputSize", [n, n], [f, f], [stride, stride], pads, [dilation, dilation])[0];
}

/** The receptive field after one window layer: r' = r + d·(f − 1)·j, j' = j·s (one dim). */
export function receptiveFieldStep(r: number, j: number, layer: { kernelSize: number; stride?: number; dilation?: number }): { r: number; j: number } {
  const { kernelSize: f, stride = 1, dilation = 1 } = layer;
  return { r: r + dilation * (f - 1) * j, j: j * stride };
}

/**
 * The receptive field [h, w] of every layer of `model` (null for layers that are not windows, and
 * for everything after the spatial layout is gone, e.g. after Flatten).
 */
export function receptiveFields(model: Sequential, inputShape: readonly number[]): ([number, number] | null)[] {
  const shapes = model.shapes(inputShape);
  let r: [number, number] = [1, 1];
  let j: [number, number] = [1, 1];
  let spatial = inputShape.length === 3;
  const out: ([number, number] | null)[] = [];
  [...model].forEach((m, i) => {
    const input = i === 0 ? inputShape : shapes[i - 1]!;
    const g = spatial ? m.windowGeometry(input) : null;
    if (g) {
      const h = receptiveFieldStep(r[0], j[0], { kernelSize: g.kernel[0], stride: g.stride[0], dilation: g.dilation[0] });
      const w = receptiveFieldStep(r[1], j[1], { kernelSize: g.kernel[1], stride: g.stride[1], dilation: g.dilation[1] });
      r = [h.r, w.r];
      j = [h.j, w.j];
      out.push([...r]);
    } else {
      out.push(null);
    }
    if (shapes[i]!.length !== 3) spatial = false;
  });
  return out;
}

function countParams(m: Module): { params: number; trainable: number } {
  let params = 0, trainable = 0;
  for (const p of m.parameters()) {
    params += p.size;
    if (p.requiresGrad) trainable += p.size;
  }
  return { params, trainable };
}

/** The summary as data: one row per layer, then the totals. */
export function summarize(model: Sequential, inputShape: readonly number[]): ModelSummary {
  const shapes = model.shapes(inputShape);
  const rf = receptiveFields(model, inputShape);
  const rows: SummaryRow[] = [...model].map((m, i) => {
    const { params, trainable } = countParams(m);
    const row: SummaryRow = { name: m.path || String(i), type: m.typeName, outputShape: shapes[i]!, params, trainableParams: trainable };
    const field = rf[i];
    if (field) row.receptiveField = field;
    return row;
  });
  const { params, trainable } = countParams(model);
  return { inputShape: [...inputShape], rows, totalParams: params, trainableParams: trainable, nonTrainableParams: params - trainable };
}

const fmtInt = (n: number): string => n.toLocaleString("en-US");
const fmtDims = (s: readonly number[]): string => `[${s.join(", ")}]`;
const fmtField = (p: readonly [number, number]): string => `${p[0]}x${p[1]}`;

/**
 * The summary as text: a table of name, type, output shape, parameter count and receptive field
 * per layer (the input first), then the totals. For example, the W2 CNN on [1, 28, 28]:
 *
 *   Layer  Type       Output shape   Params  Receptive field
 *   input             [1, 28, 28]
 *   0      Conv2d     [16, 28, 28]   160     3x3
 *   ...
 *   Total params: 20,490
 */
export function summary(model: Sequential, inputShape: readonly number[]): string {
  const s = summarize(model, inputShape);
  const header = ["Layer", "Type", "Output shape", "Params", "Receptive field"];
  const body = [
    ["input", "", fmtDims(s.inputShape), "", ""],
    ...s.rows.map((r) => [r.name, r.type, fmtDims(r.outputShape), fmtInt(r.params), r.receptiveField ? fmtField(r.receptiveField) : ""]),
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    line(header), rule, ...body.map(line), rule,
    `Total params: ${fmtInt(s.totalParams)}`,
    `Trainable params: ${fmtInt(s.trainableParams)}`,
    `Non-trainable params: ${fmtInt(s.nonTrainableParams)}`,
  ].join("\n");
}
