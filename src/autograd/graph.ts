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
