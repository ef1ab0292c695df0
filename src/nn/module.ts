/**
 * Module: the base of every layer and model. A module is a plain typed class that registers what
 * it owns in three ordered tables: parameters (learnable, `Parameter`), buffers (state that is
 * not learned, like batch norm's running statistics: immutable tensors that the module replaces)
 * and child modules. Everything else (namedParameters, stateDict, train/eval, resetParameters) is
 * a traversal of those tables, and every entry gets one dotted name, `features.0.weight`, which
 * is the key for checkpoints, optimizer state and diagnostics alike.
 *
 * Layers read their parameters through `param(name)` rather than a field, so that
 * `functionalCall(module, overrides, x)` can run the same forward with other tensors in place of
 * some parameters (gradient checks and Hessian work differentiate with respect to those).
 */
import { ConfigError, ShapeError, fmtShape } from "../errors/errors.js";
import { noGrad } from "../autograd/mode.js";
import { cast } from "../ops/movement.js";
import type { Generator } from "../tensor/random.js";
import { sameShape } from "../tensor/shape.js";
import { sharingStorage, Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/creation.js";
import { Parameter } from "./parameter.js";

/** What a loadStateDict skipped: the model's entries the dict lacked, the dict's entries the model lacks. */
export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

/** Kernel, stride and dilation of a conv or pool layer along [H, W]. */
export interface WindowGeometry {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
}

/** A snapshot of a tensor's value that does not follow later `assign`s (storage is immutable). */
function snapshot(t: Tensor): Tensor {
  return sharingStorage(t, t.shape);
}

export abstract class Module {
  /** Train mode (true, the default) or evaluation mode; changed by train() and eval(). */
  training = true;
  private readonly _parameters = new Map<string, Parameter | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();
  private _overrides: Map<string, Tensor> | null = null;
  private _path = "";

  /** y = module(x). */
  abstract forward(x: Tensor): Tensor;

  /** The type name shown in summaries and errors (the class name by default). */
  get typeName(): string {
    return this.constructor.name;
  }

  /** The dotted name of this module inside the model it was registered in ("" at the root). */
  get path(): string {
    return this._path;
  }

  /** How errors name this module: `Linear "classifier.2"`, or just the type at the root. */
  get label(): string {
    return this._path ? `${this.typeName} "${this._path}"` : this.typeName;
  }

  /** Registers (or replaces) a parameter; null reserves the name for an absent one (bias: false). */
  protected registerParameter<P extends Parameter | null>(name: string, p: P): P {
    checkName(this, name);
    this._parameters.set(name, p);
    return p;
  }

  /** Registers (or replaces) a buffer: state saved in stateDict but not learned. */
  protected registerBuffer(name: string, t: Tensor | null): void {
    checkName(this, name);
    this._buffers.set(name, t);
  }

  /** Registers a child module under `name`; its dotted names get the prefix `name.`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    checkName(this, name);
    this._modules.set(name, m);
    m.setPath(this._path ? `${this._path}.${name}` : name);
    return m;
  }

  private setPath(path: string): void {
    this._path = path;
    for (const [name, child] of this._modules) child.setPath(`${path}.${name}`);
  }

  /** The tensor forward uses for parameter `name`: an override from functionalCall, or the parameter. */
  protected param(name: string): Tensor | null {
    const o = this._overrides?.get(name);
    if (o) return o;
    return this._parameters.get(name) ?? null;
  }

  /** A registered parameter itself (for typed getters like `weight`). */
  protected parameter(name: string): Parameter | null {
    return this._parameters.get(name) ?? null;
  }

  /** The current value of buffer `name`. */
  protected buffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  /** Replaces a registered buffer's value (batch norm does this with new running statistics). */
  protected setBuffer(name: string, t: Tensor | null): void {
    if (!this._buffers.has(name)) throw new ConfigError(`${this.label}: no buffer "${name}"`);
    this._buffers.set(name, t);
  }

  /** Direct children, in registration order. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module ("" ) and every descendant, with dotted names, depth first in registration order. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this._modules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter with its dotted name (`0.weight`, `features.3.bias`), in a stable order. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m._parameters) if (p) out.push([prefix ? `${prefix}.${name}` : name, p]);
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer (running statistics) with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) if (b) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  /** The number of scalar parameters (all, or only those that require gradients). */
  countParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters().filter((p) => !options.trainableOnly || p.requiresGrad).reduce((n, p) => n + p.size, 0);
  }

  /** Sets train mode (default) or evaluation mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: dropout is the identity and batch norm uses its running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Forgets every parameter's accumulated gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and buffers by dotted name. The values are snapshots: a later optimizer step
   * (Parameter.assign) or a running-statistics update does not change a saved dict.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.namedParameters()) out[name] = snapshot(p);
    for (const [name, b] of this.namedBuffers()) out[name] = b;
    return out;
  }

  /**
   * Loads a stateDict: parameters get their values through Parameter.assign (so optimizers keep
   * referring to the same objects), buffers are replaced. Values of another float dtype are cast.
   * strict (default): a missing or unexpected entry is an error naming every such entry; shapes
   * must always match. Nothing is changed when an error is thrown. Returns what was skipped, as
   * PyTorch's load_state_dict does: the model's entries the dict lacks (`missing`, left as they are)
   * and the dict's entries the model has no place for (`unexpected`), both empty after a strict load.
   */
  loadStateDict(dict: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadReport {
    const strict = options.strict ?? true;
    const params = new Map(this.namedParameters());
    const buffers = new Map<string, [Module, string, Tensor]>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) if (b) buffers.set(prefix ? `${prefix}.${name}` : name, [m, name, b]);
    }
    const missing = [...params.keys(), ...buffers.keys()].filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !params.has(k) && !buffers.has(k));
    if (strict && (missing.length || unexpected.length)) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${missing.map((k) => JSON.stringify(k)).join(", ")}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.map((k) => JSON.stringify(k)).join(", ")}`);
      throw new ConfigError(`loadStateDict (${this.label}): ${parts.join("; ")}`);
    }
    const wrong: string[] = [];
    const plan: (() => void)[] = [];
    const convert = (name: string, v: Tensor, like: Tensor): Tensor | null => {
      if (!(v instanceof Tensor)) {
        wrong.push(`"${name}" is not a tensor`);
        return null;
      }
      if (!sameShape(v.shape, like.shape)) {
        wrong.push(`"${name}" has shape ${fmtShape(v.shape)}, the model expects ${fmtShape(like.shape)}`);
        return null;
      }
      if (v.dtype === like.dtype) return v;
      if (v.dtype === "int32" || like.dtype === "int32") {
        wrong.push(`"${name}" is ${v.dtype}, the model expects ${like.dtype}`);
        return null;
      }
      return noGrad(() => snapshot(cast(v, like.dtype)));
    };
    for (const [name, p] of params) {
      const v = dict[name];
      if (v === undefined) continue;
      const value = convert(name, v, p);
      if (value) plan.push(() => p.assign(value));
    }
    for (const [name, [m, local, b]] of buffers) {
      const v = dict[name];
      if (v === undefined) continue;
      const value = convert(name, v, b);
      if (value) plan.push(() => m._buffers.set(local, value));
    }
    if (wrong.length) throw new ShapeError(`loadStateDict (${this.label}): ${wrong.join("; ")}`);
    for (const step of plan) step();
    return { missing, unexpected };
  }

  /** Draws fresh parameters (and resets buffers) in this module and every descendant. */
  resetParameters(rng: Generator): void {
    for (const m of this.modules()) m.resetOwnParameters(rng);
  }

  /** Re-initializes this module's own parameters and buffers (not its children's). */
  protected resetOwnParameters(_rng: Generator): void {}

  /**
   * Output shape (without the batch dim) for an input of shape `inputShape` (without the batch
   * dim), checking that the input fits; throws a ShapeError or ConfigError naming the layer.
   * Every layer computes it from its configuration; this default, for custom modules, runs
   * forward in evaluation mode on one zero sample of the first parameter's dtype.
   */
  outputShape(inputShape: readonly number[]): number[] {
    const dtype = this.parameters()[0]?.dtype ?? "float32";
    const was = this.modules().map((m) => m.training);
    this.eval();
    try {
      return noGrad(() => this.forward(zeros([1, ...inputShape], { dtype }))).shape.slice(1);
    } finally {
      this.modules().forEach((m, i) => (m.training = was[i]!));
    }
  }

  /**
   * The sliding window this layer applies over H and W, for receptive fields (conv and pool
   * layers); null for layers that work on each position alone.
   */
  windowGeometry(_inputShape: readonly number[]): WindowGeometry | null {
    return null;
  }

  /**
   * Names of this module's own parameters that weight regularization applies to by default:
   * the weights of Linear and Conv2d; never biases or normalization parameters.
   */
  protected decayedParameterNames(): readonly string[] {
    return [];
  }

  /** Dotted names of the parameters that l1Penalty / l2Penalty / weight decay use by default. */
  defaultRegularizedNames(): string[] {
    const out: string[] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const name of m.decayedParameterNames()) if (m._parameters.get(name)) out.push(prefix ? `${prefix}.${name}` : name);
    }
    return out;
  }

  /** @internal Used by functionalCall: installs or clears this module's own overrides. */
  _setOverrides(overrides: Map<string, Tensor> | null): void {
    this._overrides = overrides;
  }

  /** @internal Own parameter names, for functionalCall's validation. */
  _ownParameterNames(): string[] {
    return [...this._parameters.keys()];
  }
}

function checkName(m: Module, name: string): void {
  if (name === "" || name.includes(".")) throw new ConfigError(`${m.label}: invalid name ${JSON.stringify(name)} (no dots, not empty)`);
}

/**
 * Runs `module.forward(x)` with some parameters replaced by other tensors (by dotted name), like
 * torch.func.functional_call. The module's own parameters are untouched, so gradients flow to the
 * given tensors instead. Buffers still update as in a normal call.
 */
export function functionalCall(module: Module, overrides: Record<string, Tensor>, x: Tensor): Tensor {
  const byModule = new Map<Module, Map<string, Tensor>>();
  const modules = new Map(module.namedModules());
  for (const [name, t] of Object.entries(overrides)) {
    const dot = name.lastIndexOf(".");
    const owner = modules.get(dot < 0 ? "" : name.slice(0, dot));
    const local = dot < 0 ? name : name.slice(dot + 1);
    if (!owner || !owner._ownParameterNames().includes(local)) {
      throw new ConfigError(`functionalCall (${module.label}): no parameter "${name}"`);
    }
    let m = byModule.get(owner);
    if (!m) byModule.set(owner, (m = new Map()));
    m.set(local, t);
  }
  try {
    for (const [m, o] of byModule) m._setOverrides(o);
    return module.forward(x);
  } finally {
    for (const m of byModule.keys()) m._setOverrides(null);
  }
}
