/**
 * Kind `optimizer`: builds the named optimizer from the case's attrs (createOptimizer, so the
 * CLI's path is the one tested), gives it each step's gradients by name, and records every
 * parameter after each step. Arithmetic runs in the case's dtype.
 */
import { ConfigError } from "../../errors/errors.js";
import { Parameter } from "../../nn/parameter.js";
import type { DType } from "../../tensor/dtype.js";
import { createOptimizer, OPTIMIZER_NAMES, type OptimizerName } from "../../optim/optimizer.js";
import { fromTensors, toTensors } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

export async function evaluateOptimizerCase(c: ConformanceCase, dtype: DType): Promise<CaseResult> {
  const name = c.optimizer as string;
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name)) throw new ConfigError(`unsupported optimizer "${name}"`);
  const attrs = Object.fromEntries(Object.entries((c.attrs ?? {}) as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined));
  const params = Object.fromEntries(Object.entries(toTensors(c.params, dtype, "params")).map(([k, t]) => [k, new Parameter(t)]));
  if (!Array.isArray(c.grads)) throw new ConfigError(`"grads" must be a list (one entry per step)`);
  const opt = createOptimizer(name as OptimizerName, params, attrs as never);
  const trajectory = [];
  for (const [i, g] of c.grads.entries()) {
    opt.step(toTensors(g, dtype, `grads[${i}]`));
    trajectory.push(await fromTensors(params));
  }
  return { params: trajectory };
}
