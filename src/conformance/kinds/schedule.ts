/**
 * Kind `schedule`: builds the schedule from `{ type: schedule, ...attrs }` (createSchedule, the
 * CLI's path) and returns the learning rate used in each epoch 0 .. epochs-1. reduceOnPlateau
 * gets metrics[e] at the end of epoch e, so it changes the rate from epoch e + 1 on.
 */
import { ConfigError } from "../../errors/errors.js";
import type { DType } from "../../tensor/dtype.js";
import { tensor } from "../../tensor/creation.js";
import { createSchedule, type ScheduleSpec } from "../../schedules/create.js";
import { ReduceOnPlateau } from "../../schedules/plateau.js";
import { fromTensor } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

export async function evaluateScheduleCase(c: ConformanceCase, dtype: DType): Promise<CaseResult> {
  const epochs = c.epochs;
  if (typeof epochs !== "number" || !Number.isInteger(epochs) || epochs < 0) throw new ConfigError(`"epochs" must be an integer >= 0`);
  const attrs = Object.fromEntries(Object.entries((c.attrs ?? {}) as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined));
  const schedule = createSchedule({ ...attrs, type: c.schedule } as ScheduleSpec);
  const lrs: number[] = [];
  if (schedule instanceof ReduceOnPlateau) {
    const metrics = c.metrics;
    if (!Array.isArray(metrics) || metrics.length < epochs - 1) throw new ConfigError(`reduceOnPlateau needs "metrics", one per epoch`);
    for (let e = 0; e < epochs; e++) {
      lrs.push(schedule.lr);
      if (e < metrics.length) schedule.step(Number(metrics[e]));
    }
  } else {
    for (let e = 0; e < epochs; e++) lrs.push(schedule.lrAt(e));
  }
  return { lr: await fromTensor(tensor(Float64Array.from(lrs), { shape: [epochs], dtype })) };
}
