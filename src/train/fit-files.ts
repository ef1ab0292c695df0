/**
 * fit for Node (descent/node's `fit`): the same loop, with checkpoints read and written as files
 * unless the options name another store.
 */
import { fileCheckpoints } from "../io/checkpoint-file.js";
import { fit as fitWithStore, type FitOptions, type History, type TrainableModel } from "./fit.js";

export function fit(model: TrainableModel, options: FitOptions): Promise<History> {
  return fitWithStore(model, { ...options, checkpoints: options.checkpoints ?? fileCheckpoints });
}
