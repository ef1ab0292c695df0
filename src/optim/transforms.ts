/**
 * The small gradient transformations that named optimizers are chained from. Each is a verb on
 * the update (`scaleByAdam`, `traceMomentum`, `addWeightDecay`); its doc comment holds its
 * equations, with g the incoming update (a gradient, at the start of a chain), θ the parameter,
 * t the parameter's step count (1 on its first update) and u the outgoing update. Slot tensors
 * start at zero (or initialAccumulatorValue) in the parameter's dtype.
 *
 * PyTorch keeps momentum-like buffers free of the learning rate and multiplies by lr last; so do
 * these, and `scaleByLearningRate` ends every named chain. That is what lets a schedule change lr
 * between steps with PyTorch's exact semantics.
 */
import { ConfigError } from "../errors/errors.js";
import { add, div, maximum, mul, sqrt, square, sub } from "../ops/elementwise.js";
import { fullLike, zerosLike } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import type { UpdateStage } from "../backend/update.js";
import { makeState, defineTransformation, type GradientTransformation, type OptState, type TensorTree } from "./base.js";
import { perParameterPlan, statelessPlan } from "./fused.js";
import { checkBoolean, checkDecay, checkEps, checkLr, checkNonNegative, checkNumber } from "./validate.js";

type Slots = Record<string, Tensor>;

/** Initial slot tensors for every parameter, by slot name. */
function initSlots(params: TensorTree, make: Readonly<Record<string, (p: Tensor) => Tensor>>, counting: boolean): OptState {
  const slots: Record<string, Record<string, Tensor>> = {};
  for (const [slot, fn] of Object.entries(make)) slots[slot] = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, fn(p)]));
  const counts = counting ? Object.fromEntries(Object.keys(params).map((n) => [n, 0])) : {};
  return makeState({ slots, counts });
}

/**
 * Applies `fn` to each parameter named in updates with its slot tensors and its new step count
 * t (1-based); parameters not in updates keep their slots and counts.
 */
function perParameter(
  where: string,
  updates: TensorTree,
  state: OptState,
  params: TensorTree,
  fn: (g: Tensor, slots: Slots, t: number, param: Tensor) => [Tensor, Slots],
): [TensorTree, OptState] {
  const slots: Record<string, Record<string, Tensor>> = Object.fromEntries(Object.entries(state.slots).map(([k, v]) => [k, { ...v }]));
  const counts: Record<string, number> = { ...state.counts };
  const out: Record<string, Tensor> = {};
  for (const [name, g] of Object.entries(updates)) {
    const mine: Slots = {};
    for (const [slot, tree] of Object.entries(slots)) {
      const s = tree[name];
      if (!s) throw new ConfigError(`${where}: no "${slot}" state for parameter "${name}" (was the state initialized with other parameters?)`);
      mine[slot] = s;
    }
    const param = params[name];
    if (!param) throw new ConfigError(`${where}: an update for "${name}", which is not a parameter`);
    const t = (counts[name] ?? 0) + 1;
    const [u, next] = fn(g, mine, t, param);
    for (const [slot, v] of Object.entries(next)) slots[slot]![name] = v;
    if (name in state.counts) counts[name] = t;
    out[name] = u;
  }
  return [out, makeState({ slots, counts, scalars: state.scalars, inner: state.inner })];
}

const stateless = (name: string, fn: (g: Tensor, param: Tensor, pname: string) => Tensor, stage: UpdateStage | null): GradientTransformation =>
  defineTransformation(
    name,
    () => makeState(),
    (updates, state, params) => {
      const out: Record<string, Tensor> = {};
      for (const [n, g] of Object.entries(updates)) {
        const p = params[n];
        if (!p) throw new ConfigError(`${name}: an update for "${n}", which is not a parameter`);
        out[n] = fn(g, p, n);
      }
      return [out, state];
    },
    (names, state, params) => statelessPlan(name, names, state, params, stage),
  );

/** u = factor · g. */
export function scaleBy(factor: number): GradientTransformation {
  checkNumber("factor", factor, {});
  return stateless("scaleBy", (g) => mul(g, factor), { op: "scale", factor });
}

