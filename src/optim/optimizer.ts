/**
 * The stateful Optimizer: a thin shell over one GradientTransformation for the usual loop
 *
 *   loss.backward(); optimizer.step(); optimizer.zeroGrad();
 *
 * It owns the named parameters and the transformation's state. `step()` reads each Parameter's
 * `.grad` (skipping those without one), runs the pure update under noGrad, and assigns the new
 * values. A learning rate given as a number lives in the state, and `lr` reads and writes it; one
 * given as a function of the step (a schedule: `learningRateOf` in src/schedules) is the only source
 * of the rate, `lr` reads the value last used, and setting it is refused.
 *
 * `stateDict()` splits the state for checkpoints: `tensors` (safetensors), keyed
 * `<param>/<transform path>/<slot>` like `fc.weight/1.scaleByAdam/mu`, and `meta` (JSON): step
 * counts, injected scalars such as lr, the parameter names and the hyperparameters.
 * `loadStateDict` checks the parameter names (naming missing and extra ones), the structure and
 * every tensor's shape, and restores a state from which the next step is bit-identical.
 *
 * When the transformation has a fused form (fused.ts) and the parameters' backend runs it,
 * `step()` updates each parameter in one short program of tight loops instead of a dozen
 * separate ops; the result is bit-identical. The slot tensors it rewrites in place are the
 * Optimizer's own (copied once from any it did not make); `state` and `stateDict()` hand out
 * copies of them, so what a caller holds never changes under it.
 *
 * `createOptimizer(name, params, options)` builds one from a name and a JSON-like options
 * object (CLI, config files), with parameter groups selected by name.
 */
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import { noGrad } from "../autograd/mode.js";
import { add } from "../ops/elementwise.js";
import { cast } from "../ops/movement.js";
import type { Parameter } from "../nn/parameter.js";
import { sameShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";
import {
  chain, innerTransformations, listParameters, makeState, partitionByName, type GradientTransformation, type NamedParameters, type OptState, type TensorTree,
} from "./base.js";
import {
  adagrad, adam, adamW, COMMON_OPTION_NAMES, DEFAULT_LEARNING_RATES, momentumEma, rmsprop, sgd,
  type AdagradOptions, type AdamOptions, type MomentumEmaOptions, type RmspropOptions, type SgdOptions,
} from "./alias.js";
import { clipByGlobalNorm, clipByValue } from "./clip.js";
import type { LrFn } from "./transforms.js";
import { checkKeys, checkLr } from "./validate.js";
import { preview } from "../errors/values.js";

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The JSON part of a transformation's state: everything but the tensors. */
export interface StateSkeleton {
  slots: string[];
  counts: Record<string, number>;
  scalars: Record<string, number>;
  inner: Record<string, StateSkeleton>;
}

export interface OptimizerMeta {
  format: "descent-optimizer/1";
  optimizer: string;
  stepCount: number;
  lr: number | null;
  paramNames: string[];
  hyperparameters: { [key: string]: JsonValue };
  state: StateSkeleton;
}

/** A checkpointable optimizer state: tensors for safetensors, meta for JSON. */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  meta: OptimizerMeta;
}

export interface OptimizerInit {
  /** Recorded in stateDict().meta and checked on load (default "custom"). */
  name?: string;
  /** JSON-serializable hyperparameters, recorded in stateDict().meta for the record. */
  hyperparameters?: { [key: string]: JsonValue };
  /** Run the fused step where the transformation and backend allow it (default true). */
  fused?: boolean;
}

const FORMAT = "descent-optimizer/1";

export class Optimizer {
  readonly name: string;
  readonly transformation: GradientTransformation;
  readonly hyperparameters: { [key: string]: JsonValue };
  private readonly params: readonly [string, Parameter][];
  private readonly byName: ReadonlyMap<string, Parameter>;
  private _state: OptState;
  private _stepCount = 0;
  private readonly fused: boolean;
  /** Slot tensors this optimizer made, which the fused step may rewrite in place. */
  private readonly owned = new WeakSet<Tensor>();

  constructor(params: NamedParameters, transformation: GradientTransformation, init: OptimizerInit = {}) {
    this.name = init.name ?? "custom";
    this.hyperparameters = init.hyperparameters ?? {};
    this.params = listParameters(params, "Optimizer");
    this.byName = new Map(this.params);
    this.transformation = transformation;
    this.fused = init.fused ?? true;
    this._state = transformation.init(this.values());
  }

