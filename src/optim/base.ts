/**
 * The functional core of src/optim, after Optax: a gradient transformation is a pair of pure
 * functions
 *
 *   init(params) -> state
 *   update(updates, state, params) -> [updates', state']
 *
 * over trees of tensors keyed by dotted parameter names (`"features.0.weight"`). Named
 * optimizers are `chain(...)`s of small transforms (weight decay, momentum, Adam's moments,
 * clipping, the learning rate), and `applyUpdates` adds the result to the parameters. The stateful
 * `Optimizer` (optimizer.ts) is a thin shell over one transformation.
 *
 * State is one uniform shape, so any transformation can be checkpointed without knowing it:
 * per-parameter tensors by slot (`slots.mu["fc.weight"]`), per-parameter step counts, scalars
 * (hyperparameters injected into the state, like optax.inject_hyperparams: `scalars.lr` is what
 * the Optimizer's `lr` property reads and writes), and the states of inner transformations
 * (`chain`, `partitionByName`). Tensors are immutable, so states share them freely.
 *
 * `updates` may name a subset of the parameters (those that got a gradient this step); every
 * transformation leaves the state of the others untouched, as PyTorch skips parameters whose
 * grad is None. All arithmetic runs under noGrad in the dtype of the parameters.
 */
import { noGrad } from "../autograd/mode.js";
import { ConfigError } from "../errors/errors.js";
import { add } from "../ops/elementwise.js";
import type { Parameter } from "../nn/parameter.js";
import { Tensor } from "../tensor/tensor.js";
import { concatPlans, type FusedPlan, type ParamPlan } from "./fused.js";

/** A tree of tensors keyed by dotted parameter names. */
export type TensorTree = Readonly<Record<string, Tensor>>;

/** The state of a gradient transformation (see the file header). */
export interface OptState {
  /** Per-parameter tensors by slot, then by parameter name: `slots.nu["fc.weight"]`. */
  readonly slots: Readonly<Record<string, TensorTree>>;
  /** Per-parameter step counts, for transforms whose math depends on the step (bias correction). */
  readonly counts: Readonly<Record<string, number>>;
  /** Scalars: injected hyperparameters (`lr`) and global counters. JSON-serializable. */
  readonly scalars: Readonly<Record<string, number>>;
  /** States of inner transformations, by a key naming each. */
  readonly inner: Readonly<Record<string, OptState>>;
}

export interface GradientTransformation {
  /** A verb naming the transform (`scaleByAdam`); it labels state entries in checkpoints. */
  readonly name: string;
  init(params: TensorTree): OptState;
  update(updates: TensorTree, state: OptState, params: TensorTree): [TensorTree, OptState];
  /**
   * The same update as elementwise stages for the fused step (fused.ts), for the parameters
   * named; absent when the update is not elementwise (it then runs as separate ops).
   */
  readonly plan?: (names: readonly string[], state: OptState, params: TensorTree) => FusedPlan;
}

/** A state with the given parts; missing parts are empty. */
export function makeState(parts: Partial<OptState> = {}): OptState {
  return { slots: parts.slots ?? {}, counts: parts.counts ?? {}, scalars: parts.scalars ?? {}, inner: parts.inner ?? {} };
}

/**
 * Builds a transformation whose init and update run under noGrad (no graph is ever recorded);
 * `plan`, when given, is its fused form (fused.ts) and must compute exactly what update does.
 */
export function defineTransformation(
  name: string,
  init: (params: TensorTree) => OptState,
  update: (updates: TensorTree, state: OptState, params: TensorTree) => [TensorTree, OptState],
  plan?: (names: readonly string[], state: OptState, params: TensorTree) => FusedPlan,
): GradientTransformation {
  const t: GradientTransformation = {
    name,
    init: (params) => noGrad(() => init(params)),
    update: (updates, state, params) => noGrad(() => update(updates, state, params)),
  };
  return plan ? { ...t, plan } : t;
}

interface Chain extends GradientTransformation {
  readonly transforms: readonly GradientTransformation[];
}

function isChain(t: GradientTransformation): t is Chain {
  return t.name === "chain" && Array.isArray((t as Partial<Chain>).transforms);
}

/**
 * Composes transformations left to right: the updates of each feed the next. Nested chains are
 * flattened. Inner states are keyed `"<index>.<name>"`, e.g. `"1.scaleByAdam"`.
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  const flat = transforms.flatMap((t) => (isChain(t) ? [...t.transforms] : [t]));
  const keys = flat.map((t, i) => `${i}.${t.name}`);
  const innerState = (state: OptState, key: string): OptState => {
    const s = state.inner[key];
    if (!s) throw new ConfigError(`chain: the state has no entry "${key}" (state of another transformation?)`);
    return s;
  };
  const plan = flat.every((tx) => tx.plan)
    ? (names: readonly string[], state: OptState, params: TensorTree): FusedPlan => {
      const plans = flat.map((tx, i) => tx.plan!(names, innerState(state, keys[i]!), params));
      return { params: concatPlans(names, plans), state: makeState({ inner: Object.fromEntries(plans.map((p, i) => [keys[i]!, p.state])) }) };
    }
    : undefined;
  const t = defineTransformation(
    "chain",
    (params) => makeState({ inner: Object.fromEntries(flat.map((tx, i) => [keys[i]!, tx.init(params)])) }),
    (updates, state, params) => {
      const inner: Record<string, OptState> = {};
      let u = updates;
      flat.forEach((tx, i) => {
        const key = keys[i]!;
        [u, inner[key]] = tx.update(u, innerState(state, key), params);
      });
      return [u, makeState({ inner })];
    },
    plan,
  );
  return Object.assign(t, { transforms: flat });
}

/** The transformations directly inside `t`: a chain's parts, a partition's groups; none for the others. */
export function innerTransformations(t: GradientTransformation): readonly GradientTransformation[] {
  if (isChain(t)) return t.transforms;
  const groups = (t as { groups?: Readonly<Record<string, GradientTransformation>> }).groups;
  return t.name === "partitionByName" && groups ? Object.values(groups) : [];
}

