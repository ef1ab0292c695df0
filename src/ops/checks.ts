/**
 * Checks of tensor values that an op needs before its result can be trusted: indices inside their
 * bound (gather, indexSelect, oneHot, class labels), probabilities inside [0, 1].
 *
 * On a backend that reads synchronously (cpu), or when the tensor's host values are known (it was
 * made from a typed array: labels of a data set's batch), a check runs at once and throws at the
 * call, naming the op and the element. Otherwise an asynchronous backend (webgpu) cannot be read
 * without waiting, so there the check is deferred, the way CUDA's device-side asserts and WebGPU's error scopes report:
 * the values are read when the backend gets to them, and the first failure is thrown by the next
 * read of any tensor on that backend (`await t.data()`, which calls `settleChecks` first). No number
 * computed from unchecked values can be seen before the error. The same scan decides in both
 * cases, so the messages are the same.
 *
 * The state is per backend (a WeakMap keyed by the backend object): the checks still in flight and
 * the first failure not yet reported. A reported failure is cleared, so a caller that catches it
 * can go on with other work on the same backend.
 */
import type { Backend } from "../backend/backend.js";
import { ShapeError } from "../errors/errors.js";
import type { TypedArray } from "../tensor/dtype.js";
import type { Tensor } from "../tensor/tensor.js";
import { knownHostValues } from "../tensor/host.js";

/** Looks at a tensor's values and returns the error to report, or null when they are fine. */
export type ValueScan = (values: TypedArray) => Error | null;

interface Deferred {
  readonly inFlight: Set<Promise<void>>;
  failure: Error | null;
}

const deferred = new WeakMap<Backend, Deferred>();

/** Runs `scan` over t's values: at once where the backend reads synchronously, else before the next read. */
export function checkValues(t: Tensor, scan: ValueScan): void {
  const backend = t.backend;
  const host = knownHostValues(t) ?? (backend.readSync ? backend.readSync(t.dataId) : undefined);
  if (host) {
    const error = scan(host);
    if (error) throw error;
    return;
  }
  let state = deferred.get(backend);
  if (!state) {
    state = { inFlight: new Set(), failure: null };
    deferred.set(backend, state);
  }
  const s = state;
  const fail = (e: Error): void => {
    s.failure ??= e;
  };
  const check: Promise<void> = backend.read(t.dataId).then(
    (values) => {
      const error = scan(values);
      if (error) fail(error);
    },
    (e: unknown) => fail(e instanceof Error ? e : new Error(String(e))),
  ).finally(() => s.inFlight.delete(check));
  s.inFlight.add(check);
}

/** Waits for the backend's deferred checks and throws the first failure not yet reported. */
export async function settleChecks(backend: Backend): Promise<void> {
  const state = deferred.get(backend);
  if (!state) return;
  while (state.inFlight.size > 0) await Promise.all([...state.inFlight]);
  const failure = state.failure;
  if (failure) {
    state.failure = null;
    throw failure;
  }
}

/**
 * Index values in [0, bound): `<op>: <what> 7 at index 1 is outside [0, 3)<suffix>`. Values equal
 * to `skip` (an ignored label) are not checked.
 */
export function checkIndexRange(op: string, indices: Tensor, bound: number, what: string, options: { skip?: number; suffix?: string } = {}): void {
  checkValues(indices, (v) => {
    for (let i = 0; i < v.length; i++) {
      const k = v[i]!;
      if (k === options.skip) continue;
      if (k < 0 || k >= bound) return new ShapeError(`${op}: ${what} ${k} at index ${i} is outside [0, ${bound})${options.suffix ?? ""}`);
    }
    return null;
  });
}