  /** The dotted names of the parameters, in order. */
  get paramNames(): string[] {
    return this.params.map(([n]) => n);
  }

  /** How many times step() has run. */
  get stepCount(): number {
    return this._stepCount;
  }

  /** A snapshot of the transformation's current state. */
  get state(): OptState {
    return mapSlots(this._state, (t) => (this.owned.has(t) ? copyTensor(t) : t));
  }

  /** The learning rate in the state (the first `scalars.lr` found: for a schedule, the value last used), or null. */
  get lr(): number | null {
    return findScalar(this._state, "lr");
  }

  /** Sets the learning rate everywhere the state holds one (every parameter group's scaleByLearningRate). */
  set lr(value: number | null) {
    const lr = checkLr(value);
    if (findScalar(this._state, "lr") === null) throw new ConfigError(`Optimizer "${this.name}": its transformation has no learning rate to set (no scaleByLearningRate)`);
    if (this.learningRates.length > 0) {
      throw new ConfigError(`Optimizer "${this.name}": its learning rate follows a schedule (a function of the step), which is its one source; change the schedule instead`);
    }
    this._state = setScalar(this._state, "lr", lr);
  }

  /**
   * Sets the learning rate by hand from the next step on (steering a live run: descent serve). A
   * schedule fed into the chain stays the rate's source and yields to the hand-set value (its
   * `handSet`); without a schedule this is `lr = value`.
   */
  setLrByHand(value: number): void {
    const lr = checkLr(value);
    const fns = this.learningRates;
    if (fns.length === 0) {
      this.lr = lr;
      return;
    }
    if (!fns.every((f) => "handSet" in f)) {
      throw new ConfigError(`Optimizer "${this.name}": its learning rate is a function of the step that cannot be set by hand (give a schedule through learningRateOf)`);
    }
    for (const f of fns) f.handSet = lr;
  }

  /** The learning-rate functions (schedules) of the chain's scaleByLearningRate transforms, one per group. */
  get learningRates(): LrFn[] {
    const found: LrFn[] = [];
    const walk = (t: GradientTransformation): void => {
      const fn = (t as { learningRate?: LrFn | null }).learningRate;
      if (t.name === "scaleByLearningRate" && typeof fn === "function") found.push(fn);
      innerTransformations(t).forEach(walk);
    };
    walk(this.transformation);
    return found;
  }

  /**
   * One update. Without arguments the gradients are the parameters' `.grad` (parameters without
   * one are skipped: their values and state stay as they are); `grads` gives them by name instead.
   */
  step(grads?: Readonly<Record<string, Tensor>>): void {
    const g = grads ?? this.collectGrads();
    this.checkGrads(g);
    if (!this.fusedStep(g)) {
      // the separate ops may keep a gradient in the state (momentum's first step): it is read out
      if (!grads) for (const [, p] of this.params) void p.grad;
      noGrad(() => {
        const [updates, state] = this.transformation.update(g, this._state, this.values());
        const next: [Parameter, Tensor][] = Object.entries(updates).map(([n, u]) => [this.byName.get(n)!, add(this.byName.get(n)!, u)]);
        for (const [p, v] of next) p.assign(v);
        this._state = state;
      });
    }
    this._stepCount++;
  }

  /** The fused step (see the file header); false when it does not apply here. */
  private fusedStep(grads: Readonly<Record<string, Tensor>>): boolean {
    const plan = this.transformation.plan;
    if (!this.fused || !plan) return false;
    const names = Object.keys(grads);
    for (const n of names) {
      const p = this.byName.get(n)!;
      if (!p.backend.applyUpdate || grads[n]!.backend !== p.backend) return false;
    }
    this._state = mapSlots(this._state, (t) => {
      if (this.owned.has(t)) return t;
      const own = slotCopy(t);
      this.owned.add(own);
      return own;
    });
    const { params, state } = plan(names, this._state, this.values());
    for (const n of names) if (params[n]!.slots.some((s) => s.backend !== this.byName.get(n)!.backend)) return false;
    for (const n of names) {
      const p = this.byName.get(n)!;
      const { stages, slots } = params[n]!;
      const id = p.backend.applyUpdate!(stages, p.dataId, grads[n]!.dataId, slots.map((s) => s.dataId), p.size, p.dtype);
      p.adopt(id);
    }
    this._state = state;
    return true;
  }

