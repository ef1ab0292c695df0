/**
 * Sliding-window geometry, computed in this one place: the conv and pool ops (windowInfo, for the
 * kernels), the layers' outputShape and the summary's convOutputSize read it.
 * Per spatial dim, with kernel f, stride s, dilation d and padTotal the zeros added on both sides:
 *
 *   out = ⌊(n + padTotal − d·(f − 1) − 1) / s⌋ + 1          (a kernel wider than n + padTotal is refused)
 *   padding p: p on each side; "valid": none; "same" (stride 1): d·(f − 1) in total, the extra unit
 *   after (bottom/right), as PyTorch does, so out = n
 *   pooling pads at most half the kernel on each side (PyTorch's rule)
 */
import { ConfigError } from "../errors/errors.js";
import { preview } from "../errors/values.js";

export type Pair = number | readonly [number, number];
export type Padding = Pair | "same" | "valid";

/** [h, w] of a Pair, each an integer >= min. */
export function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ConfigError(`${op}: invalid ${name} ${preview(v)} (expected integers >= ${min})`);
  }
  return p;
}

/** Output length of a sliding window: ⌊(n + padTotal − d·(f − 1) − 1) / s⌋ + 1. */
export function windowOutputSize(n: number, f: number, stride: number, padTotal: number, dilation = 1): number {
  return Math.floor((n + padTotal - dilation * (f - 1) - 1) / stride) + 1;
}

/** The zeros before and after, along H and along W. */
export interface Pads {
  h: [number, number];
  w: [number, number];
}

/** Resolves a padding to zeros per side ("same" needs stride 1). */
export function resolvePadding(op: string, padding: Padding, kernel: readonly [number, number], stride: readonly [number, number], dilation: readonly [number, number]): Pads {
  if (padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) throw new ConfigError(`${op}: padding "same" needs stride 1, got stride ${preview(stride)}`);
    const split = (total: number): [number, number] => [Math.floor(total / 2), total - Math.floor(total / 2)];
    return { h: split(dilation[0] * (kernel[0] - 1)), w: split(dilation[1] * (kernel[1] - 1)) };
  }
  if (padding === "valid") return { h: [0, 0], w: [0, 0] };
  const [ph, pw] = pair(op, "padding", padding, 0);
  return { h: [ph, ph], w: [pw, pw] };
}

const text = (p: readonly [number, number]): string => (p[0] === p[1] ? String(p[0]) : `${p[0]}x${p[1]}`);

/** [outH, outW] of a window over [h, w]; a kernel that does not fit the padded input is a ConfigError. */
export function windowOutputShape(
  op: string, hw: readonly [number, number], kernel: readonly [number, number], stride: readonly [number, number], pads: Pads,
  dilation: readonly [number, number],
): [number, number] {
  const padded: [number, number] = [hw[0] + pads.h[0] + pads.h[1], hw[1] + pads.w[0] + pads.w[1]];
  const out: [number, number] = [
    windowOutputSize(hw[0], kernel[0], stride[0], pads.h[0] + pads.h[1], dilation[0]),
    windowOutputSize(hw[1], kernel[1], stride[1], pads.w[0] + pads.w[1], dilation[1]),
  ];
  if (out[0] < 1 || out[1] < 1) {
    const dilated = dilation[0] > 1 || dilation[1] > 1 ? ` (dilation ${text(dilation)})` : "";
    throw new ConfigError(`${op}: kernel ${text(kernel)}${dilated} is larger than the padded input ${padded[0]}x${padded[1]} (input ${hw[0]}x${hw[1]})`);
  }
  return out;
}

/** Pooling pads at most half the kernel on each side. */
export function checkPoolPadding(op: string, padding: readonly [number, number], kernel: readonly [number, number]): void {
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
    throw new ConfigError(`${op}: invalid padding ${text(padding)} (expected at most half the kernel ${text(kernel)})`);
  }
}
