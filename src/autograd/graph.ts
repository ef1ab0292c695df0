/**
 * The recorded graph. An op that takes a tensor requiring gradients (while grad mode is on) attaches
 * a GradNode to its output: the op's name, its inputs, and its backward rule, a function from the
 * output's gradient to each input's. Backward rules are written with differentiable ops, so running
 * them with recording on (createGraph) builds the graph of the gradient itself.
 */
import type { Tensor } from "../tensor/tensor.js";
import { isGradEnabled } from "./mode.js";

/** From the gradient of an op's output to the gradient of each input (null where there is none). */
export type BackwardRule = (gradOutput: Tensor) => readonly (Tensor | null)[];

export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardRule;
  /** each input's version when the op ran: a parameter updated since then makes backward refuse */
  readonly versions: readonly number[];
}

/**
 * Activations no one outside the library holds: a Sequential's outputs between its layers (see
 * markHidden). A backward that keeps no graph (neither createGraph nor retainGraph) frees their
 * storage once it has run, as PyTorch frees a graph's saved tensors after backward, so that the
 * next step's forward takes the same arrays back from the backend's pool instead of new memory.
 */
const hidden = new WeakSet<Tensor>();
/** Hidden activations a backward has freed: their graph cannot be walked again. */
const released = new WeakSet<Tensor>();
/** Storage an op made for its own backward rule alone (max-pool's argmax), freed with its output (saveFor). */
const saved = new WeakMap<Tensor, Tensor[]>();

/**
 * Marks `t`, an activation made under recording that the caller hands to no one (it shares no
 * storage with anything the caller returns or was given), as freeable after backward.
 */
export function markHidden(t: Tensor): void {
  if (t.node) hidden.add(t);
}

/**
 * Records `internal`, a tensor the op that made `out` keeps for out's backward rule and hands to no
 * one else (max-pool's argmax indices), so that it is freed when `out` is: once a backward has
 * released out as a hidden activation, nothing can read it again.
 */
export function saveFor(out: Tensor, internal: Tensor): void {
  if (!out.node) return;
  const list = saved.get(out);
  if (list) list.push(internal);
  else saved.set(out, [internal]);
}

/** Frees the hidden activations among `tensors` (a finished backward's graph), and what their ops saved for them. */
export function releaseHidden(tensors: readonly Tensor[]): void {
  const freed = new Set<object>(); // a view (flatten) shares its input's storage: free it once
  const free = (t: Tensor) => {
    if (!freed.has(t.dataId)) t.backend.dispose(t.dataId);
    freed.add(t.dataId);
  };
  for (const t of tensors) {
    if (!hidden.has(t)) continue;
    hidden.delete(t);
    released.add(t);
    free(t);
    for (const s of saved.get(t) ?? []) free(s);
    saved.delete(t);
  }
}

/** Whether backward through `t`'s node would read an activation an earlier backward freed. */
export function readsReleased(t: Tensor): boolean {
  if (released.has(t)) return true;
  for (const i of t.node?.inputs ?? []) if (released.has(i)) return true;
  return false;
}

/**
 * Attaches the op's node to its freshly made output when grad mode is on and any input requires
 * gradients; returns the output either way. The rule may refer to `out` itself (exp, tanh,
 * sigmoid do), which is what makes their second derivatives exact.
 */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, backward: BackwardRule): Tensor {
  if (!isGradEnabled()) return out;
  let needed = false;
  for (const t of inputs) if (t.requiresGrad) needed = true;
  if (!needed) return out;
  out._attach({ op, inputs, backward, versions: inputs.map((t) => t.version) });
  return out;
}
