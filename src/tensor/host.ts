/**
 * The host values of tensors, for the few places that need a tensor's values synchronously and can
 * have them without a read-back: data sets (batching copies rows on the host) and the tensors
 * decoded from a file (checked for non-finite weights).
 *
 * Tensors are immutable, so the host array a tensor was made from never goes stale: it is
 * remembered in a WeakMap keyed by the tensor (kept as long as the tensor, no longer). A tensor
 * made from a typed array on a backend that cannot read synchronously (webgpu) remembers its array
 * when it is made; on one that can (cpu, wasm), the values are read once when first asked for and
 * remembered. Only a tensor computed on an asynchronous backend has no host values; asking for them
 * is an error that says what to do.
 */
import { DTypeError } from "../errors/errors.js";
import type { TypedArray } from "./dtype.js";
import type { Tensor } from "./tensor.js";

const known = new WeakMap<Tensor, TypedArray>();

/** Remembers `values` as t's host values (the caller hands them over: nobody may write to them). */
export function rememberHostValues(t: Tensor, values: TypedArray): void {
  known.set(t, values);
}

/** t's host values when they are known without a read (remembered), else undefined. */
export function knownHostValues(t: Tensor): TypedArray | undefined {
  return known.get(t);
}

/**
 * t's values as a host array, shared (callers must not write to it): remembered, or read
 * synchronously once. `what` names the tensor in the error for a tensor computed on an
 * asynchronous backend.
 */
export function hostValuesOf(t: Tensor, what: string): TypedArray {
  let v = known.get(t);
  if (v === undefined) {
    if (!t.backend.readSync) {
      throw new DTypeError(
        `${what}: this tensor was computed on the ${t.backend.name} backend, which reads asynchronously, so its values are not on the host; ` +
          `make it from a typed array (fromValues, tensor) or compute it on the cpu backend`,
      );
    }
    v = t.dataSync();
    known.set(t, v);
  }
  return v;
}
