/**
 * Helpers every op file shares: turning JS numbers into tensors like their partner, making an
 * op's output tensor, and refusing operands that live on different backends.
 */
import type { DataId } from "../backend/backend.js";
import { DescentError } from "../errors/errors.js";
import type { DType } from "../tensor/dtype.js";
import type { Shape } from "../tensor/shape.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";

/** A new tensor on `like`'s backend holding a kernel's result. */
export function output(like: Tensor, dataId: DataId, shape: Shape, dtype: DType = like.dtype): Tensor {
  return new Tensor(like.backend, dataId, shape, dtype);
}

/** A number becomes a scalar tensor of `like`'s dtype and backend; a tensor passes through. */
export function asTensor(x: TensorOrScalar, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  return output(like, like.backend.fill(1, x, like.dtype), [], like.dtype);
}

export function sameBackend(op: string, ...ts: Tensor[]): void {
  const b = ts[0]!.backend;
  for (const t of ts) {
    if (t.backend !== b) throw new DescentError(`${op}: tensors live on different backends (${b.name} and ${t.backend.name})`);
  }
}
