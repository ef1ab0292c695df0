/**
 * Checkpoints on disk (Node only, exported from descent/node): the format is checkpoint.ts; this
 * file writes it atomically, reads it back, lists and prunes a folder's checkpoints, and is the
 * file-backed CheckpointStore that descent/node's fit uses by default.
 */
import { readFileSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, FileFormatError } from "../errors/errors.js";
import { writeFileAtomic } from "./atomic.js";
import { decodeCheckpoint, encodeCheckpoint, encodeCheckpointAsync, type CheckpointContents, type CheckpointStore, type LoadedCheckpoint } from "./checkpoint.js";

/**
 * Writes a checkpoint atomically: a reader sees the previous file or this one, never half of one.
 * Reads the tensors synchronously (cpu, wasm); `fileCheckpoints.write` does the same with `await`.
 */
export function writeCheckpoint(path: string, contents: CheckpointContents): void {
  writeFileAtomic(path, encodeCheckpoint(contents, path));
}

/** Reads a checkpoint written by `writeCheckpoint`; a foreign, newer or damaged file is a FileFormatError. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read the file: ${(e as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}

/** Checkpoints as files, by path (written atomically, the tensors read with `await`: any backend). */
export const fileCheckpoints: CheckpointStore = {
  write: async (path, contents) => writeFileAtomic(path, await encodeCheckpointAsync(contents, path)),
  read: readCheckpoint,
};

/** The default checkpoint file names of a run folder: `epoch-<E>.ckpt`. */
export const EPOCH_CHECKPOINT_PATTERN = /^epoch-(\d+)\.ckpt$/;

/**
 * The checkpoint files in `dir` whose names match `pattern`, oldest first: ordered by the number in
 * the pattern's first capture group when it has one, else by name. A missing folder has none.
 */
export function listCheckpoints(dir: string, pattern: RegExp = EPOCH_CHECKPOINT_PATTERN): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const found: { name: string; order: number }[] = [];
  for (const name of names) {
    const m = new RegExp(pattern.source, pattern.flags.replace("g", "").replace("y", "")).exec(name);
    if (m === null) continue;
    const order = m[1] !== undefined ? Number(m[1]) : NaN;
    found.push({ name, order });
  }
  found.sort((a, b) => (Number.isNaN(a.order) || Number.isNaN(b.order) || a.order === b.order ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.order - b.order));
  return found.map((f) => join(dir, f.name));
}

/** Deletes all but the last `keep` checkpoints of `listCheckpoints(dir, pattern)`; returns the deleted paths. */
export function pruneCheckpoints(dir: string, keep: number, pattern: RegExp = EPOCH_CHECKPOINT_PATTERN): string[] {
  if (!Number.isInteger(keep) || keep < 0) throw new ConfigError(`pruneCheckpoints: keep must be an integer >= 0, got ${keep}`);
  const all = listCheckpoints(dir, pattern);
  const doomed = all.slice(0, Math.max(0, all.length - keep));
  for (const path of doomed) unlinkSync(path);
  return doomed;
}
