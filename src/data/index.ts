/**
 * Public exports of src/data: datasets and their loaders (mnist package, IDX, CSV), splits,
 * standardization, the batch loader, and augmentation.
 */
export {
  createDataset, subset, takeRows, withRole, classCounts, describeDataset, MAX_CLASSES,
} from "./dataset.js";
export type { Dataset, DatasetOptions, DatasetRole } from "./dataset.js";
export { loadMnist, DIGIT_CLASSES } from "./mnist.js";
export { loadIdx, readIdx, parseIdx, idxDataset, FASHION_MNIST_CLASSES, MAX_IDX_BYTES } from "./idx.js";
export type { IdxArray, IdxType, IdxDatasetOptions } from "./idx.js";
export { loadCsv, parseCsv, loadCsvFeatures, parseCsvFeatures, MAX_CSV_BYTES } from "./csv.js";
export type { CsvOptions, CsvLabelType, CsvFeatureOptions } from "./csv.js";
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
