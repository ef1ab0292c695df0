/**
 * 2-D convolution (cross-correlation, as in PyTorch) over NCHW input with weight
 * [out, in/groups, kh, kw]: im2col turns each receptive field into a column, and one batched
 * matrix product per group does the rest. im2col and col2im are each other's adjoints, so the
 * gradients (and their gradients) need no convolution-specific rules. A backend with a fused
 * convolution (the wasm backend) runs the same steps as one op (fusedConv2d).
 */
import type { WindowInfo } from "../backend/backend.js";
import { record } from "../autograd/graph.js";
import { isGradEnabled } from "../autograd/mode.js";
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { requireFloat, requireSameDType } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { add } from "./elementwise.js";
import { mm } from "./linalg.js";
import { permute, reshape } from "./movement.js";
import { sumToShape } from "./reduce.js";
import { output } from "./util.js";
import { pair, resolvePadding, windowOutputShape, type Padding, type Pair } from "./window.js";


export interface Conv2dOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
}

/** Resolves the window geometry for NCHW `shape` (the rules are in window.ts). */
export function windowInfo(
  op: string, shape: readonly number[], kernel: [number, number], stride: [number, number],
  padding: Padding, dilation: [number, number],
): WindowInfo {
  if (shape.length !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got ${fmtShape(shape)}`);
  const [n, c, h, w] = shape as [number, number, number, number];
  const pads = resolvePadding(op, padding, kernel, stride, dilation);
  const [outH, outW] = windowOutputShape(op, [h, w], kernel, stride, pads, dilation);
  const padH = pads.h;
  const padW = pads.w;
  return {
    n, c, h, w, kh: kernel[0], kw: kernel[1], strideH: stride[0], strideW: stride[1],
    padTop: padH[0], padLeft: padW[0], dilationH: dilation[0], dilationW: dilation[1], outH, outW,
  };
}

/** [N, C, H, W] -> [N, C·kh·kw, outH·outW] (or [C·kh·kw, N, outH·outW] with layout "knl"); gradient col2im. */
export function im2col(x: Tensor, info: WindowInfo): Tensor {
  const k = info.c * info.kh * info.kw;
  const l = info.outH * info.outW;
  const shape = info.layout === "knl" ? [k, info.n, l] : [info.n, k, l];
  const y = output(x, x.backend.im2col(x.dataId, info, x.dtype), shape);
  return record("im2col", [x], y, (g) => [col2im(g, info)]);
}

/** The adjoint of im2col; gradient im2col. */
export function col2im(cols: Tensor, info: WindowInfo): Tensor {
  const y = output(cols, cols.backend.col2im(cols.dataId, info, cols.dtype), [info.n, info.c, info.h, info.w]);
  return record("col2im", [cols], y, (g) => [im2col(g, info)]);
}

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = "conv2d";
  requireFloat(op, x.dtype);
  requireSameDType(op, x.dtype, weight.dtype);
  const groups = options.groups ?? 1;
  if (weight.rank !== 4) throw new ShapeError(`${op}: weight must be [out, in/groups, kh, kw], got ${fmtShape(weight.shape)}`);
  const [outC, inPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  if (x.rank !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got ${fmtShape(x.shape)}`);
  const inC = x.shape[1]!;
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new ConfigError(`${op}: groups ${groups} must divide input channels ${inC} and output channels ${outC}`);
  }
  if (inC / groups !== inPerGroup) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} has ${inC} channels, weight ${fmtShape(weight.shape)} expects ${inPerGroup * groups}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outC)) {
    throw new ShapeError(`${op}: bias ${fmtShape(bias.shape)} does not match ${outC} output channels`);
  }
  const info = windowInfo(
    op, x.shape, [kh, kw], pair(op, "stride", options.stride ?? 1, 1), options.padding ?? 0,
    pair(op, "dilation", options.dilation ?? 1, 1),
  );
  // a bias of another dtype is left to add, whose error names it
  const fusedBias = bias && bias.dtype === x.dtype ? bias : null;
  const fused = groups === 1 ? fusedConv2d(x, weight, fusedBias, info, outC) : null;
  if (fused) return bias && !fusedBias ? add(fused, reshape(bias, [1, outC, 1, 1])) : fused;
  const L = info.outH * info.outW;
  const K = inPerGroup * kh * kw;
  // NOTE: the columns of the whole batch side by side ([K, N·L]) make one large product per group
  // instead of N small ones; the result [out, N, L] is then permuted to [N, out, L].
  const cols = im2col(x, { ...info, layout: "knl" });
  const y = groups === 1
    ? mm(reshape(weight, [outC, K]), reshape(cols, [K, info.n * L]), false, false, op)
    : mm(reshape(weight, [groups, outC / groups, K]), reshape(cols, [groups, K, info.n * L]), false, false, op);
  const nFirst = permute(reshape(y, [outC, info.n, L]), [1, 0, 2]);
  const out = reshape(nFirst, [info.n, outC, info.outH, info.outW]);
  return bias ? add(out, reshape(bias, [1, outC, 1, 1])) : out;
}

/**
 * conv2d (groups 1) as one op, its bias added in the same kernel, on a backend with a fused kernel
 * (Backend.conv2d: the columns never leave the matrix product's memory, the graph keeps x and the
 * weight instead of the columns, and no separate array holds the sum before the bias); null
 * where the backend has none or declines the case. Its values are the composed path's bit for
 * bit, and so are its gradients: the backend's fused backward, or, when the rule runs with
 * recording on (createGraph, for second derivatives), the composed path's own formulas in
 * differentiable ops; the bias's is the broadcast add's own reduction (sumToShape).
 */
function fusedConv2d(x: Tensor, weight: Tensor, bias: Tensor | null, info: WindowInfo, outC: number): Tensor | null {
  const id = x.backend.conv2d?.(x.dataId, weight.dataId, bias?.dataId ?? null, info, outC, x.dtype);
  if (!id) return null;
  const y = output(x, id, [info.n, outC, info.outH, info.outW]);
  if (!bias) return record("conv2d", [x, weight], y, (g) => conv2dGrads(x, weight, info, outC, g));
  return record("conv2d", [x, weight, bias], y, (g) => [
    ...conv2dGrads(x, weight, info, outC, g),
    bias.requiresGrad ? reshape(sumToShape(g, [1, outC, 1, 1]), [outC]) : null,
  ]);
}

function conv2dGrads(x: Tensor, weight: Tensor, info: WindowInfo, outC: number, g: Tensor): [Tensor | null, Tensor | null] {
  const needX = x.requiresGrad, needW = weight.requiresGrad;
  if (!isGradEnabled()) {
    const r = x.backend.conv2dBackward?.(x.dataId, weight.dataId, g.dataId, info, outC, needX, needW, x.dtype);
    if (r) return [r.dx && output(x, r.dx, x.shape), r.dweight && output(weight, r.dweight, weight.shape)];
  }
  const L = info.outH * info.outW;
  const K = weight.size / outC;
  const knl = { ...info, layout: "knl" } as const;
  const gy = reshape(permute(reshape(g, [info.n, outC, L]), [1, 0, 2]), [outC, info.n * L]);
  const gw = needW ? reshape(mm(gy, reshape(im2col(x, knl), [K, info.n * L]), false, true), weight.shape) : null;
  const gx = needX ? col2im(reshape(mm(reshape(weight, [outC, K]), gy, true, false), [K, info.n, L]), knl) : null;
  return [gx, gw];
}
