/**
 * Reverse-mode differentiation over the recorded graph.
 *
 * `gradients(outputs, inputs)` is the one engine: it orders the tensors between the outputs and
 * the inputs topologically, seeds the outputs, and walks back calling each node's rule and summing
 * the contributions. With `createGraph` the rules run with recording on, so the gradients are
 * themselves differentiable: `hvp` uses that for exact Hessian-vector products.
 * `backward`, `grad` and `valueAndGrad` are conveniences over it.
 *
 * Without `createGraph` the engine frees what it made and no one else can see (`Spent`): a rule's
 * temporaries (the ReLU mask, the permuted copy before col2im) as soon as the rule returns, and
 * each gradient once every tensor that received it has passed it on. The storage goes back to
 * the backend (`dispose`; the cpu backends recycle it), so a training loop reuses the same
 * arrays step after step instead of mapping fresh memory for each. The gradients it returns, the
 * seeds and anything the caller made are never touched. Once the walk is done, the hidden
 * activations it went through (a Sequential's outputs between its layers, which no one else
 * holds: autograd/graph.ts) are freed too, as PyTorch frees a graph's saved tensors; walking that
 * graph again is then an error that says to pass `retainGraph`. With `createGraph` (or
 * `retainGraph`) nothing is freed: the recorded graph of the gradients keeps its intermediates
 * for the next derivative. So a
 * backward rule (record()) must not keep the gradient it is given, or what it makes, past its
 * return: reading such a tensor later is an error that says its storage was freed.
 */
import { GradError, fmtShape } from "../errors/errors.js";
import { isFloat } from "../tensor/dtype.js";
import { sameShape } from "../tensor/shape.js";
import { isShared, type Tensor } from "../tensor/tensor.js";
import { onesLike, zerosLike } from "../tensor/creation.js";
import { add, mul } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { collectOutputs } from "../ops/util.js";
import type { DataId } from "../backend/backend.js";
import { setGradModeFor, noGrad, isGradEnabled } from "./mode.js";
import { readsReleased, releaseHidden } from "./graph.js";

/**
 * The storage of one backward pass the engine made and may free: held once per entry of the
 * pending-gradient map that refers to it (rules may pass a gradient on unchanged, or give one
 * tensor to two inputs), freed when no entry holds it any more.
 */
class Spent {
  private readonly made = new Set<DataId>();
  private readonly holds = new Map<DataId, number>();

  /** Records what a rule or a sum made, then frees those of them no entry holds. */
  sweep(made: readonly Tensor[]): void {
    for (const t of made) this.made.add(t.dataId);
    for (const t of made) this.freeIfUnheld(t);
  }

  /** Whether t's storage was made by this backward's rules or sums and is still alive. */
  madeHere(t: Tensor): boolean {
    return this.made.has(t.dataId);
  }

  hold(t: Tensor): void {
    this.holds.set(t.dataId, (this.holds.get(t.dataId) ?? 0) + 1);
  }

  release(t: Tensor): void {
    const n = (this.holds.get(t.dataId) ?? 0) - 1;
    if (n > 0) this.holds.set(t.dataId, n);
    else {
      this.holds.delete(t.dataId);
      this.freeIfUnheld(t);
    }
  }

  private freeIfUnheld(t: Tensor): void {
    const id = t.dataId;
    if (!this.made.has(id) || this.holds.has(id)) return;
    this.made.delete(id);
    t.backend.dispose(id);
  }
}

export interface GradientsOptions {
  /** the upstream gradient of each output; required for outputs that are not scalars */
  gradOutputs?: readonly (Tensor | null | undefined)[];
  /** record the gradient computation so it can be differentiated again (default false) */
  createGraph?: boolean;
  /**
   * keep the forward graph for another backward through it (default: createGraph). Without it, a
   * backward frees the hidden activations of the Sequentials it went through once it has run.
   */
  retainGraph?: boolean | undefined;
  /** give zeros for inputs the outputs do not depend on, instead of an error */
  allowUnused?: boolean;
}

/** Tensors between outputs and any input, in topological order (producers first). */
function relevantOrder(outputs: readonly Tensor[], inputs: ReadonlySet<Tensor>): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<Tensor, boolean>(); // false = visiting, true = done and relevant-known
  const relevant = new Set<Tensor>();
  for (const root of outputs) {
    if (state.has(root)) continue;
    const stack: [Tensor, number][] = [[root, 0]];
    state.set(root, false);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      const ins = t.node?.inputs ?? [];
      if (i < ins.length) {
        top[1]++;
        const child = ins[i]!;
        if (!state.has(child) && child.requiresGrad) {
          state.set(child, false);
          stack.push([child, 0]);
        }
        continue;
      }
      stack.pop();
      state.set(t, true);
      if (inputs.has(t) || ins.some((c) => relevant.has(c))) {
        relevant.add(t);
        order.push(t);
      }
    }
  }
  return order;
}

