/**
 * The train state of a checkpoint, validated. A checkpoint's JSON half (TrainState in fit.ts) drives
 * everything a resumed run does next: the epoch and step counters, the loader's position and
 * generators, the optimizer's counts, the schedule, the partial sums of the epoch in progress, the
 * history and each callback's state. Read from a file it is untrusted, so it is parsed with one zod
 * schema before anything uses it, and cross-checked where the fields must agree (lastEpoch is
 * epoch − 1; the history holds one entry per finished epoch, in order; a generator state is never all
 * zero, which xoshiro never leaves) and its tensors must be finite. A damaged state is a FileFormatError naming the file and the
 * field, never a TypeError later, nor a run that trains nonsense.
 *
 * Objects are loose (unknown fields pass through), so a field added to the state by a newer fit
 * reaches it unchanged; every field fit reads is checked.
 */
import * as z from "zod";
import { FileFormatError } from "../errors/errors.js";
import { preview } from "../errors/values.js";
import type { LoadedCheckpoint } from "../io/checkpoint.js";
import { refuseNonFinite } from "../io/finite.js";
import type { StateSkeleton } from "../optim/optimizer.js";
import type { TrainState } from "./fit.js";

const count = z.number().int().nonnegative();
const uint32 = z.number().int().min(0).max(0xffffffff);

const generatorState = z
  .strictObject({ s: z.tuple([uint32, uint32, uint32, uint32]), spare: z.number().nullable() })
  .refine((g) => g.s.some((v) => v !== 0), "an all-zero generator state (xoshiro128** would draw nothing but zeros)");

const loaderState = z.looseObject({
  type: z.literal("dataLoader"),
  epoch: count,
  batchIndex: count,
  seed: z.number().int(),
  orderRng: generatorState,
  augmentRng: generatorState,
  length: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  shuffle: z.boolean(),
  dropLast: z.boolean(),
});

const skeleton: z.ZodType<StateSkeleton> = z.lazy(() =>
  z.looseObject({
    slots: z.array(z.string()),
    counts: z.record(z.string(), count),
    scalars: z.record(z.string(), z.number()),
    inner: z.record(z.string(), skeleton),
  }),
);

const optimizerMeta = z.looseObject({
  format: z.literal("descent-optimizer/1"),
  optimizer: z.string(),
  stepCount: count,
  lr: z.number().nonnegative().nullable(),
  paramNames: z.array(z.string()),
  hyperparameters: z.record(z.string(), z.unknown()),
  state: skeleton,
});

const scheduleState = z.looseObject({
  type: z.string(),
  interval: z.enum(["epoch", "step"]),
  spec: z.record(z.string(), z.unknown()),
  state: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
});

const fraction = z.number().min(0).max(1);
const epochLog = z.looseObject({
  epoch: count,
  step: count,
  trainLoss: z.number(),
  trainAccuracy: fraction.optional(),
  devLoss: z.number().optional(),
  devAccuracy: fraction.optional(),
  lr: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
  samplesPerSecond: z.number().nonnegative(),
});

const sums = z
  .looseObject({ loss: z.number(), correct: count, count, seconds: z.number().nonnegative() })
  .refine((s) => s.correct <= s.count, "more correct predictions than samples");

const trainState = z
  .looseObject({
    format: z.literal("descent-train/1"),
    epoch: count,
    step: count,
    lastEpoch: z.number().int().min(-1),
    loader: loaderState,
    optimizer: optimizerMeta,
    schedule: scheduleState.nullable(),
    modelRng: generatorState.nullable(),
    sums,
    history: z.array(epochLog),
    callbacks: z.record(z.string(), z.record(z.string(), z.unknown())),
    stopReason: z.string().nullable(),
  })
  .superRefine((st, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (st.lastEpoch !== st.epoch - 1) issue(["lastEpoch"], `is ${st.lastEpoch}, but epoch ${st.epoch} is in progress (lastEpoch must be ${st.epoch - 1})`);
    if (st.history.length !== st.epoch) issue(["history"], `has ${st.history.length} epochs, but ${st.epoch} have finished`);
    st.history.forEach((h, i) => {
      if (h.epoch !== i) issue(["history", i, "epoch"], `is ${h.epoch}, expected ${i} (one entry per epoch, in order)`);
      const before = i === 0 ? 0 : st.history[i - 1]!.step;
      if (h.step < before || h.step > st.step) issue(["history", i, "step"], `is ${h.step}, outside the steps taken (${before}..${st.step})`);
    });
    if (st.loader.epoch > st.epoch || st.loader.epoch < st.epoch - 1) issue(["loader", "epoch"], `is ${st.loader.epoch}, but the run is in epoch ${st.epoch}`);
  });

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("") || "(top level)";
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), input);
}

/**
 * Validates a checkpoint's train state; `source` (the file) names it in the error, with the field:
 * `run/checkpoints/epoch-3.ckpt: train state: epoch: ... (found 1.5)`.
 */
export function parseTrainState(value: unknown, source: string): TrainState {
  const parsed = trainState.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const found = valueAt(value, issue.path);
    const detail = issue.code === "custom" ? issue.message : `${issue.message} (found ${found === undefined ? "nothing" : preview(found)})`;
    throw new FileFormatError(`${source}: train state: ${fieldPath(issue.path)}: ${detail}`);
  }
  return parsed.data as unknown as TrainState;
}

/** Validates the train state and tensors of a checkpoint fit wrote (see parseTrainState); `path` names it. */
export function checkTrainCheckpoint(checkpoint: LoadedCheckpoint, path: string): { checkpoint: LoadedCheckpoint; state: TrainState } {
  const state = parseTrainState(checkpoint.state, path);
  for (const [ns, tensors] of Object.entries(checkpoint.tensors)) refuseNonFinite(tensors, path, `${ns}.`);
  return { checkpoint, state };
}
