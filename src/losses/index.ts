/** Public exports of src/losses: loss functions, loss objects, losses from a config's spec, and the weight penalties. */
export { crossEntropy, binaryCrossEntropy, binaryCrossEntropyWithLogits, focal, l1, mse, smoothL1, huber, rmse } from "./losses.js";
export type {
  Reduction, ReductionOptions, CrossEntropyOptions, BinaryCrossEntropyOptions, BinaryCrossEntropyWithLogitsOptions, FocalOptions,
} from "./losses.js";
export {
  Loss, CrossEntropyLoss, BinaryCrossEntropyLoss, BinaryCrossEntropyWithLogitsLoss, FocalLoss, L1Loss, MSELoss, SmoothL1Loss, HuberLoss,
  RMSELoss,
} from "./modules.js";
export { createLoss, checkLossSpec, parseLossSpec, defaultLoss, LOSSES, LOSS_NAMES } from "./create.js";
export type { LossName, LossSpec, LossTask } from "./create.js";
// Penalties are added to the loss, so they are reachable from here too (they live in src/nn).
export { l1Penalty, l2Penalty } from "../nn/regularization.js";
