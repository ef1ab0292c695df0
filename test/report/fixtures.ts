/**
 * Synthetic run folders for the report tests, written the way training writes them
 * (docs/run-folder.md): realistic decaying losses, rising accuracies, a step-decay learning rate,
 * a 10x10 confusion matrix and misclassified 28x28 images. Seeded, so every run is the same.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator } from "../../src/tensor/random.js";

export interface SyntheticRunOptions {
  epochs?: number;
  stepsPerEpoch?: number;
  seed?: number;
  /** Scales how fast the loss falls (one optimizer against another). */
  speed?: number;
  lr?: number;
  name?: string;
  withSummary?: boolean;
  stoppedEarly?: boolean;
  testAccuracy?: number;
}

/** A 28x28 stroke (an ellipse with noise), pixels in [0, 1]. */
function strokeImage(rand: () => number): number[] {
  const cx = 14 + (rand() - 0.5) * 4;
  const cy = 14 + (rand() - 0.5) * 4;
  const rx = 5 + rand() * 5;
  const ry = 7 + rand() * 4;
  const data: number[] = [];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const d = Math.abs(Math.hypot((x - cx) / rx, (y - cy) / ry) - 1);
      data.push(Math.max(0, Math.min(1, 1 - d * 4 + (rand() - 0.5) * 0.3)));
    }
  }
  return data;
}

export function writeSyntheticRun(dir: string, opts: SyntheticRunOptions = {}): void {
  const epochs = opts.epochs ?? 5;
  const perEpoch = opts.stepsPerEpoch ?? 20;
  const speed = opts.speed ?? 1;
  const lr0 = opts.lr ?? 0.01;
  const generator = new Generator(opts.seed ?? 1);
  const rand = () => generator.uniform();
  const name = opts.name ?? "cnn-2026-11-23T07-00-00";
  mkdirSync(dir, { recursive: true });

  const config = {
    name,
    model: { kind: "cnn", layers: [{ type: "conv2d", outChannels: 16, kernelSize: 3 }, { type: "relu" }, { type: "dense", units: 10 }] },
    data: { source: "mnist", trainSize: 8000, devSize: 1000, testSize: 1000, seed: 1 },
    optimizer: { name: "adam", lr: lr0, b1: 0.9, b2: 0.999, eps: 1e-8 },
    schedule: { kind: "exponential", base: 0.95 },
    batchSize: 64,
    epochs,
    earlyStopping: { monitor: "devLoss", patience: 3 },
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));

  const lines: string[] = [];
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    const lr = lr0 * 0.95 ** e;
    for (let k = 0; k < perEpoch; k++) {
      const t = (e * perEpoch + k + 1) / perEpoch;
      const loss = 2.3 * Math.exp(-1.4 * speed * t) + 0.06 + (rand() - 0.5) * 0.12;
      lines.push(JSON.stringify({ type: "step", epoch: e, step, loss, lr, gradNorm: 0.5 + 2 * Math.exp(-t) + rand() * 0.3 }));
      step++;
    }
    const t = e + 1;
    const trainLoss = 2.3 * Math.exp(-1.4 * speed * t) + 0.06;
    const devLoss = trainLoss + 0.03 + 0.01 * e;
    lines.push(
      JSON.stringify({
        type: "epoch", epoch: e, step, trainLoss, trainAccuracy: 1 - trainLoss / 2.6, devLoss, devAccuracy: 1 - devLoss / 2.5,
        lr, seconds: 14.2 + rand(), samplesPerSecond: 560 + rand() * 40,
      }),
    );
  }
  if (opts.stoppedEarly) lines.push(JSON.stringify({ type: "event", epoch: epochs - 1, step, message: "early stopping: devLoss did not improve for 3 epochs" }));
  writeFileSync(join(dir, "metrics.jsonl"), lines.join("\n") + "\n");

  if (opts.withSummary === false) return;
  const confusion: number[][] = [];
  for (let i = 0; i < 10; i++) {
    const row = new Array<number>(10).fill(0);
    for (let j = 0; j < 10; j++) if (j !== i && rand() < 0.35) row[j] = Math.floor(rand() * 4);
    row[(i + 3) % 10]! += i === 4 ? 9 : 0;
    row[i] = 100 - row.reduce((a, b) => a + b, 0);
    confusion.push(row);
  }
  const misclassified = Array.from({ length: 8 }, (_, i) => ({
    index: 17 + i * 31,
    label: i % 10,
    predicted: (i + 3) % 10,
    image: { shape: [28, 28], data: strokeImage(rand) },
  }));
  const summary = {
    name, epochs, steps: step, stoppedEarly: opts.stoppedEarly ?? false, bestEpoch: epochs - 1,
    test: { loss: 0.08, accuracy: opts.testAccuracy ?? 0.979 }, dev: { loss: 0.09, accuracy: 0.975 },
    classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], confusion, misclassified,
    modelSummary: [
      "layer              output shape     params",
      "conv2d (0)         [16, 28, 28]        160",
      "relu (1)           [16, 28, 28]          0",
      "maxPool2d (2)      [16, 14, 14]          0",
      "flatten (3)        [3136]                0",
      "dense (4)          [10]              31370",
      "total                                31530",
    ].join("\n"),
    seconds: 95.3,
  };
  writeFileSync(join(dir, "summary.json"), JSON.stringify(summary, null, 2));
}