  /** Sets every parameter's grad to null. */
  zeroGrad(): void {
    for (const [, p] of this.params) p.grad = null;
  }

  stateDict(): OptimizerStateDict {
    const tensors: Record<string, Tensor> = {};
    const state = skeleton(this.state, [], tensors);
    return {
      tensors,
      meta: {
        format: FORMAT,
        optimizer: this.name,
        stepCount: this._stepCount,
        lr: this.lr,
        paramNames: this.paramNames,
        hyperparameters: structuredClone(this.hyperparameters),
        state,
      },
    };
  }

  /** Restores a stateDict() of an optimizer built the same way over the same parameter names. */
  loadStateDict(dict: OptimizerStateDict): void {
    const meta = dict.meta as Partial<OptimizerMeta> | undefined;
    if (!meta || meta.format !== FORMAT) throw new ConfigError(`loadStateDict: not an optimizer state (format ${preview(meta?.format)}, expected "${FORMAT}")`);
    if (!Array.isArray(meta.paramNames) || !meta.state || typeof meta.stepCount !== "number") throw new ConfigError("loadStateDict: the meta part is incomplete (paramNames, state, stepCount)");
    if (meta.optimizer !== this.name) throw new ConfigError(`loadStateDict: the state is from optimizer "${meta.optimizer}", this one is "${this.name}"`);
    const ours = new Set(this.paramNames);
    const theirs = new Set(meta.paramNames);
    const missing = this.paramNames.filter((n) => !theirs.has(n));
    const extra = meta.paramNames.filter((n) => !ours.has(n));
    if (missing.length > 0 || extra.length > 0) {
      const parts = [];
      if (missing.length > 0) parts.push(`missing ${missing.map((n) => `"${n}"`).join(", ")}`);
      if (extra.length > 0) parts.push(`extra ${extra.map((n) => `"${n}"`).join(", ")}`);
      throw new ConfigError(`loadStateDict: the state is for other parameters: ${parts.join("; ")}`);
    }
    const used = new Set<string>();
    const template = this.transformation.init(this.values());
    const state = restore(template, meta.state, [], dict.tensors, used);
    const unused = Object.keys(dict.tensors).filter((k) => !used.has(k));
    if (unused.length > 0) throw new ConfigError(`loadStateDict: tensors this optimizer has no place for: ${unused.slice(0, 5).join(", ")}${unused.length > 5 ? ", ..." : ""}`);
    this._state = state;
    this._stepCount = meta.stepCount;
  }

  private values(): TensorTree {
    return Object.fromEntries(this.params);
  }

  private collectGrads(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, p] of this.params) {
      const g = p.peekGrad(); // a read that keeps nothing: the fused step only reads it; the other path reads it out (step)
      if (g) out[n] = g;
    }
    return out;
  }

  private checkGrads(grads: Readonly<Record<string, Tensor>>): void {
    for (const [n, g] of Object.entries(grads)) {
      const p = this.byName.get(n);
      if (!p) throw new ConfigError(`Optimizer.step: a gradient for "${n}", which is not one of the optimizer's parameters`);
      if (!(g instanceof Tensor)) throw new ConfigError(`Optimizer.step: the gradient for "${n}" is not a tensor`);
      if (!sameShape(g.shape, p.shape)) throw new ShapeError(`Optimizer.step: the gradient for "${n}" has shape ${fmtShape(g.shape)}, the parameter has ${fmtShape(p.shape)}`);
      if (g.dtype !== p.dtype) throw new DTypeError(`Optimizer.step: the gradient for "${n}" is ${g.dtype}, the parameter is ${p.dtype}`);
    }
  }
}

/** The state with every slot tensor replaced by fn(tensor). */
function mapSlots(s: OptState, fn: (t: Tensor) => Tensor): OptState {
  return makeState({
    slots: Object.fromEntries(Object.entries(s.slots).map(([k, tree]) => [k, Object.fromEntries(Object.entries(tree).map(([n, t]) => [n, fn(t)]))])),
    counts: s.counts,
    scalars: s.scalars,
    inner: Object.fromEntries(Object.entries(s.inner).map(([k, v]) => [k, mapSlots(v, fn)])),
  });
}

