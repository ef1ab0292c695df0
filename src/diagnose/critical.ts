/**
 * The critical point at a checkpoint: the loss on a fixed batch, its gradient and the extreme
 * eigenvalues of its Hessian (Lanczos over exact Hessian-vector products), classified with
 * tolerances relative to the spectrum's scale s = max(|λmin|, |λmax|):
 *
 * - the point is critical when the gradient is small: ‖g‖·max(‖w‖, 1) / L < 1e-3, moving every
 *   parameter by its own size would change the loss L by less than 0.1% to first order (the
 *   same test the findings use for a plateau: isSmallGradient);
 * - an eigenvalue counts as negative below −1e-3·s and positive above 1e-3·s (curvature weaker
 *   than 0.1% of the strongest is flat for training purposes);
 * - saddle: both signs; minimum: λmin positive; maximum: λmax negative; degenerate: a minimum or
 *   maximum with flat directions; flat: s = 0.
 *
 * At a saddle (or maximum) a line search along ±v (the eigenvector of λmin) over steps
 * t = 2^j·1e-3·max(‖w‖, 1) shows how much the loss drops; the best step is the escape point.
 */
import { ConfigError } from "../errors/errors.js";
import { lanczos, hutchinsonTrace, spectralDensity, type SpectralDensity } from "./lanczos.js";
import type { LossFunctionOf } from "./operator.js";

export type PointClass = "minimum" | "maximum" | "saddle" | "degenerate" | "flat" | "none";

export interface LineSearch {
  /** the signed step along v with the lowest loss */
  step: number;
  lossBefore: number;
  lossAfter: number;
  /** lossBefore − lossAfter for the best step in each direction */
  dropPlus: number;
  dropMinus: number;
}

export interface CriticalPointAnalysis {
  class: PointClass;
  gradNorm: number;
  lambdaMin: number;
  lambdaMax: number;
  topK: number[];
  trace?: number;
  lineSearch?: LineSearch;
  /** the eigenvector of λmin (flat, parameter order) */
  direction: Float64Array;
  /** the point moved by the best step along the direction (at a saddle or maximum) */
  escapePoint?: Float64Array;
  density?: SpectralDensity;
  lanczosSteps: number;
  /** whether λmin and λmax met the residual tolerance within the step limit */
  converged: boolean;
}

export interface CriticalOptions {
  /** how many of the largest eigenvalues to report (default 3) */
  topK?: number;
  /** also estimate the trace (Hutchinson) and the spectral density (SLQ) */
  spectrum?: boolean;
  seed?: number;
}

/** Whether a gradient is small for its loss and parameters: ‖g‖·max(‖w‖, 1) / |L| < 1e-3. */
export function isSmallGradient(gradNorm: number, paramNorm: number, loss: number): boolean {
  return gradNorm === 0 || (gradNorm * Math.max(paramNorm, 1)) / Math.abs(loss) < 1e-3;
}

/** The class of a point from its gradient norm, extreme eigenvalues, parameter norm and loss. */
export function classifyPoint(gradNorm: number, lambdaMin: number, lambdaMax: number, paramNorm: number, loss: number): PointClass {
  if (!isSmallGradient(gradNorm, paramNorm, loss)) return "none";
  const s = Math.max(Math.abs(lambdaMin), Math.abs(lambdaMax));
  if (s === 0) return "flat";
  const neg = lambdaMin < -1e-3 * s, pos = lambdaMax > 1e-3 * s;
  if (neg && pos) return "saddle";
  if (pos) return lambdaMin > 1e-3 * s ? "minimum" : "degenerate";
  if (neg) return lambdaMax < -1e-3 * s ? "maximum" : "degenerate";
  return "flat";
}

async function lineSearch(f: LossFunctionOf, v: Float64Array): Promise<{ search: LineSearch; point: Float64Array }> {
  const norm = Math.sqrt(f.point.reduce((s, x) => s + x * x, 0));
  const base = 1e-3 * Math.max(norm, 1);
  const at = (t: number) => f.point.map((x, i) => x + t * v[i]!);
  let best = { t: 0, loss: f.value };
  let dropPlus = 0, dropMinus = 0;
  for (const sign of [1, -1]) {
    for (let j = 0; j <= 20; j++) {
      const t = sign * base * 2 ** j;
      const loss = await f.lossAt(at(t));
      if (!Number.isFinite(loss)) break;
      const drop = f.value - loss;
      if (sign > 0) dropPlus = Math.max(dropPlus, drop);
      else dropMinus = Math.max(dropMinus, drop);
      if (loss < best.loss) best = { t, loss };
    }
  }
  return { search: { step: best.t, lossBefore: f.value, lossAfter: best.loss, dropPlus, dropMinus }, point: at(best.t) };
}

export async function analyzeCriticalPoint(f: LossFunctionOf, options: CriticalOptions = {}): Promise<CriticalPointAnalysis> {
  const topK = options.topK ?? 3;
  if (!Number.isInteger(topK) || topK < 1) throw new ConfigError(`analyzeCriticalPoint: invalid topK ${topK} (expected an integer >= 1)`);
  const seed = options.seed ?? 0;
  const gradNorm = Math.sqrt(f.gradient.reduce((s, g) => s + g * g, 0));
  const paramNorm = Math.sqrt(f.point.reduce((s, x) => s + x * x, 0));
  const r = await lanczos(f.hvp, f.size, { k: topK, seed, tol: 1e-8 });
  const lambdaMin = r.smallest[0]!.value, lambdaMax = r.largest[0]!.value;
  const cls = classifyPoint(gradNorm, lambdaMin, lambdaMax, paramNorm, f.value);
  const out: CriticalPointAnalysis = {
    class: cls, gradNorm, lambdaMin, lambdaMax, topK: r.largest.map((p) => p.value), direction: r.smallest[0]!.vector, lanczosSteps: r.steps, converged: r.converged,
  };
  if (cls === "saddle" || cls === "maximum") {
    const { search, point } = await lineSearch(f, out.direction);
    out.lineSearch = search;
    out.escapePoint = point;
  }
  if (options.spectrum) {
    out.trace = (await hutchinsonTrace(f.hvp, f.size, { samples: 10, seed })).estimate;
    out.density = await spectralDensity(f.hvp, f.size, { seed });
  }
  return out;
}
