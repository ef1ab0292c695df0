/**
 * Training records: what `descent diagnose` reads about how a run trained. Every `every` steps
 * (step 0 included) the recorder writes one `{"type":"record"}` line to metrics.jsonl
 * (docs/run-folder.md) with, per parameter tensor, the norms of its gradient (before clipping),
 * its weight and its update, and the update/weight ratio; and, per activation layer, the health
 * of its outputs on a fixed probe sample of the training data:
 *
 * - ReLU family (relu, leakyRelu, prelu, elu): `inactive` = the fraction of outputs in the
 *   negative region (x <= 0), `dead` = the fraction of units (features, or channels of an image)
 *   never positive on any probe sample at any position;
 * - sigmoid and tanh: `saturated` = the fraction of outputs whose local derivative is below 1%
 *   of its maximum (σ(1 − σ) < 0.0025, 1 − tanh² < 0.01), through which gradients hardly pass;
 * - every layer: `nonFinite`, the count of NaN or infinite outputs (only written when not 0).
 *
 * The update of step s needs the weights before it: they are kept (the state dict's snapshots,
 * which an optimizer step does not change) at the end of step s − 1. The probe runs in
 * evaluation mode and without a graph, so it draws no dropout randomness and leaves batch-norm
 * statistics alone: a recorded run trains exactly as an unrecorded one. Values are read with
 * `await` (fit awaits onBatchEnd), so recording runs on any backend.
 */
import { ConfigError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/mode.js";
import type { Sequential } from "../nn/sequential.js";
import { takeRows, type Dataset } from "../data/dataset.js";
import type { Callback } from "./callback.js";
import type { StepLog, TrainContext } from "./fit.js";

/** The activation layer types whose outputs are recorded, and what is measured of each. */
export const RECORDED_ACTIVATIONS = {
  ReLU: "relu", LeakyReLU: "relu", PReLU: "relu", ELU: "relu", Sigmoid: "sigmoid", Tanh: "tanh",
} as const satisfies Record<string, "relu" | "sigmoid" | "tanh">;

export interface ParamRecord {
  grad: number;
  weight: number;
  update: number;
  /** update / weight (null when the weight is 0) */
  ratio: number | null;
}

export interface ActivationRecord {
  /** the layer's class name as the summary prints it */
  type: string;
  inactive?: number;
  dead?: number;
  saturated?: number;
  nonFinite?: number;
}

export interface TrainingRecord {
  type: "record";
  epoch: number;
  step: number;
  params: Record<string, ParamRecord>;
  /** by layer index */
  activations: Record<string, ActivationRecord>;
}

export interface RecorderOptions {
  /** record every N optimizer steps (default 50) */
  every?: number;
  /** inputs of a fixed sample of the training data for activation health (none: not measured) */
  probe?: Tensor | null;
}

const l2 = (v: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
};

/** Activation health of one layer's output [N, C, ...] (units along dim 1). */
export async function activationHealth(type: string, kind: "relu" | "sigmoid" | "tanh", out: Tensor): Promise<ActivationRecord> {
  const v = await out.data();
  const n = out.shape[0] ?? 1;
  const units = out.shape[1] ?? 1;
  const inner = v.length / Math.max(n * units, 1);
  const rec: ActivationRecord = { type };
  let nonFinite = 0;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) nonFinite++;
  if (kind === "relu") {
    const alive = new Uint8Array(units);
    let inactive = 0;
    for (let i = 0; i < v.length; i++) {
      if (v[i]! > 0) alive[Math.floor(i / inner) % units] = 1;
      else inactive++;
    }
    rec.inactive = inactive / Math.max(v.length, 1);
    rec.dead = (units - alive.reduce((a, b) => a + b, 0)) / units;
  } else {
    let saturated = 0;
    for (let i = 0; i < v.length; i++) {
      const y = v[i]!;
      if (kind === "sigmoid" ? y * (1 - y) < 0.0025 : 1 - y * y < 0.01) saturated++;
    }
    rec.saturated = saturated / Math.max(v.length, 1);
  }
  if (nonFinite > 0) rec.nonFinite = nonFinite;
  return rec;
}

