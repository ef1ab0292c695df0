/** Public exports of src/io for Node (descent/node): atomic writes, safetensors, checkpoint and model files. */
export { writeFileAtomic } from "./atomic.js";
export { writeSafetensors, readSafetensors } from "./safetensors-file.js";
export { writeCheckpoint, readCheckpoint, listCheckpoints, pruneCheckpoints, fileCheckpoints, EPOCH_CHECKPOINT_PATTERN } from "./checkpoint-file.js";
export { saveModelFiles, loadModelFiles, readArchitecture, MODEL_FORMAT } from "./modelfile.js";
export type { ModelArchitecture, ModelFiles } from "./modelfile.js";