/** A tensor with a copy of t's storage. */
function copyTensor(t: Tensor): Tensor {
  return new Tensor(t.backend, t.backend.strided(t.dataId, [t.size], [1], 0, t.dtype), t.shape, t.dtype);
}

/** A copy of t for a slot the fused update rewrites: where the backend's update reads it in place (Backend.updateSlot), if it has such a place. */
function slotCopy(t: Tensor): Tensor {
  const b = t.backend;
  return b.updateSlot ? new Tensor(b, b.updateSlot(t.dataId, t.size, t.dtype), t.shape, t.dtype) : copyTensor(t);
}

function findScalar(s: OptState, key: string): number | null {
  const v = s.scalars[key];
  if (v !== undefined) return v;
  for (const inner of Object.values(s.inner)) {
    const found = findScalar(inner, key);
    if (found !== null) return found;
  }
  return null;
}

function setScalar(s: OptState, key: string, value: number): OptState {
  return makeState({
    slots: s.slots,
    counts: s.counts,
    scalars: key in s.scalars ? { ...s.scalars, [key]: value } : s.scalars,
    inner: Object.fromEntries(Object.entries(s.inner).map(([k, v]) => [k, setScalar(v, key, value)])),
  });
}

const tensorKey = (param: string, path: readonly string[], slot: string): string => [param, ...path, slot].join("/");

function skeleton(s: OptState, path: string[], tensors: Record<string, Tensor>): StateSkeleton {
  for (const [slot, tree] of Object.entries(s.slots)) for (const [n, t] of Object.entries(tree)) tensors[tensorKey(n, path, slot)] = t;
  return {
    slots: Object.keys(s.slots),
    counts: { ...s.counts },
    scalars: { ...s.scalars },
    inner: Object.fromEntries(Object.entries(s.inner).map(([k, v]) => [k, skeleton(v, [...path, k], tensors)])),
  };
}