export class TrainingRecorder implements Callback {
  readonly name = "recorder";
  readonly every: number;
  private readonly probe: Tensor | null;
  private before: Record<string, Tensor> | null = null;

  constructor(
    private readonly model: Sequential,
    private readonly write: (record: TrainingRecord) => void,
    options: RecorderOptions = {},
  ) {
    this.every = options.every ?? 50;
    if (!Number.isInteger(this.every) || this.every < 1) throw new ConfigError(`Invalid record every: ${this.every} (expected an integer >= 1)`);
    this.probe = options.probe ?? null;
  }

  private isRecordStep(step: number): boolean {
    return step % this.every === 0;
  }

  onTrainBegin(ctx: TrainContext): void {
    this.before = this.isRecordStep(ctx.step) ? this.model.stateDict() : null;
  }

  async onBatchEnd(ctx: TrainContext, log: StepLog): Promise<void> {
    if (this.before && this.isRecordStep(log.step)) this.write(await this.record(ctx, log));
    // ctx.step is the next step: keep its starting weights when it is recorded
    this.before = this.isRecordStep(ctx.step) ? this.model.stateDict() : null;
  }

  private async record(ctx: TrainContext, log: StepLog): Promise<TrainingRecord> {
    const params: Record<string, ParamRecord> = {};
    const before = this.before!;
    for (const [name, p] of this.model.namedParameters()) {
      if (!p.requiresGrad) continue;
      const w = await p.data();
      const old = await before[name]?.data();
      let du = 0;
      if (old) for (let i = 0; i < w.length; i++) du += (w[i]! - old[i]!) ** 2;
      const weight = l2(w), update = Math.sqrt(du);
      params[name] = { grad: ctx.gradNorms.get(name) ?? 0, weight, update, ratio: weight > 0 ? update / weight : null };
    }
    return { type: "record", epoch: log.epoch, step: log.step, params, activations: this.probe ? await this.activations(this.probe) : {} };
  }

  private async activations(x: Tensor): Promise<Record<string, ActivationRecord>> {
    const outputs: { index: number; type: string; kind: "relu" | "sigmoid" | "tanh"; y: Tensor }[] = [];
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      noGrad(() => {
        let y = x;
        [...this.model].forEach((layer, index) => {
          y = layer.forward(y);
          const type = layer.typeName;
          const kind = (RECORDED_ACTIVATIONS as Record<string, "relu" | "sigmoid" | "tanh">)[type];
          if (kind) outputs.push({ index, type, kind, y });
        });
      });
    } finally {
      if (wasTraining) this.model.train();
    }
    const out: Record<string, ActivationRecord> = {};
    for (const { index, type, kind, y } of outputs) out[String(index)] = await activationHealth(type, kind, y);
    return out;
  }
}

/** The probe's size: enough samples that a unit never active on all of them is dead. */
export const PROBE_SAMPLES = 128;

/**
 * The recorder of a run: a probe of the first PROBE_SAMPLES training samples, recorded every N
 * steps with N = max(10, 16 × probe / batch), so that one record (a forward pass of the probe and
 * a few norms) costs under 5% of the steps between records (bench/recording.ts measures it).
 */
export function trainingRecorder(model: Sequential, train: Dataset, batchSize: number, write: (record: TrainingRecord) => void): TrainingRecorder {
  const n = Math.min(PROBE_SAMPLES, train.length);
  const probe = n > 0 ? takeRows(train.inputs, Int32Array.from({ length: n }, (_, i) => i)) : null;
  return new TrainingRecorder(model, write, { every: Math.max(10, Math.ceil((16 * n) / batchSize)), probe });
}