/** A learning rate as a function of the transform's own step counter (0 on the first update). */
/**
 * A learning rate as a function of the optimizer's step count. One that may be steered by hand
 * (a schedule given through learningRateOf) carries `handSet`: while it is a number, the function
 * returns it instead of the schedule's rate (Optimizer.setLrByHand).
 */
export type LrFn = ((count: number) => number) & { handSet?: number | null };

/**
 * u = −(lr · scale) · g: the descent direction scaled by the learning rate.
 *
 * Given a number, lr lives in the state (`scalars.lr`, injected like optax.inject_hyperparams), so
 * whoever holds the state may set it between steps (the Optimizer's `lr` property). Given a
 * function (a schedule, `learningRateOf` in src/schedules), lr = fn(count) with count the number of
 * updates so far: the function is the one source of the rate, and `scalars.lr` only records the
 * value last used. `scale` multiplies lr for one parameter group (e.g. a smaller rate for a
 * pretrained backbone). The transformation exposes the function as `learningRate` (null for a number).
 */
export function scaleByLearningRate(lr: number | LrFn, options: { scale?: number } = {}): GradientTransformation & { readonly learningRate: LrFn | null } {
  const fn = typeof lr === "function" ? lr : null;
  const lr0 = fn ? checkLr(fn(0)) : checkLr(lr);
  const scale = checkNonNegative("lrScale", options.scale ?? 1);
  /** The factor of this update and the state after it. */
  const advance = (state: OptState): [number, OptState] => {
    const count = state.scalars.count ?? 0;
    const now = fn ? checkLr(fn(count)) : state.scalars.lr;
    if (now === undefined) throw new ConfigError("scaleByLearningRate: the state has no lr");
    return [-(scale === 1 ? now : now * scale), makeState({ scalars: { ...state.scalars, lr: now, count: count + 1 } })];
  };
  const t = defineTransformation(
    "scaleByLearningRate",
    () => makeState({ scalars: { lr: lr0, count: 0 } }),
    (updates, state) => {
      if (Object.keys(updates).length === 0) return [updates, state];
      const [step, next] = advance(state);
      return [Object.fromEntries(Object.entries(updates).map(([n, g]) => [n, mul(g, step)])), next];
    },
    (names, state, params) => {
      if (names.length === 0) return { params: {}, state };
      const [factor, next] = advance(state);
      return { ...statelessPlan("scaleByLearningRate", names, state, params, { op: "scale", factor }), state: next };
    },
  );
  return Object.assign(t, { learningRate: fn });
}

/**
 * u = g + λ·θ: weight decay. Its place in the chain decides its kind:
 * - before the preconditioner (momentum, Adam's moments): coupled weight decay, L2
 *   regularization, the gradient of λ/2·‖θ‖² added to g (PyTorch's `weight_decay` in SGD, Adam);
 * - after it, just before scaleByLearningRate: decoupled weight decay (AdamW, Loshchilov and
 *   Hutter), θ ← θ − lr·(u + λθ), which no adaptive scaling distorts.
 */
export function addWeightDecay(weightDecay: number): GradientTransformation {
  const wd = checkNonNegative("weightDecay", weightDecay);
  return stateless("addWeightDecay", (g, p) => (wd === 0 ? g : add(g, mul(p, wd))), wd === 0 ? null : { op: "weightDecay", wd });
}

export interface TraceMomentumOptions {
  momentum: number;
  dampening?: number;
  nesterov?: boolean;
}

/**
 * Heavy-ball momentum in PyTorch's form (torch.optim.SGD), with μ = momentum, τ = dampening:
 *
 *   b_1 = g_1,   b_t = μ·b_{t−1} + (1 − τ)·g_t
 *   u = g_t + μ·b_t   (nesterov)      u = b_t   (otherwise)
 *
 * Nesterov needs μ > 0 and τ = 0, as in PyTorch.
 */
