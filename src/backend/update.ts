/**
 * The fused optimizer update: a short program of elementwise stages that a backend runs over one
 * parameter in place of a dozen separate tensor ops (src/optim/fused.ts builds it from the
 * transformations of a chain). u starts as the gradient; each stage rewrites u and its own slot
 * buffers (optimizer state: moments, accumulators) in place; the result is θ + u, a new buffer.
 *
 * Each stage's math is that of the transformation it stands for, op by op: every intermediate
 * is rounded to the dtype as the separate ops would store it, and constants are the dtype's
 * nearest values as scalar tensors would hold them, so the fused update equals the unfused one
 * bit for bit (test/optim/fused.test.ts). Slots are listed in the order given for each stage.
 */

export type UpdateStage =
  /** u = factor·u */
  | { readonly op: "scale"; readonly factor: number }
  /** u = u + wd·θ */
  | { readonly op: "weightDecay"; readonly wd: number }
  /** u = clamp(u, min, max) */
  | { readonly op: "clamp"; readonly min: number; readonly max: number }
  /** slots [buf]: b = g (first) or μ·b + (1 − τ)·g; u = g + μ·b (nesterov) or b */
  | { readonly op: "momentum"; readonly mu: number; readonly dampening: number; readonly nesterov: boolean; readonly first: boolean }
  /** slots [v]: v = β·v + (1 − β)·g; u = v / correction (when not null) or v */
  | { readonly op: "ema"; readonly beta: number; readonly correction: number | null }
  /** slots [sum]: s = s + g²; u = g / (√s + ε) / decay (when not null) */
  | { readonly op: "adagrad"; readonly eps: number; readonly decay: number | null }
  /** slots [squareAvg, gradAvg (centered), buf (momentum > 0)]: RMSProp (transforms.ts scaleByRms) */
  | { readonly op: "rms"; readonly alpha: number; readonly eps: number; readonly centered: boolean; readonly momentum: number }
  /** slots [mu, nu, nuMax (amsgrad)]: Adam; bc1, bc2Sqrt null without bias correction */
  | { readonly op: "adam"; readonly b1: number; readonly b2: number; readonly eps: number; readonly amsgrad: boolean; readonly bc1: number | null; readonly bc2Sqrt: number | null };

/** How many slot buffers a stage reads and writes. */
export function stageSlots(s: UpdateStage): number {
  switch (s.op) {
    case "scale": case "weightDecay": case "clamp": return 0;
    case "momentum": case "ema": case "adagrad": return 1;
    case "rms": return 1 + (s.centered ? 1 : 0) + (s.momentum > 0 ? 1 : 0);
    case "adam": return s.amsgrad ? 3 : 2;
    default: return s satisfies never;
  }
}
