/**
 * Matrix products. The primitive is `mm(a, b, transA, transB)`: a batched product with either
 * operand read transposed, so no backward rule ever materializes a transpose. Its four gradient
 * cases are again mm calls (derived in the rule below). `matmul` adds NumPy batch broadcasting and
 * 1-D promotion; `linear` is x W^T + b (one op where the backend adds the bias in its product:
 * fusedLinear).
 */
import { record } from "../autograd/graph.js";
import { ShapeError, fmtShape } from "../errors/errors.js";
import { requireFloat, requireSameDType } from "../tensor/dtype.js";
import { broadcastShapes, broadcastStrides, sizeOf } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { add } from "./elementwise.js";
import { sumToShape } from "./reduce.js";
import { reshape } from "./movement.js";
import { output, sameBackend } from "./util.js";

/**
 * op(a) @ op(b) over broadcast batch dims, op = transpose of the last two dims when its flag is set.
 * Gradients (g = dL/dC, C = op(A) op(B)):
 *   C = A B:     dA = g B^T,  dB = A^T g
 *   C = A^T B:   dA = B g^T,  dB = A g
 *   C = A B^T:   dA = g B,    dB = g^T A
 *   C = A^T B^T: dA = B^T g^T, dB = g^T A^T
 */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false, name = "matmul"): Tensor {
  requireFloat(name, a.dtype);
  requireSameDType(name, a.dtype, b.dtype);
  sameBackend(name, a, b);
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`${name}: expected matrices, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    const show = (t: Tensor, tr: boolean) => fmtShape(t.shape) + (tr ? "^T" : "");
    throw new ShapeError(`${name}: ${show(a, transA)} @ ${show(b, transB)}: inner dimensions ${k} and ${k2} differ`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(name, aBatch, bBatch);
  const batch = sizeOf(batchShape);
  const aS = broadcastStrides(aBatch, batchShape);
  const bS = broadcastStrides(bBatch, batchShape);
  const aOffsets = new Int32Array(batch);
  const bOffsets = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    let rem = i, ao = 0, bo = 0;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const idx = rem % batchShape[d]!;
      rem = Math.floor(rem / batchShape[d]!);
      ao += idx * aS[d]!;
      bo += idx * bS[d]!;
    }
    aOffsets[i] = ao * ar * ac;
    bOffsets[i] = bo * br * bc;
  }
  const shape = [...batchShape, m, n];
  const info = { batch, aOffsets, bOffsets, m, k, n, transA, transB };
  const y = output(a, a.backend.matmul(a.dataId, b.dataId, info, a.dtype), shape);
  return record(name, [a, b], y, (g) => mmGrads(a, b, transA, transB, g));
}

/** The gradients of mm(a, b, transA, transB) for g (the table above), null for an input that needs none. */
function mmGrads(a: Tensor, b: Tensor, transA: boolean, transB: boolean, g: Tensor): [Tensor | null, Tensor | null] {
  let ga: Tensor | null = null;
  let gb: Tensor | null = null;
  if (a.requiresGrad) ga = transA ? mm(b, g, transB, true) : mm(g, b, false, !transB);
  if (b.requiresGrad) gb = transB ? mm(g, a, true, transA) : mm(a, g, !transA, false);
  return [ga && sumToShape(ga, a.shape), gb && sumToShape(gb, b.shape)];
}

/** Matrix product with NumPy semantics: batch dims broadcast; a 1-D operand is a row / column. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new ShapeError(`matmul: scalars have no matrix product (${fmtShape(a.shape)} @ ${fmtShape(b.shape)})`);
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  if (a.rank === 1 && b.rank === 1 && a.shape[0] !== b.shape[0]) {
    throw new ShapeError(`matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: inner dimensions ${a.shape[0]} and ${b.shape[0]} differ`);
  }
  let y = mm(a2, b2);
  if (a.rank === 1) y = reshape(y, [...y.shape.slice(0, -2), y.shape[y.rank - 1]!]);
  if (b.rank === 1) y = reshape(y, y.shape.slice(0, -1));
  return y;
}

/** y = x W^T + b, x [..., in], W [out, in], b [out] (PyTorch's F.linear). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.rank !== 2) throw new ShapeError(`linear: weight must be [out, in], got ${fmtShape(weight.shape)}`);
  const inF = weight.shape[1]!;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} has ${x.shape[x.rank - 1] ?? 0} features, weight ${fmtShape(weight.shape)} expects ${inF}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError(`linear: bias ${fmtShape(bias.shape)} does not match weight ${fmtShape(weight.shape)} (expected [${weight.shape[0]}])`);
  }
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inF]);
  let y = bias ? fusedLinear(x2, weight, bias) : null;
  if (!y) {
    y = mm(x2, weight, false, true, "linear");
    if (bias) y = add(y, bias);
  }
  return x.rank === 2 ? y : reshape(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
}

/**
 * x2 Wᵀ + b as one op on a backend with Backend.matmulBias (no array holds the product before the
 * bias), or null where there is none or it declines. The values are mm then add's bits, and the
 * gradients are their rules' (mm's, and the broadcast add's sumToShape for the bias), in
 * differentiable ops, so createGraph works through it as through the two ops.
 */
function fusedLinear(x2: Tensor, weight: Tensor, bias: Tensor): Tensor | null {
  if (!x2.backend.matmulBias || x2.dtype !== weight.dtype || x2.dtype !== bias.dtype || x2.backend !== weight.backend || x2.backend !== bias.backend) return null;
  requireFloat("linear", x2.dtype);
  const [m, k] = x2.shape as [number, number];
  const n = weight.shape[0]!;
  const info = { batch: 1, aOffsets: ZERO_OFFSET, bOffsets: ZERO_OFFSET, m, k, n, transA: false, transB: true };
  const id = x2.backend.matmulBias(x2.dataId, weight.dataId, bias.dataId, info, x2.dtype);
  if (!id) return null;
  const y = output(x2, id, [m, n]);
  return record("linear", [x2, weight, bias], y, (g) => [...mmGrads(x2, weight, false, true, g), bias.requiresGrad ? sumToShape(g, bias.shape) : null]);
}

const ZERO_OFFSET = new Int32Array(1);
