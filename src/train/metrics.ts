/**
 * Classification metrics computed from logits and int32 labels: accuracy, the confusion matrix,
 * and per-class recall. They read values once and count in plain loops; no graph. The library reads
 * with `await` (readPredictedClasses); predictClasses reads synchronously, a convenience for code
 * that runs on the cpu backend (the playground page).
 */
import { ShapeError, fmtShape } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";

/** Index of the largest logit per row of [N, C]. */
export function predictClasses(logits: Tensor): Int32Array {
  checkLogits(logits);
  return classesOf(logits, logits.dataSync());
}

/** predictClasses reading the logits with `await`, for any backend. */
export async function readPredictedClasses(logits: Tensor): Promise<Int32Array> {
  checkLogits(logits);
  return classesOf(logits, await logits.data());
}

function checkLogits(logits: Tensor): void {
  if (logits.rank !== 2) throw new ShapeError(`predictClasses: expected logits [N, C], got ${fmtShape(logits.shape)}`);
}

function classesOf(logits: Tensor, v: ArrayLike<number>): Int32Array {
  const [n, c] = logits.shape as [number, number];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = v[i * c]!;
    for (let j = 1; j < c; j++) {
      const x = v[i * c + j]!;
      if (x > bv) {
        bv = x;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Counts correct predictions. */
export function countCorrect(predicted: Int32Array, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}

/** A C x C matrix: confusion[i][j] counts samples of true class i predicted as j. */
export class ConfusionMatrix {
  readonly counts: number[][];

  constructor(readonly numClasses: number) {
    this.counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  }

  add(predicted: ArrayLike<number>, labels: ArrayLike<number>): void {
    for (let i = 0; i < predicted.length; i++) this.counts[labels[i]!]![predicted[i]!]!++;
  }

  get total(): number {
    return this.counts.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  }

  get accuracy(): number {
    const t = this.total;
    return t === 0 ? 0 : this.counts.reduce((s, row, i) => s + row[i]!, 0) / t;
  }

  /**
   * The matrix as text: a header of predicted class names, then one row per true class, led by
   * its name (names cut to 12 characters; default "0", "1", ...).
   */
  toText(classNames?: readonly string[]): string[] {
    const names = Array.from({ length: this.numClasses }, (_, i) => (classNames?.[i] ?? String(i)).slice(0, 12));
    const label = Math.max(...names.map((n) => n.length));
    const width = Math.max(5, ...names.map((n) => n.length + 1), ...this.counts.flat().map((v) => String(v).length + 1));
    const header = "".padEnd(label) + names.map((n) => n.padStart(width)).join("");
    return [header, ...this.counts.map((row, i) => names[i]!.padEnd(label) + row.map((v) => String(v).padStart(width)).join(""))];
  }

  /** Recall of each class: correct / samples of that class (NaN for an absent class). */
  recall(): number[] {
    return this.counts.map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      return n === 0 ? NaN : row[i]! / n;
    });
  }
}
