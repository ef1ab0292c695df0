/**
 * The fused form of an optimizer step. A transformation whose update is elementwise can also say
 * so as a plan: for each parameter, the stages of src/backend/update.ts that compute its update
 * and the slot tensors (moments, accumulators) those stages rewrite, plus the state after the
 * step (new step counts and scalars; the same slot tensors). `chain` and `partitionByName`
 * concatenate and route the plans of their parts, so a named optimizer's whole chain (clipping
 * by value, coupled or decoupled weight decay, its core, the learning rate) becomes one short
 * program per parameter that the backend runs in a few tight loops with no allocation but the
 * new parameter value (the storage of the value it replaces, back from the backend's pool:
 * nn/parameter.ts). A chain with a part that has no plan (clipByGlobalNorm needs a norm over
 * all parameters first) runs as separate ops; so does a backend without `applyUpdate`.
 *
 * Rewriting slots in place is only sound on storage nobody else holds, so the Optimizer
 * (optimizer.ts) copies any slot tensor it did not make before the first fused step that uses
 * it (with Backend.updateSlot where the backend has it: storage its update reads in place), and
 * hands out copies (`state`, `stateDict`): a snapshot never changes under its holder.
 */
import type { UpdateStage } from "../backend/update.js";
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { makeState, type OptState, type TensorTree } from "./base.js";

/** One parameter's part of a fused update. */
export interface ParamPlan {
  readonly stages: readonly UpdateStage[];
  /** The slot tensors the stages rewrite in place, in the order the stages take them. */
  readonly slots: readonly Tensor[];
}

export interface FusedPlan {
  /** By parameter name, for every parameter named in the update. */
  readonly params: Readonly<Record<string, ParamPlan>>;
  /** The transformation's state after the step (slot tensors updated in place). */
  readonly state: OptState;
}

/** The plan of a transformation without state: the same stage (or none) for every parameter. */
export function statelessPlan(where: string, names: readonly string[], state: OptState, params: TensorTree, stage: UpdateStage | null): FusedPlan {
  const out: Record<string, ParamPlan> = {};
  for (const n of names) {
    if (!params[n]) throw new ConfigError(`${where}: an update for "${n}", which is not a parameter`);
    out[n] = { stages: stage ? [stage] : [], slots: [] };
  }
  return { params: out, state };
}

/**
 * The plan of a per-parameter transformation (transforms.ts perParameter): checks the slots as
 * the update does, gives each parameter its stage for its new step count t, and advances the
 * counts of the parameters updated.
 */
export function perParameterPlan(
  where: string,
  names: readonly string[],
  state: OptState,
  params: TensorTree,
  slotOrder: readonly string[],
  stage: (t: number) => UpdateStage,
): FusedPlan {
  const counts: Record<string, number> = { ...state.counts };
  const out: Record<string, ParamPlan> = {};
  for (const name of names) {
    const slots = slotOrder.map((slot) => {
      const s = state.slots[slot]?.[name];
      if (!s) throw new ConfigError(`${where}: no "${slot}" state for parameter "${name}" (was the state initialized with other parameters?)`);
      return s;
    });
    if (!params[name]) throw new ConfigError(`${where}: an update for "${name}", which is not a parameter`);
    const t = (counts[name] ?? 0) + 1;
    if (name in state.counts) counts[name] = t;
    out[name] = { stages: [stage(t)], slots };
  }
  return { params: out, state: makeState({ slots: state.slots, counts, scalars: state.scalars, inner: state.inner }) };
}

/** The plans of consecutive transformations, one after the other for each parameter. */
export function concatPlans(names: readonly string[], plans: readonly FusedPlan[]): Record<string, ParamPlan> {
  const out: Record<string, ParamPlan> = {};
  for (const n of names) {
    const parts = plans.map((p) => p.params[n]!);
    out[n] = { stages: parts.flatMap((p) => p.stages), slots: parts.flatMap((p) => p.slots) };
  }
  return out;
}
