/**
 * Helpers every op file shares: turning JS numbers into tensors like their partner, making an
 * op's output tensor, and refusing operands that live on different backends. `collectOutputs`
 * lists the storage every op makes while a function runs: the autograd engine uses it to find
 * a backward rule's temporaries, which it frees (src/autograd/backward.ts).
 */
import type { DataId } from "../backend/backend.js";
import { DescentError } from "../errors/errors.js";
import type { DType } from "../tensor/dtype.js";
import type { Shape } from "../tensor/shape.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";

let collected: Tensor[] | null = null;

/** A new tensor on `like`'s backend holding a kernel's result. */
export function output(like: Tensor, dataId: DataId, shape: Shape, dtype: DType = like.dtype): Tensor {
  const t = new Tensor(like.backend, dataId, shape, dtype);
  collected?.push(t);
  return t;
}

/** fn's result, and every op output made while it ran (each holds storage of its own). */
export function collectOutputs<T>(fn: () => T): [T, Tensor[]] {
  const outer = collected;
  const mine: Tensor[] = [];
  collected = mine;
  try {
    return [fn(), mine];
  } finally {
    collected = outer;
    outer?.push(...mine);
  }
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
