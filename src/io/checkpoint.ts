/**
 * Checkpoints: everything a run needs to resume exactly, in ONE safetensors file, written atomically.
 *
 *   tensors        "<namespace>.<name>", e.g. "model.layers.0.weight", "optimizer.scaleByAdam.mu.layers.0.weight",
 *                  "standardizer.mean"; the namespace is everything before the first dot
 *   __metadata__   { "descent": "<JSON>" } where the JSON is
 *                  { "format": "descent-checkpoint", "version": 1, "namespaces": [...], "state": <state> }
 *
 * `state` is whatever the caller needs besides tensors (epoch, step, RNG states, loader position,
 * schedule state, optimizer scalars, the config) and must survive JSON exactly: non-finite numbers,
 * bigints, functions, `undefined` in arrays and class instances are refused when writing instead of
 * being silently changed by JSON.stringify. `namespaces` keeps a namespace that has no tensors.
 *
 * A file without the "descent" entry is not a checkpoint; one from a newer format version is
 * refused by name, so an old descent never misreads a new checkpoint.
 *
 * This file holds the format (bytes in, bytes out) and the CheckpointStore that fit writes through,
 * with an in-memory store for pages; files on disk are checkpoint-file.ts (descent/node).
 */
import { ConfigError, FileFormatError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { preview, withinDepth } from "../errors/values.js";
import { MAX_JSON_DEPTH, parseJson } from "./json.js";
import { decodeSafetensors, encodeSafetensors, encodeSafetensorsAsync } from "./safetensors.js";

/** The checkpoint format version this descent writes, and the newest it reads. */
export const CHECKPOINT_VERSION = 1;
const CHECKPOINT_FORMAT = "descent-checkpoint";
const METADATA_KEY = "descent";

export interface CheckpointContents {
  /** namespace -> tensor name -> tensor */
  tensors: Record<string, Record<string, Tensor>>;
  /** Everything else, JSON-serializable. */
  state: unknown;
}

export interface LoadedCheckpoint extends CheckpointContents {
  /** The format version the file was written with. */
  version: number;
}

/** The bytes of a checkpoint (a safetensors file), on a backend with synchronous reads; `path` names it in errors. */
export function encodeCheckpoint(contents: CheckpointContents, path: string): Uint8Array {
  const { tensors, metadata } = checkpointEntries(contents, path);
  return encodeSafetensors(tensors, metadata);
}

/** encodeCheckpoint reading the values with `await`, for any backend. */
export async function encodeCheckpointAsync(contents: CheckpointContents, path: string): Promise<Uint8Array> {
  const { tensors, metadata } = checkpointEntries(contents, path);
  return encodeSafetensorsAsync(tensors, metadata);
}

/** The checked, flattened tensors of a checkpoint and its metadata entry. */
function checkpointEntries(contents: CheckpointContents, path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const flat: [string, Tensor][] = [];
  const namespaces = Object.keys(contents.tensors);
  for (const ns of namespaces) {
    if (ns === "" || ns.includes(".")) {
      throw new ConfigError(`writeCheckpoint ${path}: namespace "${ns}" must be non-empty and contain no "."`);
    }
    for (const [name, t] of Object.entries(contents.tensors[ns]!)) flat.push([`${ns}.${name}`, t]);
  }
  // the metadata wraps the state in one more object, and a reader refuses JSON deeper than MAX_JSON_DEPTH
  if (!withinDepth(contents.state, MAX_JSON_DEPTH - 1)) {
    throw new ConfigError(`writeCheckpoint ${path}: state nests deeper than ${MAX_JSON_DEPTH - 1} levels (or is cyclic)`);
  }
  checkJsonExact(contents.state, "state", path);
  const descent = JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, namespaces, state: contents.state });
  return { tensors: Object.fromEntries(flat), metadata: { [METADATA_KEY]: descent } };
}

