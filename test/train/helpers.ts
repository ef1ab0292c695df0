/** Shared helpers of the training tests: small datasets, byte-exact comparisons, recording callbacks. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { createDataset, type Dataset } from "../../src/data/dataset.js";
import { loadMnist } from "../../src/data/mnist.js";
import { split } from "../../src/data/split.js";
import type { Callback } from "../../src/train/callback.js";
import type { EpochLog, StepLog, TrainContext } from "../../src/train/fit.js";

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `descent-${prefix}-`));

let mnistCache: Dataset | null = null;
/** The bundled digits (loaded once per test file). */
export function mnist(): Dataset {
  return (mnistCache ??= loadMnist());
}

/** A stratified handful of digits: train and dev parts of the given sizes. */
export function smallDigits(train: number, dev: number, seed = 3): { train: Dataset; dev: Dataset } {
  const parts = split(mnist(), { train, dev, test: 0, seed, stratify: true });
  return { train: parts.train, dev: parts.dev };
}

/**
 * n samples of `features` gaussian features in k classes: class c has its mean at +2 on feature c
 * (separable, so a linear model learns it in a few epochs). `flip` relabels every sample c -> (c+1) % k.
 */
export function blobs(n: number, options: { features?: number; classes?: number; seed?: number; flip?: boolean; role?: "train" | "dev" | "test" } = {}): Dataset {
  const { features = 8, classes = 3, seed = 0, flip = false } = options;
  const rng = new Generator(seed);
  const x = new Float32Array(n * features);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    for (let j = 0; j < features; j++) x[i * features + j] = rng.normal() + (j === c ? 2 : 0);
    y[i] = flip ? (c + 1) % classes : c;
  }
  return createDataset(fromValues(x, [n, features]), fromValues(y, [n]), { numClasses: classes, ...(options.role ? { role: options.role } : {}) });
}

/** n samples of a noisy linear regression y = x·w + 0.1 noise (float32 [n] targets). */
export function regression(n: number, features = 4, seed = 0): Dataset {
  const rng = new Generator(seed);
  const w = Array.from({ length: features }, () => rng.normal());
  const x = new Float32Array(n * features);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < features; j++) {
      const v = rng.normal();
      x[i * features + j] = v;
      s += v * w[j]!;
    }
    y[i] = s + 0.1 * rng.normal();
  }
  return createDataset(fromValues(x, [n, features]), fromValues(y, [n]));
}

const bytes = (t: Tensor): Buffer => {
  const v = t.dataSync();
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
};

/** Asserts two tensor dicts have the same keys, shapes, dtypes and bytes. */
export function expectSameTensors(a: Record<string, Tensor>, b: Record<string, Tensor>, what: string): void {
  expect(Object.keys(b).sort(), `${what}: keys`).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) {
    const ta = a[k]!, tb = b[k]!;
    expect(tb.shape, `${what}: ${k} shape`).toEqual(ta.shape);
    expect(tb.dtype, `${what}: ${k} dtype`).toBe(ta.dtype);
    expect(bytes(tb).equals(bytes(ta)), `${what}: ${k} differs`).toBe(true);
  }
}

/** Whether two tensor dicts are byte-identical (for "these differ" checks). */
export function sameTensors(a: Record<string, Tensor>, b: Record<string, Tensor>): boolean {
  return Object.keys(a).every((k) => b[k] !== undefined && bytes(a[k]!).equals(bytes(b[k]!)));
}

/** Records each step log, each epoch log and the model's weights at each epoch end (stateless). */
export class Recorder implements Callback {
  readonly name = "recorder";
  readonly steps: StepLog[] = [];
  readonly epochs: EpochLog[] = [];
  readonly weights = new Map<number, Record<string, Tensor>>();

  onBatchEnd(_ctx: TrainContext, log: StepLog): void {
    this.steps.push(log);
  }

  onEpochEnd(ctx: TrainContext, log: EpochLog): void {
    this.epochs.push(log);
    this.weights.set(log.epoch, ctx.model.stateDict());
  }
}

/** The epoch-log fields that do not depend on timing. */
export const timeless = (logs: readonly EpochLog[]) => logs.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);
