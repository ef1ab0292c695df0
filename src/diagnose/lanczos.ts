/**
 * The spectrum of a symmetric operator known only through products A·v (a Hessian through
 * Hessian-vector products): Lanczos for the extreme eigenpairs, Hutchinson for the trace, and
 * stochastic Lanczos quadrature (SLQ) for the spectral density.
 *
 * Lanczos builds an orthonormal basis Q of the Krylov space {q, Aq, A²q, ...} in which A is the
 * tridiagonal T = QᵀAQ (diagonal α, off-diagonal β):
 *
 *   w = A·q_j − β_{j−1}·q_{j−1};  α_j = q_j·w;  w −= α_j·q_j;  β_j = ‖w‖;  q_{j+1} = w / β_j
 *
 * NOTE: in floating point the q_j lose orthogonality as soon as a Ritz value converges (Paige),
 * which shows up as spurious copies of eigenvalues; every new w is therefore orthogonalized
 * against all previous q (twice, "twice is enough"). The cost is m vectors of length n in memory.
 * The eigenpairs (θ, s) of T give Ritz pairs (θ, Q·s) whose residual ‖A·Qs − θ·Qs‖ is exactly
 * β_m·|s_m| (the last component of s): a convergence test that needs no extra product.
 *
 * Hutchinson: tr(A) = E[zᵀAz] for z with independent ±1 entries; the estimate is the mean over
 * samples, with its standard error.
 *
 * SLQ (Ubaru, Chen & Saad 2017; Ghorbani et al. 2019 for Hessians): for a unit random q, m Lanczos
 * steps give nodes θ_k and weights τ_k² (first components of T's eigenvectors, squared) with
 * qᵀ f(A) q ≈ Σ τ_k² f(θ_k); averaged over samples this is a quadrature of the spectral density
 * (1/n) Σ_i δ(λ − λ_i). The density is shown smoothed by a Gaussian of width σ.
 */
import { ConfigError } from "../errors/errors.js";
import { Generator } from "../tensor/random.js";
import { symmetricEigen } from "./hessian.js";

/**
 * y = A·x for a symmetric A of size n (x is not to be changed). An operator on a backend returns
 * a promise (its values are read with `await`); a plain matrix may answer at once.
 */
export type MatVec = (x: Float64Array) => Float64Array | Promise<Float64Array>;

export interface LanczosOptions {
  /** the most Lanczos steps (default min(n, 100)) */
  maxSteps?: number;
  /** stop once the wanted Ritz pairs have residual <= tol·max|θ| (default 1e-10) */
  tol?: number;
  /** how many of the largest (and smallest) eigenpairs must converge (default 1) */
  k?: number;
  /** the start vector (default: a random one from seed) */
  start?: Float64Array;
  seed?: number;
}

export interface RitzPair {
  value: number;
  /** unit vector, length n */
  vector: Float64Array;
  /** ‖A·v − value·v‖ */
  residual: number;
}

export interface LanczosResult {
  /** ascending Ritz values of the final tridiagonal matrix */
  values: Float64Array;
  /** the k smallest Ritz pairs, ascending */
  smallest: RitzPair[];
  /** the k largest Ritz pairs, descending */
  largest: RitzPair[];
  steps: number;
  /** true when every wanted pair met tol (or the Krylov space was exhausted) */
  converged: boolean;
  /** operator products used */
  products: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

function randomUnit(n: number, rng: Generator): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  const norm = Math.sqrt(dot(v, v));
  for (let i = 0; i < n; i++) v[i]! /= norm;
  return v;
}

function rademacher(n: number, rng: Generator): Float64Array {
  return Float64Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1));
}

/** The tridiagonal T of the first m steps, as a dense [m, m] matrix for symmetricEigen. */
function tridiagonal(alpha: readonly number[], beta: readonly number[], m: number): Float64Array {
  const t = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    t[i * m + i] = alpha[i]!;
    if (i + 1 < m) t[i * m + i + 1] = t[(i + 1) * m + i] = beta[i]!;
  }
  return t;
}

interface Krylov {
  alpha: number[];
  beta: number[];
  basis: Float64Array[];
  /** true when β hit zero: the basis spans an invariant subspace */
  exhausted: boolean;
}

