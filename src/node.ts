/**
 * descent/node: the whole browser-safe API of src/index.ts, plus what needs Node: the loaders of
 * files (MNIST digits, IDX, CSV), safetensors, checkpoint and model files, run folders and
 * experiments, hyperparameter search, terminal progress, and a `fit` whose checkpoints are files.
 */
export * from "./index.js";
export * from "./data/node.js";
export * from "./io/node.js";
export * from "./train/node.js";
// hyperparameter search: study folders, local worker processes and the Redis queue
export * from "./search/index.js";
// over the browser entry's fit (explicit exports win over `export *`)
export { fit } from "./train/fit-files.js";