/** Decodes a checkpoint's bytes; a foreign, newer or damaged one is a FileFormatError naming `path`. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, { source: path });
  const fail = (what: string): never => {
    throw new FileFormatError(`${path}: ${what}`);
  };
  const raw = metadata[METADATA_KEY];
  if (raw === undefined) {
    fail(`not a descent checkpoint: the safetensors metadata has no "${METADATA_KEY}" entry (it holds ${tensorCount(tensors)} tensors; is it a model weights file?)`);
  }
  const header = parseJson(raw!, { source: `${path}: checkpoint metadata "${METADATA_KEY}"` });
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return fail(`checkpoint metadata "${METADATA_KEY}" is not a JSON object`);
  }
  const h = header as Record<string, unknown>;
  if (h["format"] !== CHECKPOINT_FORMAT) {
    fail(`not a descent checkpoint: metadata format is ${preview(h["format"])}, expected "${CHECKPOINT_FORMAT}"`);
  }
  const version = h["version"];
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    return fail(`checkpoint format version ${preview(version)} is not a version number (this descent reads 1..${CHECKPOINT_VERSION})`);
  }
  if (version > CHECKPOINT_VERSION) {
    fail(`checkpoint format version ${version} was written by a newer descent; this version reads up to ${CHECKPOINT_VERSION}: upgrade descent`);
  }
  const namespaces = h["namespaces"];
  if (!Array.isArray(namespaces) || !namespaces.every((ns) => typeof ns === "string" && ns !== "" && !ns.includes("."))) {
    return fail(`checkpoint metadata "namespaces" must be an array of names, found ${preview(namespaces)}`);
  }
  if (!("state" in h)) fail(`checkpoint metadata has no "state"`);

  const grouped = new Map<string, [string, Tensor][]>(namespaces.map((ns: string) => [ns, []]));
  for (const [key, t] of Object.entries(tensors)) {
    const dot = key.indexOf(".");
    const group = dot > 0 ? grouped.get(key.slice(0, dot)) : undefined;
    if (group === undefined) fail(`tensor "${key}" is in no namespace the checkpoint lists (${namespaces.join(", ")})`);
    group!.push([key.slice(dot + 1), t]);
  }
  const out = Object.fromEntries([...grouped].map(([ns, entries]) => [ns, Object.fromEntries(entries)]));
  return { tensors: out, state: h["state"], version };
}

/** Refuses values that JSON.stringify would drop or change, naming where they are. */
function checkJsonExact(value: unknown, where: string, path: string): void {
  const bad = (what: string): never => {
    throw new ConfigError(`writeCheckpoint ${path}: ${where} is ${what}, which JSON cannot hold exactly`);
  };
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) bad(String(value));
      return;
    case "object": {
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v: unknown, i) => {
          if (v === undefined) bad(`undefined (at index ${i})`);
          checkJsonExact(v, `${where}[${i}]`, path);
        });
        return;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        bad(`a ${(value as { constructor?: { name?: string } }).constructor?.name ?? "class"} instance (only plain objects, arrays, strings, finite numbers, booleans and null)`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined) checkJsonExact(v, `${where}.${k}`, path);
      }
      return;
    }
    default:
      bad(`a ${typeof value}`);
  }
}

function tensorCount(tensors: Record<string, unknown>): number {
  return Object.keys(tensors).length;
}

/**
 * Where fit writes and reads checkpoints by name: files in Node (`fileCheckpoints` from
 * descent/node), memory in a page (`memoryCheckpoints()`). Writing reads the tensors with `await`,
 * so it works on any backend; the checkpoint is complete when the promise resolves.
 */
export interface CheckpointStore {
  write(path: string, contents: CheckpointContents): Promise<void>;
  read(path: string): LoadedCheckpoint;
}

/**
 * Checkpoints kept in memory as their encoded bytes, so a page can save and resume a run exactly
 * as from files (the same checks on the way in and out), and download `bytes(path)`.
 */
export class MemoryCheckpoints implements CheckpointStore {
  private readonly files = new Map<string, Uint8Array>();

  async write(path: string, contents: CheckpointContents): Promise<void> {
    this.files.set(path, await encodeCheckpointAsync(contents, path));
  }

  read(path: string): LoadedCheckpoint {
    const bytes = this.files.get(path);
    if (bytes === undefined) throw new FileFormatError(`${path}: no such checkpoint in memory (have ${[...this.files.keys()].join(", ") || "none"})`);
    return decodeCheckpoint(bytes, path);
  }

  /** The encoded checkpoint (a .safetensors file), or undefined. */
  bytes(path: string): Uint8Array | undefined {
    return this.files.get(path);
  }

  names(): string[] {
    return [...this.files.keys()];
  }
}