function sameKeys(a: object, b: object): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function restore(template: OptState, saved: StateSkeleton, path: string[], tensors: Readonly<Record<string, Tensor>>, used: Set<string>): OptState {
  const where = path.length > 0 ? path.join("/") : "(top)";
  const mismatch = (what: string): ConfigError =>
    new ConfigError(`loadStateDict: the state was saved by a differently configured optimizer (at ${where}: ${what})`);
  if (typeof saved !== "object" || saved === null) throw mismatch("no state");
  if (!sameKeys(template.inner, saved.inner ?? {})) throw mismatch(`inner transforms ${Object.keys(saved.inner ?? {}).join(", ")}, expected ${Object.keys(template.inner).join(", ")}`);
  if (!Array.isArray(saved.slots) || [...saved.slots].sort().join() !== Object.keys(template.slots).sort().join()) {
    throw mismatch(`slots ${preview(saved.slots)}, expected ${preview(Object.keys(template.slots))}`);
  }
  if (!sameKeys(template.counts, saved.counts ?? {})) throw mismatch("step counts for other parameters");
  for (const k of Object.keys(template.scalars)) {
    const v = saved.scalars?.[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw mismatch(`no scalar "${k}"`);
    // the scalars scaleByLearningRate keeps: its step counter and the rate last used
    if (k === "count" && !(Number.isInteger(v) && v >= 0)) throw mismatch(`a step counter ${v}`);
    if (k === "lr" && !(v >= 0)) throw mismatch(`a learning rate ${v}`);
  }
  for (const v of Object.values(saved.counts)) if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw mismatch(`a step count ${preview(v)}`);
  const slots: Record<string, Record<string, Tensor>> = {};
  for (const [slot, tree] of Object.entries(template.slots)) {
    slots[slot] = {};
    for (const [n, t] of Object.entries(tree)) {
      const key = tensorKey(n, path, slot);
      const got = tensors[key];
      if (!(got instanceof Tensor)) throw new ConfigError(`loadStateDict: no tensor "${key}" (state "${slot}" of parameter "${n}")`);
      if (!sameShape(got.shape, t.shape)) throw new ShapeError(`loadStateDict: "${key}" has shape ${fmtShape(got.shape)}, parameter "${n}" needs ${fmtShape(t.shape)}`);
      used.add(key);
      slots[slot][n] = got.dtype === t.dtype && got.backend === t.backend ? got : cast(got, t.dtype);
    }
  }
  return makeState({
    slots,
    counts: { ...saved.counts },
    scalars: { ...saved.scalars },
    inner: Object.fromEntries(Object.entries(template.inner).map(([k, v]) => [k, restore(v, saved.inner[k]!, [...path, k], tensors, used)])),
  });
}

// ---------------------------------------------------------------------------------------------
// createOptimizer: names, options, parameter groups

/** A named optimizer: what help texts and docs say of it, its own options, its default lr, its chain. */
export interface OptimizerEntry<O> {
  readonly summary: string;
  /** The options it takes besides the common ones (lr, weightDecay, clipNorm, ...). */
  readonly options: readonly string[];
  /** Its default learning rate (from DEFAULT_LEARNING_RATES). */
  readonly lr: number;
  readonly build: (options: O) => GradientTransformation;
}

const entry = <O>(e: OptimizerEntry<O>): OptimizerEntry<O> => e;
const SGD_OPTIONS = ["momentum", "dampening", "nesterov"];
const ADAM_OPTIONS = ["betas", "eps", "amsgrad", "biasCorrection"];

/**
 * The named optimizers, one entry each: createOptimizer builds from it, the config validates names
 * and default learning rates against it, the CLI help lists it. A new optimizer is one entry.
 */
export const OPTIMIZERS = {
  sgd: entry<SgdOptions>({ summary: "stochastic gradient descent", options: SGD_OPTIONS, lr: DEFAULT_LEARNING_RATES.sgd, build: (o) => sgd(o) }),
  momentum: entry<SgdOptions>({
    summary: "sgd with heavy-ball momentum 0.9", options: SGD_OPTIONS, lr: DEFAULT_LEARNING_RATES.sgd, build: (o) => sgd({ momentum: 0.9, ...o }),
  }),
  nesterov: entry<SgdOptions>({
    summary: "sgd with Nesterov momentum 0.9", options: SGD_OPTIONS, lr: DEFAULT_LEARNING_RATES.sgd,
    build: (o) => sgd({ momentum: 0.9, nesterov: true, ...o }),
  }),
  momentumEma: entry<MomentumEmaOptions>({
    summary: "momentum as an exponentially weighted average of gradients", options: ["beta", "biasCorrection"],
    lr: DEFAULT_LEARNING_RATES.momentumEma, build: (o) => momentumEma(o),
  }),
  adagrad: entry<AdagradOptions>({
    summary: "Adagrad", options: ["lrDecay", "initialAccumulatorValue", "eps"], lr: DEFAULT_LEARNING_RATES.adagrad, build: (o) => adagrad(o),
  }),
  rmsprop: entry<RmspropOptions>({
    summary: "RMSProp", options: ["alpha", "eps", "momentum", "centered"], lr: DEFAULT_LEARNING_RATES.rmsprop, build: (o) => rmsprop(o),
  }),
  adam: entry<AdamOptions>({ summary: "Adam", options: ADAM_OPTIONS, lr: DEFAULT_LEARNING_RATES.adam, build: (o) => adam(o) }),
  adamw: entry<AdamOptions>({ summary: "AdamW (decoupled weight decay)", options: ADAM_OPTIONS, lr: DEFAULT_LEARNING_RATES.adamW, build: (o) => adamW(o) }),
};

export type OptimizerName = keyof typeof OPTIMIZERS;

export type OptimizerOptionsMap = { [N in OptimizerName]: (typeof OPTIMIZERS)[N] extends OptimizerEntry<infer O> ? O : never };

export const OPTIMIZER_NAMES = Object.keys(OPTIMIZERS) as OptimizerName[];

/**
 * Which parameters a group takes: a RegExp or `{ pattern }` tested on the dotted name, a list of
 * exact names, `"biasAndNorm"` (every parameter of rank <= 1: biases and normalization
 * weights), or a predicate on (name, parameter).
 */
export type ParamSelector = RegExp | { pattern: string } | readonly string[] | "biasAndNorm" | ((name: string, param: Tensor) => boolean);

/** Biases and normalization scales/shifts: the parameters of rank <= 1. */
export function isBiasOrNorm(_name: string, param: Tensor): boolean {
  return param.rank <= 1;
}

/** A parameter group: the selected parameters get these option overrides (e.g. weightDecay: 0). */
export type ParamGroup<O> = Omit<O, "clipNorm" | "clipValue"> & {
  select: ParamSelector;
  /** The group's label in the state (default `group<i>`). */
  name?: string;
};

export type CreateOptimizerOptions<N extends OptimizerName> = OptimizerOptionsMap[N] & {
  /** Groups in order; a parameter goes to the first that selects it, else to the default group. */
  groups?: readonly ParamGroup<OptimizerOptionsMap[N]>[];
};

function selectorFn(sel: ParamSelector, where: string): (name: string, p: Tensor) => boolean {
  if (typeof sel === "function") return sel;
  if (sel === "biasAndNorm") return isBiasOrNorm;
  if (sel instanceof RegExp) return (n) => new RegExp(sel.source, sel.flags.replace("g", "")).test(n);
  if (Array.isArray(sel)) {
    const names = new Set(sel as readonly string[]);
    return (n) => names.has(n);
  }
  if (typeof sel === "object" && sel !== null && typeof (sel as { pattern?: unknown }).pattern === "string") {
    const re = new RegExp((sel as { pattern: string }).pattern);
    return (n) => re.test(n);
  }
  throw new ConfigError(`${where}: invalid select ${preview(sel)} (expected a RegExp, { pattern }, a list of names, "biasAndNorm" or a function)`);
}

function buildNamed(name: OptimizerName, options: object): GradientTransformation {
  return (OPTIMIZERS[name] as OptimizerEntry<object>).build(options);
}

function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof RegExp) return { pattern: value.source };
  if (typeof value === "function") return "<function>";
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as object).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toJson(v)]));
  }
  return null;
}