export function traceMomentum(options: TraceMomentumOptions): GradientTransformation {
  const mu = checkNumber("momentum", options.momentum, { min: 0 });
  const tau = checkNumber("dampening", options.dampening ?? 0, { min: 0, max: 1 });
  const nesterov = checkBoolean("nesterov", options.nesterov ?? false);
  if (nesterov && (mu <= 0 || tau !== 0)) {
    throw new ConfigError(`Invalid nesterov: true with momentum ${mu} and dampening ${tau} (Nesterov momentum requires momentum > 0 and dampening = 0)`);
  }
  return defineTransformation(
    "traceMomentum",
    (params) => initSlots(params, { buf: zerosLike }, true),
    (updates, state, params) =>
      perParameter("traceMomentum", updates, state, params, (g, s, t) => {
        const buf = t === 1 ? g : add(mul(s.buf!, mu), tau === 0 ? g : mul(g, 1 - tau));
        return [nesterov ? add(g, mul(buf, mu)) : buf, { buf }];
      }),
    (names, state, params) =>
      perParameterPlan("traceMomentum", names, state, params, ["buf"], (t) => ({ op: "momentum", mu, dampening: tau, nesterov, first: t === 1 })),
  );
}

export interface TraceEmaOptions {
  beta: number;
  biasCorrection?: boolean;
}

/**
 * Momentum as an exponentially weighted average of the gradients:
 *
 *   v_t = β·v_{t−1} + (1 − β)·g_t,  v_0 = 0
 *   u = v_t / (1 − β^t)   (biasCorrection)      u = v_t   (otherwise, the default)
 */
export function traceEma(options: TraceEmaOptions): GradientTransformation {
  const beta = checkDecay("beta", options.beta);
  const correct = checkBoolean("biasCorrection", options.biasCorrection ?? false);
  return defineTransformation(
    "traceEma",
    (params) => initSlots(params, { v: zerosLike }, true),
    (updates, state, params) =>
      perParameter("traceEma", updates, state, params, (g, s, t) => {
        const v = add(mul(s.v!, beta), mul(g, 1 - beta));
        return [correct ? div(v, 1 - beta ** t) : v, { v }];
      }),
    (names, state, params) =>
      perParameterPlan("traceEma", names, state, params, ["v"], (t) => ({ op: "ema", beta, correction: correct ? 1 - beta ** t : null })),
  );
}

export interface ScaleByAdagradOptions {
  eps?: number;
  initialAccumulatorValue?: number;
  lrDecay?: number;
}

/**
 * Adagrad's per-coordinate scaling (PyTorch semantics), with η-decay d = lrDecay:
 *
 *   s_t = s_{t−1} + g_t²,   s_0 = initialAccumulatorValue
 *   u = g_t / (√s_t + ε) / (1 + (t − 1)·d)
 */
export function scaleByAdagrad(options: ScaleByAdagradOptions = {}): GradientTransformation {
  const eps = checkEps(options.eps ?? 1e-10);
  const init = checkNonNegative("initialAccumulatorValue", options.initialAccumulatorValue ?? 0);
  const lrDecay = checkNonNegative("lrDecay", options.lrDecay ?? 0);
  return defineTransformation(
    "scaleByAdagrad",
    (params) => initSlots(params, { sum: (p) => fullLike(p, init) }, true),
    (updates, state, params) =>
      perParameter("scaleByAdagrad", updates, state, params, (g, s, t) => {
        const sum = add(s.sum!, square(g));
        const u = div(g, add(sqrt(sum), eps));
        return [lrDecay === 0 ? u : div(u, 1 + (t - 1) * lrDecay), { sum }];
      }),
    (names, state, params) =>
      perParameterPlan("scaleByAdagrad", names, state, params, ["sum"], (t) => ({ op: "adagrad", eps, decay: lrDecay === 0 ? null : 1 + (t - 1) * lrDecay })),
  );
}

export interface ScaleByRmsOptions {
  alpha?: number;
  eps?: number;
  centered?: boolean;
  momentum?: number;
}

/**
 * RMSProp's scaling (PyTorch semantics), with α the smoothing constant and μ = momentum:
 *
 *   s_t = α·s_{t−1} + (1 − α)·g_t²
 *   m_t = α·m_{t−1} + (1 − α)·g_t,   d = √(s_t − m_t²) + ε   (centered)
 *                                    d = √s_t + ε            (otherwise)
 *   b_t = μ·b_{t−1} + g_t / d,  u = b_t   (μ > 0)         u = g_t / d   (μ = 0)
 *
 * All buffers start at zero.
 */
