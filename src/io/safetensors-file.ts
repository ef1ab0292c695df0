/**
 * safetensors files on disk (Node only, exported from descent/node): the format itself, and
 * everything that checks it, is in safetensors.ts, which the browser entry shares.
 */
import { readFileSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import { FileFormatError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { writeFileAtomic } from "./atomic.js";
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents } from "./safetensors.js";

/**
 * Writes a .safetensors file atomically (temporary file, fsync, rename). Reads the tensors
 * synchronously (cpu, wasm); saveModelFiles and the checkpoint stores read with `await`.
 */
export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads a .safetensors file; see `decodeSafetensors`. */
export function readSafetensors(path: string, options: { backend?: Backend } = {}): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read the file: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, options.backend ? { source: path, backend: options.backend } : { source: path });
}
