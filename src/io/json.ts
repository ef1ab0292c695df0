/**
 * The one guarded JSON reader: every JSON text the library reads from a file (safetensors headers,
 * checkpoint metadata, model files, configs, run summaries) goes through `parseJson`, which bounds
 * the text's size and nesting depth *before* JSON.parse and before anything recursive (validators,
 * error messages, JSON.stringify) sees the value. A 40 KB file of 20,000 nested brackets is then a
 * one-line FileFormatError naming the file and the byte where the nesting passes the limit, not a
 * stack overflow somewhere downstream.
 *
 * The depth scan is one linear pass over the text that counts brackets outside strings; JSON.parse
 * itself then sees only shallow text. After parsing, numbers JSON.parse turned into Infinity (a
 * literal such as 1e999) are refused with their path: JSON has no infinity, and a value that is not
 * what the file says must not reach training.
 *
 * Values built in code (a config object handed to the API) are bounded with `withinDepth`
 * (errors/values.ts), which uses an explicit stack instead of recursion. Browser-safe: no node: imports.
 */
import { FileFormatError } from "../errors/errors.js";

/** The deepest nesting of objects and arrays any descent file needs is well under this. */
export const MAX_JSON_DEPTH = 64;

/** The default bound on a JSON text's length in characters (16 MiB); callers may pass their own. */
export const MAX_JSON_CHARS = 16 * 1024 * 1024;

export interface ParseJsonOptions {
  /** Names the text in errors: a file path, or "file: field". */
  source: string;
  /** Bound on the nesting depth (default MAX_JSON_DEPTH). */
  maxDepth?: number;
  /** Bound on the length of the text (default MAX_JSON_CHARS). */
  maxChars?: number;
  /** Added to positions in messages, e.g. 8 for a safetensors header that starts at file byte 8. */
  offset?: number;
  /** How positions are named (default "character"). */
  unit?: string;
}

/**
 * Parses JSON text whose size and depth are bounded; every failure is a FileFormatError
 * `<source>: ...` with the position where the text goes wrong.
 */
export function parseJson(text: string, options: ParseJsonOptions): unknown {
  const { source } = options;
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const maxChars = options.maxChars ?? MAX_JSON_CHARS;
  const offset = options.offset ?? 0;
  const unit = options.unit ?? "character";
  if (text.length > maxChars) {
    throw new FileFormatError(`${source}: the JSON is ${text.length} characters long, over the limit of ${maxChars}`);
  }
  const deep = depthExceeded(text, maxDepth);
  if (deep >= 0) {
    throw new FileFormatError(`${source}: JSON nested deeper than ${maxDepth} levels (at ${unit} ${offset + deep}): a damaged or hostile file`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? ` at ${unit} ${offset + Number(pos[1])}` : "";
    throw new FileFormatError(`${source}: not valid JSON (${msg})${where}`);
  }
  const infinite = findNonFinite(value);
  if (infinite !== null) {
    throw new FileFormatError(`${source}: ${infinite}: a number too large to represent (it reads as Infinity)`);
  }
  return value;
}

/** The index of the bracket that opens level maxDepth + 1, or -1 when the text stays within it. */
function depthExceeded(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** The path of the first non-finite number in a parsed JSON value (depth already bounded), or null. */
function findNonFinite(value: unknown, path = ""): string | null {
  if (typeof value === "number") return Number.isFinite(value) ? null : path || "the top-level value";
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const found = findNonFinite(v, path ? `${path}.${k}` : k);
    if (found !== null) return found;
  }
  return null;
}
