/**
 * The findings engine: from what a run recorded (steps, epochs, training records, events), its
 * errors on each part of the data, its weights and its inputs, decide which diagnosis codes apply,
 * with their evidence. Pure functions of that evidence, so they are tested without training.
 *
 * Every threshold is relative to a scale of the run itself, never an absolute number tuned to an
 * example:
 *
 * - progress: the mean loss of the last 10% of steps against the first 10% (d = relative drop);
 *   "flat" is d < 5% over the run, or < 1% over its second half; a step loss above 10 times the
 *   first step's is a spike (a descent method with a fitting step size does not climb that far);
 * - the gradient is "small" when ‖g‖·max(‖w‖, 1) / L < 1e-3: moving every parameter by its own
 *   size would change the loss by less than 0.1% to first order;
 * - update/weight ratios: the rule of thumb is about 1e-3 per step; "far above" is > 1e-1 and
 *   "far below" < 1e-4 (a factor 100 or 10; Adam at its default lr sits near 1e-2), taken over
 *   the tensors that get a gradient (frozen ones behind dead units move at no learning rate);
 * - vanishing/exploding: the relative gradient ‖g_W‖/‖W‖ of the first weight layer against the
 *   last, a factor 100 (warning) or 1000 (problem);
 * - dead ReLUs: the fraction of units of a layer dead on every probe sample, 25% (warning) and
 *   50% (problem); saturated units: the fraction of sigmoid/tanh outputs in saturation, 50%
 *   (warning) and 75% (problem), since a well-fitted tanh network saturates ~30% by itself;
 * - errors are error rates (1 − accuracy), or 1 − R² = MSE / Var(y) for regression, so that
 *   gaps are in the same units; a gap counts when it exceeds two standard errors of the
 *   difference (classification) and 2 points (warning) or 5 points (problem);
 * - unnormalized inputs: the 95th over the 5th percentile of the non-constant features' ranges
 *   (max − min, the scale the notes compare: 0..1000 against 0..1), 100 (warning) or 10^4
 *   (problem), when the run does not standardize. Pixels in [0, 1] share one range and pass.
 */
import type { TrainingRecord } from "../train/records.js";
import { finding, SEVERITY_ORDER, type Finding, type LayerRef, type Severity } from "./codes.js";

export interface StepPoint {
  step: number;
  loss: number;
  gradNorm: number;
}

export interface ErrorSet {
  train: number | null;
  trainDev?: number;
  dev: number | null;
  test?: number;
  target?: number;
}

export interface RunEvidence {
  steps: StepPoint[];
  records: TrainingRecord[];
  /** the message of a stop on a non-finite loss, if the run ended so */
  nonFinite: string | null;
  /** the layers of the model, in order, with the dotted names of their weight tensors */
  layers: { index: number; type: string; weight?: string }[];
  errors: ErrorSet;
  /** samples in each part, for the standard errors (classification only) */
  counts?: { train: number; trainDev?: number; dev: number; test?: number };
  classification: boolean;
  /** final weights by name ([rows, ...] values) for the symmetry test */
  weights?: Record<string, { shape: number[]; values: ArrayLike<number> }>;
  /** per-feature ranges (max − min) of the training inputs, when the run does not standardize */
  featureRanges?: Float64Array;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1);