function seed(out: Tensor, g: Tensor | null | undefined, index: number): Tensor {
  if (g) {
    if (!sameShape(g.shape, out.shape)) {
      throw new GradError(`gradients: gradOutputs[${index}] has shape ${fmtShape(g.shape)}, output ${index} has ${fmtShape(out.shape)}`);
    }
    return g;
  }
  if (out.size !== 1) {
    throw new GradError(
      `gradients: output ${index} has shape ${fmtShape(out.shape)}; backward needs a scalar, or a gradient of the output's shape`,
    );
  }
  return onesLike(out);
}

/** d(outputs)/d(inputs): for each input, the sum over outputs of gradOutput-weighted derivatives. */
export function gradients(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], options: GradientsOptions = {}): Tensor[] {
  return walk(outputs, inputs, options).grads;
}

/**
 * The engine behind `gradients`; also says which of the returned gradients it made itself (a
 * rule's output or a sum, not a seed or a caller's tensor), tracked only without createGraph.
 */
function walk(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], options: GradientsOptions): { grads: Tensor[]; made: (t: Tensor) => boolean } {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const { gradOutputs = [], createGraph = false, allowUnused = false } = options;
  const retainGraph = options.retainGraph ?? createGraph;
  outs.forEach((o, i) => {
    if (!isFloat(o.dtype)) throw new GradError(`gradients: output ${i} is ${o.dtype}; only floating tensors have gradients`);
  });
  inputs.forEach((t, i) => {
    if (!t.requiresGrad && !allowUnused) {
      throw new GradError(
        `gradients: input ${i} (shape ${fmtShape(t.shape)}) does not require gradients: make it with requiresGrad: true, or use grad(f)`,
      );
    }
  });
  const inputSet = new Set(inputs);
  const order = relevantOrder(outs, inputSet);
  const reached = new Set(order);
  const grads = new Map<Tensor, Tensor>();
  const spent = createGraph ? null : new Spent();
  return setGradModeFor(createGraph, () => {
    outs.forEach((o, i) => {
      if (!reached.has(o)) return;
      const g = seed(o, gradOutputs[i], i);
      const prev = grads.get(o);
      grads.set(o, prev ? add(prev, g) : g);
    });
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const node = t.node;
      const g = grads.get(t);
      if (!node || !g) continue;
      if (readsReleased(t)) {
        throw new GradError(
          `backward through ${node.op} a second time: an earlier backward freed the activations it needs (a Sequential's, ` +
            "as PyTorch frees saved tensors); pass { retainGraph: true } to the first backward (loss.backward({ retainGraph: true })) to keep them, " +
            "or add the losses and call backward once",
        );
      }
      node.inputs.forEach((inp, j) => {
        if (inp.version !== node.versions[j]) {
          throw new GradError(
            `backward through ${node.op}: its input ${j} (shape ${fmtShape(inp.shape)}) was updated after the forward pass; ` +
              "compute the loss again after each optimizer step",
          );
        }
      });
      const [inGrads, made] = spent ? collectOutputs(() => node.backward(g)) : [node.backward(g), []];
      node.inputs.forEach((inp, j) => {
        const gi = inGrads[j];
        if (!gi || !reached.has(inp)) return;
        if (!sameShape(gi.shape, inp.shape)) {
          throw new GradError(`backward of ${node.op}: gradient ${fmtShape(gi.shape)} for input ${j} of shape ${fmtShape(inp.shape)}`);
        }
        const prev = grads.get(inp);
        if (!prev) {
          grads.set(inp, gi);
          spent?.hold(gi);
          return;
        }
        const [total, sum] = spent ? collectOutputs(() => add(prev, gi)) : [add(prev, gi), []];
        grads.set(inp, total);
        if (!spent) return;
        spent.hold(total);
        spent.sweep(sum);
        spent.release(prev);
      });
      if (spent) {
        // t's gradient has been passed on: unless t is an input, its entry is done
        if (!inputSet.has(t)) {
          grads.delete(t);
          spent.release(g);
        }
        spent.sweep(made);
      }
    }
    if (!retainGraph) releaseHidden(order);
    const result = inputs.map((t, i) => {
      const g = grads.get(t);
      if (g) return g;
      if (reached.has(t) || allowUnused) return zerosLike(t);
      throw new GradError(
        `gradients: input ${i} (shape ${fmtShape(t.shape)}) is not part of the graph of the outputs: they were not computed from it`,
      );
    });
    return { grads: result, made: (t: Tensor) => spent?.madeHere(t) ?? false };
  });
}