/**
 * An Optimizer by name, for the CLI and config files. "momentum" is sgd with momentum 0.9,
 * "nesterov" the same with Nesterov momentum, unless the options say otherwise. Options are
 * those of the named optimizer (sgd, momentumEma, adagrad, rmsprop, adam, adamW in alias.ts);
 * unknown keys are refused. `clipNorm`/`clipValue` clip all gradients together before the
 * groups split them. Example: no weight decay on biases and normalization parameters:
 *
 *   createOptimizer("adamw", model, { lr: 1e-3, weightDecay: 0.05, groups: [{ select: "biasAndNorm", weightDecay: 0 }] })
 */
export function createOptimizer<N extends OptimizerName>(name: N, params: NamedParameters, options?: CreateOptimizerOptions<N>): Optimizer {
  if (!OPTIMIZER_NAMES.includes(name)) throw new ConfigError(`Unknown optimizer "${String(name)}" (expected one of ${OPTIMIZER_NAMES.join(", ")})`);
  const { groups = [], clipNorm, clipValue, ...base } = (options ?? {}) as CreateOptimizerOptions<N> & { clipNorm?: number; clipValue?: number };
  const allowed = [...COMMON_OPTION_NAMES, ...OPTIMIZERS[name].options];
  checkKeys(`createOptimizer("${name}")`, base, allowed);
  const pre: GradientTransformation[] = [];
  if (clipValue !== undefined) pre.push(clipByValue(clipValue));
  if (clipNorm !== undefined) pre.push(clipByGlobalNorm(clipNorm));
  let core: GradientTransformation;
  if (groups.length === 0) {
    core = buildNamed(name, base);
  } else {
    const labels: string[] = [];
    const selectors: ((n: string, p: Tensor) => boolean)[] = [];
    const transforms: Record<string, GradientTransformation> = {};
    groups.forEach((g, i) => {
      const { select, name: label = `group${i}`, ...overrides } = g;
      const where = `createOptimizer("${name}") group ${i}`;
      if (label === "default" || labels.includes(label)) throw new ConfigError(`${where}: the group name "${label}" is ${label === "default" ? "reserved" : "used twice"}`);
      checkKeys(where, overrides, allowed.filter((k) => k !== "clipNorm" && k !== "clipValue"));
      labels.push(label);
      selectors.push(selectorFn(select, where));
      transforms[label] = buildNamed(name, { ...base, ...overrides });
    });
    transforms.default = buildNamed(name, base);
    core = partitionByName((n, p) => labels[selectors.findIndex((s) => s(n, p))] ?? "default", transforms);
  }
  const tx = pre.length > 0 ? chain(...pre, core) : core;
  return new Optimizer(params, tx, { name, hyperparameters: toJson({ ...options }) as { [key: string]: JsonValue } });
}