/** Chooses a group label for a parameter from its dotted name (and the tensor, e.g. its rank). */
export type LabelFn = (name: string, param: Tensor) => string;

/**
 * Runs a different transformation on each group of parameters (optax.multi_transform): `label`
 * names each parameter's group, `transforms` maps every label to its transformation. This is how
 * parameter groups work: e.g. no weight decay on biases and normalization parameters.
 */
export function partitionByName(label: LabelFn, transforms: Readonly<Record<string, GradientTransformation>>): GradientTransformation {
  const labelOf = (name: string, p: Tensor): string => {
    const l = label(name, p);
    if (!(l in transforms)) {
      throw new ConfigError(`partitionByName: parameter "${name}" is labelled "${l}", which has no transformation (labels: ${Object.keys(transforms).join(", ")})`);
    }
    return l;
  };
  const split = (tree: TensorTree, params: TensorTree): Record<string, Record<string, Tensor>> => {
    const out: Record<string, Record<string, Tensor>> = Object.fromEntries(Object.keys(transforms).map((l) => [l, {}]));
    for (const [name, t] of Object.entries(tree)) {
      const p = params[name];
      if (!p) throw new ConfigError(`partitionByName: no parameter named "${name}"`);
      out[labelOf(name, p)]![name] = t;
    }
    return out;
  };
  const t = defineTransformation(
    "partitionByName",
    (params) => {
      const groups = split(params, params);
      return makeState({ inner: Object.fromEntries(Object.entries(transforms).map(([l, tx]) => [l, tx.init(groups[l]!)])) });
    },
    (updates, state, params) => {
      const groups = split(updates, params);
      const groupParams = split(params, params);
      const out: Record<string, Tensor> = {};
      const inner: Record<string, OptState> = {};
      for (const [l, tx] of Object.entries(transforms)) {
        const s = state.inner[l];
        if (!s) throw new ConfigError(`partitionByName: the state has no group "${l}"`);
        const [u, s2] = tx.update(groups[l]!, s, groupParams[l]!);
        Object.assign(out, u);
        inner[l] = s2;
      }
      return [out, makeState({ inner })];
    },
    Object.values(transforms).every((tx) => tx.plan)
      ? (names, state, params) => {
        const byLabel: Record<string, string[]> = Object.fromEntries(Object.keys(transforms).map((l) => [l, []]));
        for (const n of names) {
          const p = params[n];
          if (!p) throw new ConfigError(`partitionByName: no parameter named "${n}"`);
          byLabel[labelOf(n, p)]!.push(n);
        }
        const groupParams = split(params, params);
        const out: Record<string, ParamPlan> = {};
        const inner: Record<string, OptState> = {};
        for (const [l, tx] of Object.entries(transforms)) {
          const s = state.inner[l];
          if (!s) throw new ConfigError(`partitionByName: the state has no group "${l}"`);
          const p = tx.plan!(byLabel[l]!, s, groupParams[l]!);
          Object.assign(out, p.params);
          inner[l] = p.state;
        }
        return { params: out, state: makeState({ inner }) };
      }
      : undefined,
  );
  return Object.assign(t, { groups: transforms });
}

/** params + updates for every name in updates; the others are returned as they are. */
export function applyUpdates(params: TensorTree, updates: TensorTree): Record<string, Tensor> {
  return noGrad(() => {
    const out: Record<string, Tensor> = { ...params };
    for (const [name, u] of Object.entries(updates)) {
      const p = params[name];
      if (!p) throw new ConfigError(`applyUpdates: an update for "${name}", which is not a parameter`);
      out[name] = add(p, u);
    }
    return out;
  });
}

/** Parameters with their dotted names: a Module (namedParameters), [name, param] pairs, or a record. */
export type NamedParameters =
  | { namedParameters(): Iterable<readonly [string, Parameter]> }
  | Iterable<readonly [string, Parameter]>
  | Readonly<Record<string, Parameter>>;

/**
 * The [name, parameter] list of any NamedParameters; a parameter listed twice (shared weights)
 * is kept once, under its first name. Two parameters under one name are refused.
 */
export function listParameters(input: NamedParameters, where: string): [string, Parameter][] {
  let entries: Iterable<readonly [string, Parameter]>;
  if (typeof (input as { namedParameters?: unknown }).namedParameters === "function") {
    entries = (input as { namedParameters(): Iterable<readonly [string, Parameter]> }).namedParameters();
  } else if (Symbol.iterator in (input as object)) {
    entries = input as Iterable<readonly [string, Parameter]>;
  } else {
    entries = Object.entries(input as Readonly<Record<string, Parameter>>);
  }
  const out: [string, Parameter][] = [];
  const names = new Set<string>();
  const seen = new Set<Parameter>();
  for (const entry of entries) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !(entry[1] instanceof Tensor)) {
      throw new ConfigError(`${where}: expected [name, Parameter] pairs (e.g. model.namedParameters())`);
    }
    const [name, p] = entry as readonly [string, Parameter];
    if (names.has(name)) throw new ConfigError(`${where}: two parameters are named "${name}"`);
    if (seen.has(p)) continue;
    names.add(name);
    seen.add(p);
    out.push([name, p]);
  }
  return out;
}
