/** Public exports of src/data for Node (descent/node): the bundled MNIST digits, IDX and CSV files. */
export { loadMnist, DIGIT_CLASSES } from "./mnist.js";
export { loadIdx, readIdx, parseIdx, idxDataset, FASHION_MNIST_CLASSES } from "./idx.js";
export type { IdxArray, IdxType, IdxDatasetOptions } from "./idx.js";
export { loadCsv, parseCsv } from "./csv.js";
export type { CsvOptions, CsvLabelType } from "./csv.js";