/** Runs Lanczos steps with full reorthogonalization until `steps` or `done(krylov)` says stop. */
async function runLanczos(matvec: MatVec, q0: Float64Array, steps: number, done: (k: Krylov) => boolean, checkEvery: number): Promise<Krylov> {
  const n = q0.length;
  const k: Krylov = { alpha: [], beta: [], basis: [Float64Array.from(q0)], exhausted: false };
  let scale = 0;
  for (let j = 0; j < steps; j++) {
    const q = k.basis[j]!;
    const w = Float64Array.from(await matvec(q));
    if (w.length !== n) throw new ConfigError(`lanczos: the operator returned ${w.length} values for a vector of ${n}`);
    const a = dot(q, w);
    k.alpha.push(a);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of k.basis) {
        const c = dot(b, w);
        for (let i = 0; i < n; i++) w[i]! -= c * b[i]!;
      }
    }
    const beta = Math.sqrt(dot(w, w));
    scale = Math.max(scale, Math.abs(a), beta);
    const last = j + 1 === steps;
    // NOTE: a β that is tiny relative to the spectrum's scale means Aq lies in the basis already
    if (beta <= 1e-13 * scale || beta === 0) {
      k.exhausted = true;
      return k;
    }
    k.beta.push(beta);
    if (last) return k;
    for (let i = 0; i < n; i++) w[i]! /= beta;
    k.basis.push(w);
    if ((j + 1) % checkEvery === 0 && done(k)) return k;
  }
  return k;
}

function ritz(k: Krylov) {
  const m = k.alpha.length;
  const eig = symmetricEigen(tridiagonal(k.alpha, k.beta, m), m);
  const betaM = k.exhausted ? 0 : (k.beta[m - 1] ?? 0);
  const residual = (col: number) => Math.abs(betaM * eig.vectors[(m - 1) * m + col]!);
  const pair = (col: number): RitzPair => {
    const n = k.basis[0]!.length;
    const vector = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      const s = eig.vectors[j * m + col]!;
      const q = k.basis[j]!;
      for (let i = 0; i < n; i++) vector[i]! += s * q[i]!;
    }
    const norm = Math.sqrt(dot(vector, vector));
    for (let i = 0; i < n; i++) vector[i]! /= norm;
    return { value: eig.values[col]!, vector, residual: residual(col) };
  };
  return { eig, m, pair, residual };
}

/**
 * The extreme eigenpairs of a symmetric operator: the k smallest and k largest, to a residual
 * of tol relative to the spectrum's scale (max |θ|).
 */
export async function lanczos(matvec: MatVec, n: number, options: LanczosOptions = {}): Promise<LanczosResult> {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`lanczos: invalid size ${n} (expected an integer >= 1)`);
  const maxSteps = Math.min(n, options.maxSteps ?? 100);
  const tol = options.tol ?? 1e-10;
  const want = Math.min(options.k ?? 1, n);
  if (!Number.isInteger(want) || want < 1) throw new ConfigError(`lanczos: invalid k ${options.k} (expected an integer >= 1)`);
  let q0 = options.start;
  if (q0) {
    if (q0.length !== n) throw new ConfigError(`lanczos: the start vector has ${q0.length} values, expected ${n}`);
    const norm = Math.sqrt(dot(q0, q0));
    if (!(norm > 0)) throw new ConfigError("lanczos: the start vector is zero");
    q0 = q0.map((v) => v / norm);
  } else {
    q0 = randomUnit(n, new Generator(options.seed ?? 0));
  }
  let products = 0;
  const counted: MatVec = (x) => {
    products++;
    return matvec(x);
  };
  const isConverged = (k: Krylov): boolean => {
    if (k.exhausted) return true;
    const r = ritz(k);
    if (r.m < 2 * want) return false;
    const scale = Math.max(Math.abs(r.eig.values[0]!), Math.abs(r.eig.values[r.m - 1]!), Number.MIN_VALUE);
    for (let i = 0; i < want; i++) if (r.residual(i) > tol * scale || r.residual(r.m - 1 - i) > tol * scale) return false;
    return true;
  };
  const k = await runLanczos(counted, q0, maxSteps, isConverged, 2);
  const r = ritz(k);
  const cnt = Math.min(want, r.m);
  const smallest = Array.from({ length: cnt }, (_, i) => r.pair(i));
  const largest = Array.from({ length: cnt }, (_, i) => r.pair(r.m - 1 - i));
  return { values: r.eig.values, smallest, largest, steps: r.m, converged: k.exhausted || r.m === n || isConverged(k), products };
}

