/**
 * The diagnosis codes: one table, the single source of what each verdict means and what to do
 * about it (the remedies of the study notes, in the order to try them). The findings engine
 * (findings.ts) decides when a code applies and with what evidence; the CLI, the JSON output,
 * the report and docs read titles and remedies from here.
 */

export type Severity = "problem" | "warning" | "info";

export const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { problem: 0, warning: 1, info: 2 };

export const DIAGNOSIS_CODES = {
  healthy: {
    title: "no problem found",
    remedies: [],
  },
  "high-bias": {
    title: "high bias: the training error is far above the target error",
    remedies: ["a bigger network (more units or layers)", "train longer", "a better optimizer (Adam, momentum)", "another architecture"],
  },
  "high-variance": {
    title: "high variance: the model does much worse on data it did not train on",
    remedies: ["more training data", "data augmentation", "L2 regularization or dropout", "early stopping", "a smaller network"],
  },
  "data-mismatch": {
    title: "data mismatch: dev data differ from the training data",
    remedies: ["make the training data more like dev: collect more such data", "augment the training data toward dev", "synthesize data like dev's"],
  },
  "overfit-dev": {
    title: "overfitting to dev: the test error is well above the dev error",
    remedies: ["a bigger dev set", "fewer model choices made on dev (less tuning to it)"],
  },
  "optimization-problem": {
    title: "optimization problem: a shallower twin trains to a lower training loss",
    remedies: ["residual connections or batch normalization", "He or Xavier initialization", "a better optimizer or learning rate", "train longer"],
  },
  "lr-too-high": {
    title: "learning rate too high: the loss rises, oscillates or overflows",
    remedies: ["a lower learning rate (lr / 10)", "learning-rate warm-up", "gradient clipping (clipGradNorm)"],
  },
  "lr-too-low": {
    title: "learning rate too low: the loss barely moves while the gradient is not small",
    remedies: ["a higher learning rate (lr × 10)", "an adaptive optimizer (Adam)", "a learning-rate range test"],
  },
  "vanishing-gradients": {
    title: "vanishing gradients: gradients shrink by orders of magnitude toward the input",
    remedies: ["ReLU instead of sigmoid or tanh", "He (ReLU) or Xavier (tanh) initialization", "batch normalization", "a shallower network or residual connections"],
  },
  "exploding-gradients": {
    title: "exploding gradients: gradients grow by orders of magnitude",
    remedies: ["gradient clipping (clipGradNorm)", "a lower learning rate", "He or Xavier initialization", "batch normalization"],
  },
  "dead-relu": {
    title: "dead ReLUs: units never active on a sample of the data",
    remedies: ["a lower learning rate", "He initialization (and a small positive bias)", "leaky ReLU or ELU", "batch normalization"],
  },
  "saturated-units": {
    title: "saturated units: sigmoid/tanh outputs stuck where their derivative is ~0",
    remedies: ["ReLU instead of sigmoid or tanh", "Xavier initialization (smaller initial weights)", "standardize the inputs", "batch normalization"],
  },
  "symmetric-weights": {
    title: "symmetric weights: the units of a layer are identical and stay so",
    remedies: ["random initialization (He for ReLU, Xavier for tanh) instead of zeros or a constant"],
  },
  "unnormalized-inputs": {
    title: "unnormalized inputs: feature scales differ by orders of magnitude",
    remedies: ["standardize the inputs (\"standardize\": true)", "then a larger learning rate may work"],
  },
  plateau: {
    title: "plateau: the loss is flat and the gradient small",
    remedies: ["check the critical point (descent diagnose RUN --hessian)", "momentum or Adam to move through flat regions", "a learning-rate schedule with restarts"],
  },
  "saddle-point": {
    title: "saddle point: training is stuck where the Hessian has a negative eigenvalue",
    remedies: ["step along the negative-curvature eigenvector (descent diagnose RUN --escape, then train --resume)", "SGD noise or momentum", "random (not symmetric) initialization"],
  },
  "local-minimum": {
    title: "local minimum: every curvature at the point is positive (or flat)",
    remedies: ["if the error is still too high: a bigger network, another initialization or architecture"],
  },
  "local-maximum": {
    title: "local maximum: every curvature at the point is negative",
    remedies: ["step along the eigenvector of λmin (descent diagnose RUN --escape)", "random initialization"],
  },
  "non-finite": {
    title: "non-finite values: the loss or activations became NaN or infinite",
    remedies: ["a lower learning rate (lr / 10)", "gradient clipping (clipGradNorm)", "check the input data for NaN or infinity", "standardize the inputs"],
  },
} as const satisfies Record<string, { title: string; remedies: readonly string[] }>;

export type DiagnosisCode = keyof typeof DIAGNOSIS_CODES;

export const DIAGNOSIS_CODE_NAMES = Object.keys(DIAGNOSIS_CODES) as DiagnosisCode[];

export interface LayerRef {
  /** the layer's index in the model, as the summary prints it */
  index: number;
  /** its class name: Linear, ReLU, ... */
  type: string;
}

export interface Finding {
  code: DiagnosisCode;
  severity: Severity;
  layer?: LayerRef;
  evidence: Record<string, unknown>;
  remedies: string[];
}

/** A finding with the table's remedies. */
export function finding(code: DiagnosisCode, severity: Severity, evidence: Record<string, unknown>, layer?: LayerRef): Finding {
  return { code, severity, ...(layer ? { layer } : {}), evidence, remedies: [...DIAGNOSIS_CODES[code].remedies] };
}
