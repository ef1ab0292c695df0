/**
 * The registry of case kinds: kind name -> evaluator. A new kind is a file in this folder plus one
 * line here.
 */
import type { DType } from "../../tensor/dtype.js";
import { evaluateOpCase } from "./op.js";
import { evaluateLossCase } from "./loss.js";
import { evaluateHessianCase } from "./hessian.js";
import { evaluateOptimizerCase } from "./optimizer.js";
import { evaluateScheduleCase } from "./schedule.js";

/** A case as read from its file; kind-specific fields are read by each evaluator. */
export interface ConformanceCase {
  format: string;
  id: string;
  kind: string;
  dtype?: string;
  expected?: unknown;
  [field: string]: unknown;
}

/** A result shaped exactly like the case's `expected`, or an error. */
export type CaseResult = Record<string, unknown> | { error: string };

export type KindEvaluator = (c: ConformanceCase, dtype: DType) => Promise<CaseResult>;

export const KIND_EVALUATORS: Record<string, KindEvaluator> = {
  op: evaluateOpCase,
  loss: evaluateLossCase,
  hessian: evaluateHessianCase,
  optimizer: evaluateOptimizerCase,
  schedule: evaluateScheduleCase,
};
