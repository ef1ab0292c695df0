/** Public exports of src/io that run anywhere: the safetensors and checkpoint formats as bytes, and fetch. */
export { encodeSafetensors, encodeSafetensorsAsync, decodeSafetensors } from "./safetensors.js";
export type { SafetensorsContents, DecodeSafetensorsOptions, SafetensorsDType } from "./safetensors.js";
export { fetchSafetensors } from "./safetensors-fetch.js";
export { encodeCheckpoint, encodeCheckpointAsync, decodeCheckpoint, MemoryCheckpoints, CHECKPOINT_VERSION } from "./checkpoint.js";
export type { CheckpointContents, LoadedCheckpoint, CheckpointStore } from "./checkpoint.js";
export { DESCENT_VERSION } from "./version.js";
export { parseJson, MAX_JSON_DEPTH, MAX_JSON_CHARS } from "./json.js";
export type { ParseJsonOptions } from "./json.js";
