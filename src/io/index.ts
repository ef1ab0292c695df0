/** Public exports of src/io: file formats and atomic writes. */
export { writeFileAtomic } from "./atomic.js";
export { encodeSafetensors, decodeSafetensors, writeSafetensors, readSafetensors } from "./safetensors.js";
export type { SafetensorsContents, DecodeSafetensorsOptions, SafetensorsDType } from "./safetensors.js";
export {
  writeCheckpoint, readCheckpoint, listCheckpoints, pruneCheckpoints, CHECKPOINT_VERSION, EPOCH_CHECKPOINT_PATTERN,
} from "./checkpoint.js";
export type { CheckpointContents, LoadedCheckpoint } from "./checkpoint.js";
export { saveModelFiles, loadModelFiles, readArchitecture, MODEL_FORMAT } from "./modelfile.js";
export type { ModelArchitecture, ModelFiles } from "./modelfile.js";
export { DESCENT_VERSION } from "./version.js";
export { parseJson, MAX_JSON_DEPTH, MAX_JSON_CHARS } from "./json.js";
export type { ParseJsonOptions } from "./json.js";