/** All leaves requiring gradients that `root` was computed from. */
function leavesOf(root: Tensor): Tensor[] {
  const seen = new Set<Tensor>();
  const leaves: Tensor[] = [];
  const stack = [root];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (!t.node) {
      if (t.requiresGrad) leaves.push(t);
      continue;
    }
    for (const c of t.node.inputs) if (c.requiresGrad) stack.push(c);
  }
  return leaves;
}

/** What `backward` takes of the gradients options. */
export type BackwardOptions = Pick<GradientsOptions, "createGraph" | "retainGraph">;

/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf requiring gradients (PyTorch's
 * `loss.backward()`). A non-scalar root needs `gradient`, the upstream gradient of its shape.
 */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new GradError("backward: this tensor does not require gradients (nothing that requires gradients was used to compute it)");
  }
  const leaves = leavesOf(root);
  const { grads: gs, made } = walk([root], leaves, { gradOutputs: [gradient], createGraph: options.createGraph ?? false, retainGraph: options.retainGraph });
  // a gradient only this leaf can hold: made by the engine, given to no other leaf, sharing no storage
  const alone = (g: Tensor): boolean => made(g) && !isShared(g.dataId) && gs.indexOf(g) === gs.lastIndexOf(g);
  const accumulate = () =>
    leaves.forEach((leaf, i) => {
      const g = gs[i]!;
      const prev = leaf.peekGrad();
      if (!prev) return leaf.setGrad(g, alone(g));
      leaf.setGrad(add(prev, g), !options.createGraph);
      if (alone(g)) g.backend.dispose(g.dataId);
    });
  if (options.createGraph) accumulate();
  else noGrad(accumulate);
}

export interface GradOptions {
  /** keep the graph of the gradients (for higher derivatives); default: on when nested in another grad */
  createGraph?: boolean;
}

type TensorFn = (...args: Tensor[]) => Tensor;

/** Arguments as differentiable leaves: those already in a graph stay as they are (nesting). */
function asLeaves(args: readonly Tensor[]): [Tensor[], boolean] {
  let nested = false;
  const leaves = args.map((a) => {
    if (a.requiresGrad && isGradEnabled()) {
      nested = true;
      return a;
    }
    return a.requireGrad();
  });
  return [leaves, nested];
}

/**
 * valueAndGrad(f)(...args) = { value: f(...args), grads: [df/darg for each arg] }.
 * f must return a scalar.
 */
export function valueAndGrad(f: TensorFn, options: GradOptions = {}): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...args) => {
    const [leaves, nested] = asLeaves(args);
    const value = setGradModeFor(true, () => f(...leaves));
    if (value.size !== 1) throw new GradError(`grad: f must return a scalar, got shape ${fmtShape(value.shape)}`);
    const grads = gradients([value], leaves, { createGraph: options.createGraph ?? nested, allowUnused: true });
    return { value, grads };
  };
}

/** grad(f)(...args) = [df/darg for each arg]; f must return a scalar. */
export function grad(f: TensorFn, options: GradOptions = {}): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f, options);
  return (...args) => vg(...args).grads;
}

/**
 * Exact Hessian-vector product H·v of a scalar f at `params`: the gradient of <∇f, v>, by
 * differentiating the recorded gradient (no finite differences).
 */
export function hvp(f: TensorFn, params: readonly Tensor[], v: readonly Tensor[]): { value: Tensor; grads: Tensor[]; hvp: Tensor[] } {
  if (v.length !== params.length) throw new GradError(`hvp: ${v.length} vectors for ${params.length} parameters`);
  params.forEach((p, i) => {
    if (!sameShape(p.shape, v[i]!.shape)) throw new GradError(`hvp: vector ${i} has shape ${fmtShape(v[i]!.shape)}, parameter ${i} has ${fmtShape(p.shape)}`);
  });
  const [leaves] = asLeaves(params.map((p) => p.detach()));
  return setGradModeFor(true, () => {
    const value = f(...leaves);
    if (value.size !== 1) throw new GradError(`hvp: f must return a scalar, got shape ${fmtShape(value.shape)}`);
    const gs = gradients([value], leaves, { createGraph: true, allowUnused: true });
    let dot: Tensor | null = null;
    gs.forEach((g, i) => {
      const term = sum(mul(g, v[i]!));
      dot = dot ? add(dot, term) : term;
    });
    const hv = dot && (dot as Tensor).requiresGrad ? gradients([dot], leaves, { allowUnused: true }) : leaves.map((l) => zerosLike(l));
    return { value: value.detach(), grads: gs.map((g) => g.detach()), hvp: hv };
  });
}
