/** Public exports of src/data for Node (descent/node): the bundled MNIST digits, IDX and CSV files. */
export { loadMnist, DIGIT_CLASSES } from "./mnist.js";
export { loadIdx, readIdx, parseIdx, idxDataset, FASHION_MNIST_CLASSES, MAX_IDX_BYTES } from "./idx.js";
export type { IdxArray, IdxType, IdxDatasetOptions } from "./idx.js";
export { loadCsv, parseCsv, loadCsvFeatures, parseCsvFeatures, MAX_CSV_BYTES } from "./csv.js";
export type { CsvOptions, CsvLabelType, CsvFeatureOptions } from "./csv.js";