function median(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Progress {
  first: number;
  last: number;
  /** relative drop over the run: (first − last) / |first| */
  drop: number;
  /** relative drop over the second half */
  recentDrop: number;
  /** std / mean of the step losses of the second half */
  spread: number;
}

/** How the loss moved: windows of 10% of the steps at the start, middle and end. */
export function lossProgress(steps: readonly StepPoint[]): Progress | null {
  const losses = steps.map((s) => s.loss).filter(Number.isFinite);
  if (losses.length < 2) return null;
  const k = Math.max(1, Math.floor(losses.length / 10));
  const first = mean(losses.slice(0, k)), last = mean(losses.slice(-k));
  const half = losses.slice(Math.floor(losses.length / 2));
  const mid = mean(half.slice(0, k));
  const m = mean(half);
  const spread = Math.sqrt(mean(half.map((v) => (v - m) ** 2))) / Math.max(Math.abs(m), Number.MIN_VALUE);
  const rel = (a: number, b: number) => (a - b) / Math.max(Math.abs(a), Number.MIN_VALUE);
  return { first, last, drop: rel(first, last), recentDrop: rel(mid, last), spread };
}

interface RecordScales {
  /** ‖g‖·max(‖w‖, 1) / L at the last records */
  relGrad: number;
  /** median update/weight ratio over the second half of the records */
  ratio: number;
}

function recordScales(records: readonly TrainingRecord[], steps: readonly StepPoint[]): RecordScales | null {
  if (records.length === 0) return null;
  const lossAt = new Map(steps.map((s) => [s.step, s.loss]));
  const late = records.slice(Math.floor(records.length / 2));
  const rel = late.slice(-3).map((r) => {
    let g = 0, w = 0;
    for (const p of Object.values(r.params)) {
      g += p.grad ** 2;
      w += p.weight ** 2;
    }
    const loss = Math.abs(lossAt.get(r.step) ?? NaN);
    return (Math.sqrt(g) * Math.max(Math.sqrt(w), 1)) / Math.max(loss, Number.MIN_VALUE);
  });
  // NOTE: the same scale as isSmallGradient (critical.ts), kept as a number so it can be reported
  // a tensor that gets no gradient (behind dead units) does not move whatever the learning rate:
  // only tensors whose relative gradient is within 1e-3 of the largest one tell about the step size
  const ratios = late.flatMap((r) => {
    const ps = Object.values(r.params).filter((p) => p.weight > 0 && p.ratio !== null && Number.isFinite(p.ratio));
    const top = Math.max(0, ...ps.map((p) => p.grad / p.weight));
    return ps.filter((p) => top > 0 && p.grad / p.weight >= 1e-3 * top).map((p) => p.ratio!);
  });
  return { relGrad: median(rel.filter(Number.isFinite)), ratio: median(ratios) };
}

const layerOf = (layers: RunEvidence["layers"], index: number): LayerRef => ({ index, type: layers.find((l) => l.index === index)?.type ?? "?" });

function gradientFindings(ev: RunEvidence): Finding[] {
  const out: Finding[] = [];
  const weighted = ev.layers.filter((l) => l.weight);
  const late = ev.records.slice(Math.floor(ev.records.length / 2));
  if (weighted.length < 2 || late.length === 0) return out;
  // ‖g_W‖/‖W‖ per weight layer, median over the second half of the records
  const speed = weighted.map((l) => {
    const v = late.map((r) => r.params[l.weight!]).filter((p) => p && p.weight > 0).map((p) => p!.grad / p!.weight);
    return { layer: l, speed: median(v) };
  });
  const firstL = speed[0]!, lastL = speed[speed.length - 1]!;
  if (Number.isFinite(firstL.speed) && Number.isFinite(lastL.speed) && lastL.speed > 0) {
    const ratio = firstL.speed / lastL.speed;
    const perLayer = Object.fromEntries(speed.map((s) => [s.layer.weight!, s.speed]));
    const smallest = speed.reduce((a, b) => (b.speed < a.speed ? b : a));
    if (ratio < 1e-2) {
      out.push(finding("vanishing-gradients", ratio < 1e-3 ? "problem" : "warning", { firstOverLast: ratio, relativeGradient: perLayer }, layerOf(ev.layers, smallest.layer.index)));
    } else if (ratio > 1e2) {
      const largest = speed.reduce((a, b) => (b.speed > a.speed ? b : a));
      out.push(finding("exploding-gradients", ratio > 1e3 ? "problem" : "warning", { firstOverLast: ratio, relativeGradient: perLayer }, layerOf(ev.layers, largest.layer.index)));
    }
  }
  return out;
}

/** Exploding over time: the gradient norm of the last steps against the first ones (every step is logged). */
function gradientGrowth(ev: RunEvidence): Finding[] {
  const g = ev.steps.map((s) => s.gradNorm).filter((v) => !Number.isNaN(v));
  if (g.length < 2) return [];
  const k = Math.max(1, Math.floor(g.length / 20));
  const g0 = median(g.slice(0, k)), g1 = Math.max(...g.slice(-k));
  if (!(g0 > 0) || !(g1 / g0 > 1e3)) return [];
  return [finding("exploding-gradients", "problem", { firstGradNorm: g0, lastGradNorm: g1, growth: g1 / g0 })];
}

function activationFindings(ev: RunEvidence): Finding[] {
  const last = [...ev.records].reverse().find((r) => Object.keys(r.activations).length > 0);
  if (!last) return [];
  const out: Finding[] = [];
  const sev = (f: number): Severity | null => (f >= 0.5 ? "problem" : f >= 0.25 ? "warning" : null);
  for (const [index, a] of Object.entries(last.activations)) {
    const layer = { index: Number(index), type: a.type };
    if (a.nonFinite) out.push(finding("non-finite", "problem", { nonFiniteOutputs: a.nonFinite, step: last.step }, layer));
    // only a plain ReLU passes no gradient at all where it is inactive
    if (a.type === "ReLU" && a.dead !== undefined) {
      const s = sev(a.dead);
      if (s) out.push(finding("dead-relu", s, { deadFraction: a.dead, inactiveFraction: a.inactive, step: last.step }, layer));
    }
    if (a.saturated !== undefined) {
      // a network that fits its data saturates part of its units on purpose (confident outputs)
      const s = a.saturated >= 0.75 ? "problem" : a.saturated >= 0.5 ? "warning" : null;
      if (s) out.push(finding("saturated-units", s, { saturatedFraction: a.saturated, step: last.step }, layer));
    }
  }
  return out;
}

function learningRateFindings(ev: RunEvidence, progress: Progress | null, scales: RecordScales | null): Finding[] {
  const out: Finding[] = [];
  const ratio = scales?.ratio;
  const finiteSteps = ev.steps.filter((s) => Number.isFinite(s.loss));
  if (ev.nonFinite) {
    const recent = finiteSteps.slice(-5).map((s) => s.loss);
    const rising = recent.length >= 2 && recent[recent.length - 1]! > recent[0]!;
    out.push(finding("non-finite", "problem", { message: ev.nonFinite }));
    // a loss that is non-finite from the first step comes from the data, not the step size
    if (finiteSteps.length > 0 && (rising || (ratio !== undefined && ratio > 1e-2))) {
      out.push(finding("lr-too-high", "problem", { lastFiniteLosses: recent, updateRatio: ratio ?? null }));
    }
    return out;
  }
  if (!progress) return out;
  const initial = finiteSteps[0]!.loss;
  const peak = Math.max(...finiteSteps.slice(1).map((s) => s.loss));
  if (initial > 0 && peak > 10 * initial) {
    out.push(finding("lr-too-high", "problem", { initialLoss: initial, peakLoss: peak, lastLoss: progress.last, updateRatio: ratio ?? null, why: "the loss spiked to more than 10 times its start" }));
  } else if (progress.last > progress.first * 1.02) {
    out.push(finding("lr-too-high", "problem", { firstLoss: progress.first, lastLoss: progress.last, updateRatio: ratio ?? null, why: "the loss rose" }));
  } else if (progress.drop < 0.05 && progress.spread > 0.5) {
    out.push(finding("lr-too-high", "problem", { firstLoss: progress.first, lastLoss: progress.last, relativeSpread: progress.spread, why: "the loss oscillates without progress" }));
  } else if (ratio !== undefined && ratio > 1e-1) {
    out.push(finding("lr-too-high", "warning", { updateRatio: ratio, why: "updates are more than 10% of the weights per step" }));
  } else if (progress.drop < 0.05 && scales && scales.relGrad >= 1e-3 && scales.ratio < 1e-4) {
    out.push(finding("lr-too-low", "problem", { firstLoss: progress.first, lastLoss: progress.last, relativeDrop: progress.drop, updateRatio: scales.ratio, relativeGradient: scales.relGrad }));
  }
  return out;
}

/** Whether training stalled: a flat loss with a small gradient, short of a good fit. */
export function isPlateau(progress: Progress | null, scales: RecordScales | null, errors: ErrorSet): boolean {
  if (!progress || !scales) return false;
  const flat = progress.drop < 0.05 || progress.recentDrop < 0.01;
  const converged = errors.train !== null && errors.train <= (errors.target ?? 0) + 0.01;
  return flat && scales.relGrad < 1e-3 && !converged && Math.abs(progress.last) > 0;
}

function standardError(e: number, n: number | undefined): number {
  return n && n > 0 ? Math.sqrt(Math.max(e * (1 - e), 0) / n) : 0;
}

function gapFindings(ev: RunEvidence): Finding[] {
  const { errors: e, counts } = ev;
  if (e.train === null || e.dev === null) return [];
  const target = e.target ?? 0;
  const ref = e.trainDev ?? e.dev;
  const nRef = e.trainDev !== undefined ? counts?.trainDev : counts?.dev;
  const gaps: { code: "high-bias" | "high-variance" | "data-mismatch" | "overfit-dev"; gap: number; se: number; evidence: Record<string, unknown> }[] = [
    { code: "high-bias", gap: e.train - target, se: standardError(e.train, counts?.train), evidence: { train: e.train, target } },
    { code: "high-variance", gap: ref - e.train, se: Math.hypot(standardError(ref, nRef), standardError(e.train, counts?.train)), evidence: { train: e.train, [e.trainDev !== undefined ? "trainDev" : "dev"]: ref } },
  ];
  if (e.trainDev !== undefined) {
    gaps.push({ code: "data-mismatch", gap: e.dev - e.trainDev, se: Math.hypot(standardError(e.dev, counts?.dev), standardError(e.trainDev, counts?.trainDev)), evidence: { trainDev: e.trainDev, dev: e.dev } });
  }
  if (e.test !== undefined) {
    gaps.push({ code: "overfit-dev", gap: e.test - e.dev, se: Math.hypot(standardError(e.test, counts?.test), standardError(e.dev, counts?.dev)), evidence: { dev: e.dev, test: e.test } });
  }
  const largest = Math.max(...gaps.map((g) => g.gap));
  return gaps
    .filter((g) => g.gap > 2 * g.se && g.gap >= 0.02)
    .sort((a, b) => b.gap - a.gap)
    .map((g) => finding(g.code, g.gap >= 0.05 ? "problem" : "warning", { gap: g.gap, ...g.evidence, largestGap: g.gap === largest, ...(g.se > 0 ? { standardError: g.se } : {}) }));
}

function symmetryFindings(ev: RunEvidence): Finding[] {
  if (!ev.weights) return [];
  const weighted = ev.layers.filter((l) => l.weight);
  const out: Finding[] = [];
  // the last weight layer's rows are the outputs, which differ by their targets
  for (const l of weighted.slice(0, -1)) {
    const w = ev.weights[l.weight!];
    if (!w || (w.shape[0] ?? 0) < 2) continue;
    const rows = w.shape[0]!, size = w.values.length / rows;
    const bias = ev.weights[l.weight!.replace(/weight$/, "bias")];
    let norm = 0, spread = 0;
    for (let i = 0; i < w.values.length; i++) norm += w.values[i]! ** 2;
    for (let r = 1; r < rows; r++) {
      for (let j = 0; j < size; j++) spread = Math.max(spread, Math.abs(w.values[r * size + j]! - w.values[j]!));
      if (bias) spread = Math.max(spread, Math.abs(bias.values[r]! - bias.values[0]!));
    }
    const scale = Math.sqrt(norm / w.values.length);
    if (spread <= 1e-6 * scale || norm === 0) {
      out.push(finding("symmetric-weights", "problem", { units: rows, maxDifference: spread, weightRms: scale }, layerOf(ev.layers, l.index)));
    }
  }
  return out;
}

function inputFindings(ev: RunEvidence): Finding[] {
  if (!ev.featureRanges) return [];
  const ranges = Array.from(ev.featureRanges).filter((s) => s > 0 && Number.isFinite(s)).sort((a, b) => a - b);
  if (ranges.length < 2) return [];
  const lo = percentile(ranges, 0.05), hi = percentile(ranges, 0.95);
  const ratio = hi / lo;
  if (ratio < 1e2) return [];
  return [finding("unnormalized-inputs", ratio >= 1e4 ? "problem" : "warning", { scaleRatio: ratio, smallestRange: ranges[0], largestRange: ranges[ranges.length - 1], features: ev.featureRanges.length })];
}

export interface Findings {
  findings: Finding[];
  /** whether the critical-point analysis should run (a plateau) */
  plateau: boolean;
}

/** Every finding the evidence supports, most severe first ("healthy" when there is none). */
export function findingsOf(ev: RunEvidence): Findings {
  const progress = lossProgress(ev.steps);
  const scales = recordScales(ev.records, ev.steps);
  const plateau = !ev.nonFinite && isPlateau(progress, scales, ev.errors);
  const all = [
    ...learningRateFindings(ev, progress, scales),
    ...gradientFindings(ev),
    ...gradientGrowth(ev),
    ...activationFindings(ev),
    ...symmetryFindings(ev),
    ...inputFindings(ev),
    ...gapFindings(ev),
  ];
  if (plateau) {
    all.push(finding("plateau", "warning", { firstLoss: progress!.first, lastLoss: progress!.last, relativeDrop: progress!.drop, relativeGradient: scales!.relGrad }));
  }
  return { findings: sortFindings(all), plateau };
}

/** Most severe first; "healthy" alone when nothing is a problem or a warning. */
export function sortFindings(all: Finding[]): Finding[] {
  const seen = new Set<string>();
  const unique = all.filter((f) => {
    const key = `${f.code}:${f.layer?.index ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return f.code !== "healthy";
  });
  const sorted = unique.map((f, i) => ({ f, i })).sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i).map(({ f }) => f);
  if (!sorted.some((f) => f.severity !== "info")) sorted.unshift(finding("healthy", "info", {}));
  return sorted;
}
