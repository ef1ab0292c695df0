/**
 * Public exports of src/data that run anywhere: datasets in memory, splits, standardization, the
 * batch loader, and augmentation. The loaders of files and of the mnist package are in ./node.ts.
 */
export {
  createDataset, subset, takeRows, withRole, classCounts, describeDataset, MAX_CLASSES,
} from "./dataset.js";
export type { Dataset, DatasetOptions, DatasetRole } from "./dataset.js";
export { split, defaultSplitRatios } from "./split.js";
export type { SplitOptions, SplitRatios, SplitResult } from "./split.js";
export { Standardizer } from "./standardize.js";
export type { StandardizerOptions, StandardizerJSON } from "./standardize.js";
export { DataLoader } from "./loader.js";
export type { LoaderOptions, LoaderState, Batch } from "./loader.js";
export {
  augment, parseAugmentSpecs, randomFlip, randomCrop, randomRotation, elasticDistortion,
} from "./augment.js";
export type { AugmentSpec, RandomFlipSpec, RandomCropSpec, RandomRotationSpec, ElasticSpec } from "./augment.js";