export function scaleByRms(options: ScaleByRmsOptions = {}): GradientTransformation {
  const alpha = checkNumber("alpha", options.alpha ?? 0.99, { min: 0, max: 1 });
  const eps = checkEps(options.eps ?? 1e-8);
  const centered = checkBoolean("centered", options.centered ?? false);
  const mu = checkNumber("momentum", options.momentum ?? 0, { min: 0 });
  const make: Record<string, (p: Tensor) => Tensor> = { squareAvg: zerosLike };
  if (centered) make.gradAvg = zerosLike;
  if (mu > 0) make.buf = zerosLike;
  return defineTransformation(
    "scaleByRms",
    (params) => initSlots(params, make, false),
    (updates, state, params) =>
      perParameter("scaleByRms", updates, state, params, (g, s) => {
        const next: Slots = {};
        const squareAvg = add(mul(s.squareAvg!, alpha), mul(square(g), 1 - alpha));
        next.squareAvg = squareAvg;
        let avg: Tensor;
        if (centered) {
          const gradAvg = add(mul(s.gradAvg!, alpha), mul(g, 1 - alpha));
          next.gradAvg = gradAvg;
          avg = add(sqrt(sub(squareAvg, square(gradAvg))), eps);
        } else {
          avg = add(sqrt(squareAvg), eps);
        }
        if (mu > 0) {
          const buf = add(mul(s.buf!, mu), div(g, avg));
          next.buf = buf;
          return [buf, next];
        }
        return [div(g, avg), next];
      }),
    (names, state, params) =>
      perParameterPlan("scaleByRms", names, state, params, Object.keys(make), () => ({ op: "rms", alpha, eps, centered, momentum: mu })),
  );
}

export interface ScaleByAdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
  biasCorrection?: boolean;
}

/**
 * Adam's scaling (PyTorch semantics: ε outside the square root):
 *
 *   m_t = β1·m_{t−1} + (1 − β1)·g_t
 *   v_t = β2·v_{t−1} + (1 − β2)·g_t²
 *   v̂_t = max(v̂_{t−1}, v_t)   (amsgrad; otherwise v̂_t = v_t)
 *   u = (m_t / (1 − β1^t)) / (√v̂_t / √(1 − β2^t) + ε)   (biasCorrection, the default)
 *   u = m_t / (√v̂_t + ε)                                (biasCorrection: false)
 *
 * m, v (and v̂) start at zero.
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): GradientTransformation {
  const b1 = checkDecay("beta1", options.beta1 ?? 0.9);
  const b2 = checkDecay("beta2", options.beta2 ?? 0.999);
  const eps = checkEps(options.eps ?? 1e-8);
  const amsgrad = checkBoolean("amsgrad", options.amsgrad ?? false);
  const correct = checkBoolean("biasCorrection", options.biasCorrection ?? true);
  const make: Record<string, (p: Tensor) => Tensor> = { mu: zerosLike, nu: zerosLike };
  if (amsgrad) make.nuMax = zerosLike;
  return defineTransformation(
    "scaleByAdam",
    (params) => initSlots(params, make, true),
    (updates, state, params) =>
      perParameter("scaleByAdam", updates, state, params, (g, s, t) => {
        const mu = add(mul(s.mu!, b1), mul(g, 1 - b1));
        const nu = add(mul(s.nu!, b2), mul(square(g), 1 - b2));
        const next: Slots = { mu, nu };
        let v = nu;
        if (amsgrad) {
          v = maximum(s.nuMax!, nu);
          next.nuMax = v;
        }
        if (!correct) return [div(mu, add(sqrt(v), eps)), next];
        const bc1 = 1 - b1 ** t;
        const bc2Sqrt = Math.sqrt(1 - b2 ** t);
        return [div(div(mu, bc1), add(div(sqrt(v), bc2Sqrt), eps)), next];
      }),
    (names, state, params) =>
      perParameterPlan("scaleByAdam", names, state, params, Object.keys(make), (t) => ({
        op: "adam", b1, b2, eps, amsgrad, bc1: correct ? 1 - b1 ** t : null, bc2Sqrt: correct ? Math.sqrt(1 - b2 ** t) : null,
      })),
  );
}
