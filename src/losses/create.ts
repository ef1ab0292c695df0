/**
 * createLoss: a training loss from its JSON spec, for configs and the command line:
 *
 *   "mse"
 *   { "type": "crossEntropy", "labelSmoothing": 0.1 }
 *   { "type": "focal", "gamma": 2, "alpha": [1, 2, 1] }
 *
 * One table, LOSSES, lists every loss of the library with its options and the targets it takes;
 * the builder, the config's validation and the CLI help read it. The options are the loss
 * objects' own (modules.ts), validated by them; per-class options written as JSON arrays (weight,
 * alpha, posWeight) become tensors of the model's dtype, one value per output. The training loss
 * is the batch mean, so `reduction` is not an option here.
 *
 * Targets. With class labels (classification), crossEntropy and focal take the labels; every
 * other loss compares the model's C outputs with the one-hot labels (MSE against cross-entropy,
 * as the notes compare them). With float targets (regression), [N] targets are compared as
 * [N, 1]; crossEntropy needs class labels. binaryCrossEntropy takes probabilities, so the model
 * must end in a sigmoid or softmax (binaryCrossEntropyWithLogits takes logits).
 */
import { ConfigError } from "../errors/errors.js";
import { checkKeys, fmt } from "../optim/validate.js";
import { tensor } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { oneHot } from "../ops/movement.js";
import {
  BinaryCrossEntropyLoss, BinaryCrossEntropyWithLogitsLoss, CrossEntropyLoss, FocalLoss, HuberLoss, L1Loss, MSELoss, RMSELoss, SmoothL1Loss,
  type Loss,
} from "./modules.js";

interface LossEntry {
  /** the options a spec may give */
  options: readonly string[];
  /** options that may be a JSON array of one number per output (a tensor) */
  perOutput: readonly string[];
  /** "labels": takes class labels as they are; "values": compares outputs with (one-hot) values */
  targets: "labels" | "values" | "either";
  make(options: Record<string, unknown>): Loss;
}

/** Every loss a config can name. */
export const LOSSES = {
  crossEntropy: { options: ["labelSmoothing", "weight", "ignoreIndex"], perOutput: ["weight"], targets: "labels", make: (o) => new CrossEntropyLoss(o) },
  focal: { options: ["gamma", "alpha"], perOutput: ["alpha"], targets: "either", make: (o) => new FocalLoss(o) },
  binaryCrossEntropyWithLogits: { options: ["weight", "posWeight"], perOutput: ["weight", "posWeight"], targets: "values", make: (o) => new BinaryCrossEntropyWithLogitsLoss(o) },
  binaryCrossEntropy: { options: ["weight"], perOutput: ["weight"], targets: "values", make: (o) => new BinaryCrossEntropyLoss(o) },
  mse: { options: [], perOutput: [], targets: "values", make: () => new MSELoss() },
  l1: { options: [], perOutput: [], targets: "values", make: () => new L1Loss() },
  smoothL1: { options: ["beta"], perOutput: [], targets: "values", make: (o) => new SmoothL1Loss(o) },
  huber: { options: ["delta"], perOutput: [], targets: "values", make: (o) => new HuberLoss(o) },
  rmse: { options: [], perOutput: [], targets: "values", make: () => new RMSELoss() },
} satisfies Record<string, LossEntry>;

export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as LossName[];

/** A loss as a config writes it: its name, or an object with its type and options. */
export type LossSpec = string | { type: string; [option: string]: unknown };

/** What the loss is trained on: class labels (with the number of classes) or float targets. */
export interface LossTask {
  classification: boolean;
  /** the model's outputs per sample: the classes, or the regression targets' width */
  outputs: number;
  dtype: "float32" | "float64";
}

/** The loss's name and options from a spec, checked against the table (names and option keys). */
export function parseLossSpec(spec: LossSpec): { name: LossName; options: Record<string, unknown> } {
  const { type, ...options } = typeof spec === "string" ? { type: spec } : spec;
  if (!(LOSS_NAMES as readonly string[]).includes(type)) throw new ConfigError(`unknown loss ${fmt(type)} (expected one of ${LOSS_NAMES.join(", ")})`);
  const name = type as LossName;
  checkKeys(`loss ${name}`, options, LOSSES[name].options);
  return { name, options };
}

/** Options that may also be one number: focal's alpha (the same for every class), posWeight (broadcast). */
const SCALAR_OK: readonly string[] = ["alpha", "posWeight"];

/** The loss object of `name`; a per-output array must have `outputs` values (any count when null). */
function build(name: LossName, options: Record<string, unknown>, outputs: number | null, dtype: "float32" | "float64", per: string): Loss {
  const entry: LossEntry = LOSSES[name];
  const built: Record<string, unknown> = { ...options };
  for (const key of entry.perOutput) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v === "number" && SCALAR_OK.includes(key)) {
      if (key !== "alpha") built[key] = tensor([v], { dtype });
      continue;
    }
    const ok = Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x)) && (outputs === null || v.length === outputs);
    if (!ok) throw new ConfigError(`loss ${name}: ${key} must be an array of ${outputs === null ? "" : `${outputs} `}finite numbers (one per ${per}), got ${fmt(v)}`);
    built[key] = tensor(v as number[], { dtype });
  }
  try {
    return entry.make(built);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(`loss ${name}: ${e.message}`) : e;
  }
}

/** Checks a spec without data: its name, its option names and the values a loss checks at construction. */
export function checkLossSpec(spec: LossSpec): void {
  const { name, options } = parseLossSpec(spec);
  build(name, options, null, "float32", "output");
}

/** The default loss: cross-entropy for class labels, mean squared error for float targets. */
export function defaultLoss(classification: boolean): LossName {
  return classification ? "crossEntropy" : "mse";
}

/**
 * The training loss `(output, target) => scalar` a spec names, for `task` (null: the default by
 * the target's type). Options are validated now; a per-output array must have `task.outputs`
 * values.
 */
export function createLoss(spec: LossSpec | null, task: LossTask): (output: Tensor, target: Tensor) => Tensor {
  const { name, options } = spec === null ? { name: defaultLoss(task.classification), options: {} } : parseLossSpec(spec);
  const entry: LossEntry = LOSSES[name];
  if (!task.classification && entry.targets === "labels") {
    throw new ConfigError(`loss ${name} needs class labels, but the targets are numbers (a regression); use mse, l1, smoothL1, huber or rmse`);
  }
  const loss = build(name, options, task.outputs, task.dtype, task.classification ? "class" : "output");
  const takesLabels = task.classification && entry.targets !== "values";
  if (takesLabels) return (out, y) => loss.forward(out, y);
  if (task.classification) return (out, y) => loss.forward(out, oneHot(y, task.outputs, out.dtype));
  return (out, y) => loss.forward(out, y.rank === 1 ? y.reshape([-1, 1]) : y);
}
