/**
 * Gradient checking of a whole model: backprop against two-sided differences
 * (L(w + ε·e_j) − L(w − ε·e_j)) / 2ε, in float64, of the training objective on a mini-batch
 * (the loss plus the regularization terms). Per parameter tensor the relative error is
 * ‖a − n‖ / (‖a‖ + ‖n‖) over its checked entries (the study notes' formula), read as fine
 * below 1e-6, worth a closer look below 1e-3, and wrong from 1e-3; the worst entry is named by
 * tensor and index. The model runs in evaluation mode, so dropout is off (and said so).
 * Large tensors are checked on a seeded random subset of their entries.
 */
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { Generator } from "../tensor/random.js";
import type { Sequential } from "../nn/sequential.js";
import type { LossFn, Penalty } from "../train/fit.js";
import { lossFunctionOf } from "./operator.js";
import { unravelIndex } from "../autograd/gradcheck.js";

export type GradcheckVerdict = "fine" | "look closer" | "wrong";

export interface TensorCheck {
  name: string;
  shape: number[];
  checked: number;
  relError: number;
  verdict: GradcheckVerdict;
  worst: { index: number[]; analytic: number; numeric: number; absError: number };
}

export interface ModelGradcheck {
  tensors: TensorCheck[];
  verdict: GradcheckVerdict;
  /** what the check changed about the model (dropout turned off) */
  notes: string[];
}

export function verdictOf(relError: number): GradcheckVerdict {
  return relError < 1e-6 ? "fine" : relError < 1e-3 ? "look closer" : "wrong";
}

export interface ModelGradcheckOptions {
  eps?: number;
  /** at most this many entries per tensor (default 200) */
  maxPerTensor?: number;
  seed?: number;
}

export async function gradcheckModel(model: Sequential, loss: LossFn, x: Tensor, y: Tensor, penalty: Penalty | undefined, options: ModelGradcheckOptions = {}): Promise<ModelGradcheck> {
  const eps = options.eps ?? 1e-6;
  const limit = options.maxPerTensor ?? 200;
  if (!(eps > 0)) throw new ConfigError(`gradcheck: invalid eps ${eps} (expected > 0)`);
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`gradcheck: invalid maxPerTensor ${limit} (expected an integer >= 1)`);
  const notes: string[] = [];
  const dropouts = [...model].map((m, i) => [m.typeName, i] as const).filter(([t]) => t === "Dropout");
  if (dropouts.length > 0) notes.push(`dropout turned off for the check (layer${dropouts.length > 1 ? "s" : ""} ${dropouts.map(([, i]) => i).join(", ")}): the checked loss is deterministic`);
  const f = await lossFunctionOf(model, loss, x, y, penalty);
  const rng = new Generator(options.seed ?? 0);
  const tensors: TensorCheck[] = [];
  let off = 0;
  for (const [k, name] of f.names.entries()) {
    const shape = f.shapes[k]!;
    const size = shape.reduce((a, b) => a * b, 1);
    const entries = size <= limit ? Array.from({ length: size }, (_, i) => i) : Array.from(rng.permutation(size).subarray(0, limit)).sort((a, b) => a - b);
    let diff = 0, na = 0, nn = 0;
    let worst = { index: 0, analytic: 0, numeric: 0, absError: -1 };
    for (const j of entries) {
      const p = f.point.slice();
      p[off + j] = f.point[off + j]! + eps;
      const plus = await f.lossAt(p);
      p[off + j] = f.point[off + j]! - eps;
      const minus = await f.lossAt(p);
      const numeric = (plus - minus) / (2 * eps);
      const analytic = f.gradient[off + j]!;
      const e = Math.abs(analytic - numeric);
      diff += e * e;
      na += analytic * analytic;
      nn += numeric * numeric;
      if (e > worst.absError) worst = { index: j, analytic, numeric, absError: e };
    }
    const denom = Math.sqrt(na) + Math.sqrt(nn);
    const relError = denom === 0 ? 0 : Math.sqrt(diff) / denom;
    tensors.push({ name, shape, checked: entries.length, relError, verdict: verdictOf(relError), worst: { ...worst, index: unravelIndex(worst.index, shape) } });
    if (entries.length < size) notes.push(`${name}: ${entries.length} of ${size} entries checked (a seeded random subset)`);
    off += size;
  }
  const maxRel = Math.max(0, ...tensors.map((t) => t.relError));
  return { tensors, verdict: verdictOf(maxRel), notes };
}