export interface TraceEstimate {
  estimate: number;
  /** standard error of the mean over the samples (0 with one sample) */
  stdError: number;
  samples: number;
}

/** Hutchinson's estimate of tr(A) from `samples` Rademacher probes. */
export async function hutchinsonTrace(matvec: MatVec, n: number, options: { samples?: number; seed?: number } = {}): Promise<TraceEstimate> {
  const samples = options.samples ?? 30;
  if (!Number.isInteger(samples) || samples < 1) throw new ConfigError(`hutchinsonTrace: invalid samples ${samples} (expected an integer >= 1)`);
  const rng = new Generator(options.seed ?? 0);
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    const z = rademacher(n, rng);
    values.push(dot(z, await matvec(z)));
  }
  const mean = values.reduce((a, b) => a + b, 0) / samples;
  const variance = samples > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (samples - 1) : 0;
  return { estimate: mean, stdError: Math.sqrt(variance / samples), samples };
}

export interface SpectralDensity {
  /** quadrature nodes (Ritz values) of every probe, concatenated */
  nodes: Float64Array;
  /** their weights: each probe's weights sum to 1/probes, all of them to 1 */
  weights: Float64Array;
  /** the density smoothed by a Gaussian of width sigma, on `grid` */
  grid: Float64Array;
  density: Float64Array;
  sigma: number;
  /** n · Σ w·θ: the SLQ estimate of the trace */
  trace: number;
}

export interface DensityOptions {
  /** random probes (default 4) */
  probes?: number;
  /** Lanczos steps per probe (default min(n, 40)) */
  steps?: number;
  /** grid points (default 200) */
  points?: number;
  /** smoothing width (default 1% of the spectrum's range) */
  sigma?: number;
  seed?: number;
}

/** The spectral density of a symmetric operator by stochastic Lanczos quadrature. */
export async function spectralDensity(matvec: MatVec, n: number, options: DensityOptions = {}): Promise<SpectralDensity> {
  const probes = options.probes ?? 4;
  const steps = Math.min(n, options.steps ?? 40);
  const points = options.points ?? 200;
  if (!Number.isInteger(probes) || probes < 1) throw new ConfigError(`spectralDensity: invalid probes ${probes} (expected an integer >= 1)`);
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError(`spectralDensity: invalid steps ${options.steps} (expected an integer >= 1)`);
  const rng = new Generator(options.seed ?? 0);
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p < probes; p++) {
    const z = rademacher(n, rng);
    const k = await runLanczos(matvec, z.map((v) => v / Math.sqrt(n)), steps, () => false, steps + 1);
    const m = k.alpha.length;
    const eig = symmetricEigen(tridiagonal(k.alpha, k.beta, m), m);
    for (let i = 0; i < m; i++) {
      nodes.push(eig.values[i]!);
      weights.push(eig.vectors[i]! ** 2 / probes);
    }
  }
  const lo = Math.min(...nodes), hi = Math.max(...nodes);
  const range = hi - lo || Math.max(Math.abs(hi), 1e-12);
  const sigma = options.sigma ?? 0.01 * range;
  if (!(sigma > 0)) throw new ConfigError(`spectralDensity: invalid sigma ${options.sigma} (expected > 0)`);
  const start = lo - 5 * sigma, end = hi + 5 * sigma;
  const grid = Float64Array.from({ length: points }, (_, i) => start + ((end - start) * i) / Math.max(points - 1, 1));
  const norm = 1 / (sigma * Math.sqrt(2 * Math.PI));
  const density = grid.map((t) => nodes.reduce((s, th, i) => s + weights[i]! * norm * Math.exp(-((t - th) ** 2) / (2 * sigma * sigma)), 0));
  const trace = n * nodes.reduce((s, th, i) => s + weights[i]! * th, 0);
  return { nodes: Float64Array.from(nodes), weights: Float64Array.from(weights), grid, density, sigma, trace };
}
