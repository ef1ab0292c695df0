/**
 * Property-based mutation test of every loader (issue 9, item 14): fast-check draws mutations of
 * valid files of every format (fixtures.ts) and each mutated file is loaded. The property: a load
 * either succeeds and what it loaded is consistent (finite values, labels in range, class names
 * matching the outputs, a resumed run that trains), or it throws the library's own error naming the
 * file. Anything else (a TypeError, a RangeError from deep JSON, an inconsistent result) fails, and
 * fast-check shrinks it to a small counterexample and prints its seed.
 *
 * Mutations: bytes flipped, set, inserted, deleted, duplicated, the file cut; JSON values (in model
 * files, configs, checkpoint train states and safetensors headers) replaced by hostile ones (sizes of
 * 2^28, 1e39, -1, 1.5, wrong types, 20,000 levels of nesting) or deleted; CSV fields replaced; IDX
 * files byte by byte (they are small, so their headers are hit often); compressed files mutated
 * before or after compression.
 *
 * CI runs DESCENT_FUZZ_RUNS cases in all (default 2,000: about 10 s alone, 25 s beside the rest of
 * the suite), spread over the formats; `npm run test:fuzz` runs 24,000 (DESCENT_FUZZ_SEED picks
 * another seed). The count of each outcome is printed, and the total is in the test's name.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescentError, NonFiniteError } from "../../src/errors/errors.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";
import { LOADERS, makeFixtures, sourceOf, type Fixtures, type Format } from "./fixtures.js";

const TOTAL = Number(process.env.DESCENT_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.DESCENT_FUZZ_SEED ?? 20261201);
const FORMATS: Format[] = ["model", "modelWeights", "checkpoint", "safetensors", "idx", "idxFloat", "idxGz", "csv", "csvInteger", "csvFloat", "csvGz", "config"];

let fx: Fixtures;
const root = mkdtempSync(join(tmpdir(), "descent-fuzz-"));
beforeAll(async () => {
  fx = await makeFixtures(join(root, "fixtures"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Values a damaged or hostile file puts where a JSON value was. "DEEP" becomes 20,000 nested arrays. */
const HOSTILE: unknown[] = [0, -1, 1.5, 2 ** 28, 2 ** 31, 4_000_000, 1e39, -1e9, 1e-45, "x", "", "1", null, true, [], {}, [1, 2], [0, 0, 0, 0], "DEEP", "a".repeat(100_000)];
const DEEP = "[".repeat(20_000) + "]".repeat(20_000);
/** Fields a CSV cell may become. */
const CELLS = ["1e39", "-1e39", "NaN", "", "2147483648", "-1", "x", "1e-50", '"a,b"', "3", "0", "blue", '"', "1,2"];

type ByteOp =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "cut"; at: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number };
type JsonOp = { kind: "json"; target: number; value: number; remove: boolean };
type CellOp = { kind: "cell"; target: number; value: number };
type Op = ByteOp | JsonOp | CellOp;

/** A relative position in [0, 1), uniform (fast-check doubles crowd near 0). */
const position = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((i) => i / 1_000_000);
const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: position }),
  fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
);
const jsonOp: fc.Arbitrary<JsonOp> = fc.record({ kind: fc.constant("json" as const), target: position, value: fc.nat({ max: HOSTILE.length - 1 }), remove: fc.boolean() });
const cellOp: fc.Arbitrary<CellOp> = fc.record({ kind: fc.constant("cell" as const), target: position, value: fc.nat({ max: CELLS.length - 1 }) });

/** The mutations each format draws from (structure-aware ones where the format has structure). */
function opsFor(format: Format): fc.Arbitrary<Op[]> {
  const structured: fc.Arbitrary<Op> =
    format === "model" || format === "config" || format === "checkpoint" || format === "safetensors" || format === "modelWeights" ? jsonOp
      : format.startsWith("csv") ? cellOp
        : byteOp;
  return fc.array(fc.oneof({ arbitrary: structured, weight: 3 }, { arbitrary: byteOp as fc.Arbitrary<Op>, weight: 1 }), { minLength: 1, maxLength: 3 });
}

const index = (at: number, length: number) => Math.min(length - 1, Math.floor(at * length));

function applyBytes(bytes: Uint8Array, op: ByteOp): Uint8Array {
  const n = bytes.length;
  if (n === 0) return bytes;
  const i = index(op.at, n);
  switch (op.kind) {
    case "flip": {
      const out = bytes.slice();
      out[i] = out[i]! ^ (1 << op.bit);
      return out;
    }
    case "set": {
      const out = bytes.slice();
      out[i] = op.value;
      return out;
    }
    case "cut":
      return bytes.subarray(0, i);
    case "insert":
      return Buffer.concat([bytes.subarray(0, i), Uint8Array.from(op.bytes), bytes.subarray(i)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + op.length)]);
    case "duplicate":
      return Buffer.concat([bytes.subarray(0, i + op.length), bytes.subarray(i)]);
    default:
      return op satisfies never;
  }
}

/** Every path to a value inside a JSON value, in document order. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

/** A JSON text with the value at one path replaced by a hostile one, or deleted. */
function applyJson(text: string, op: JsonOp): string {
  const json = JSON.parse(text) as unknown;
  const all = paths(json).slice(1);
  if (all.length === 0) return text;
  const path = all[index(op.target, all.length)]!;
  const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], json) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (op.remove) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else {
    parent[key] = HOSTILE[op.value];
  }
  return JSON.stringify(json).replace('"DEEP"', DEEP);
}

function applyCell(text: string, op: CellOp): string {
  const cells = [...text.matchAll(/[^,\n]+/g)];
  if (cells.length === 0) return text;
  const m = cells[index(op.target, cells.length)]!;
  return text.slice(0, m.index) + CELLS[op.value]! + text.slice(m.index + m[0].length);
}

/** A safetensors file with its header (or, for a checkpoint, its train state) edited as JSON. */
function applySafetensorsJson(bytes: Uint8Array, op: JsonOp, state: boolean): Uint8Array {
  if (state) {
    const { tensors, metadata } = decodeSafetensors(bytes, { source: "fixture" });
    return encodeSafetensors(tensors, { descent: applyJson(metadata.descent!, op) });
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = Buffer.from(applyJson(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"), op));
  const out = new Uint8Array(8 + header.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes.subarray(8 + n), 8 + header.length);
  return out;
}

/** The mutated bytes of a format's source file. */
function mutate(format: Format, original: Uint8Array, ops: Op[]): Uint8Array {
  // a compressed file is mutated in its content and compressed again (odd op counts), or as it is
  const recompress = (format === "idxGz" || format === "csvGz") && ops.length % 2 === 1;
  let bytes: Uint8Array = recompress ? gunzipSync(original) : original;
  for (const op of ops) {
    try {
      if (op.kind === "json") bytes = format === "model" || format === "config" ? Buffer.from(applyJson(Buffer.from(bytes).toString("utf8"), op)) : applySafetensorsJson(bytes, op, format === "checkpoint");
      else if (op.kind === "cell") bytes = Buffer.from(applyCell(Buffer.from(bytes).toString("utf8"), op));
      else bytes = applyBytes(bytes, op);
    } catch {
      // an edit that needs structure an earlier edit destroyed becomes a flipped byte
      bytes = applyBytes(bytes, { kind: "flip", at: 0.5, bit: 1 });
    }
  }
  return recompress ? gzipSync(bytes) : bytes;
}

type Outcome = "loaded" | "refused" | "diverged";

let caseNo = 0;
/** A few refusal messages per format, printed with the counts. */
const samples: Partial<Record<Format, string[]>> = {};
/** Loads one mutated file; returns the outcome or throws what makes the property fail. */
async function loadMutated(format: Format, ops: Op[]): Promise<Outcome> {
  const source = sourceOf(format, fx);
  const dir = join(root, `case-${caseNo++ % 4}`);
  rmSync(dir, { recursive: true, force: true });
  if (format === "model" || format === "modelWeights") cpSync(dirname(source), dir, { recursive: true });
  else cpSync(source, join(dir, basename(source)));
  const path = join(dir, basename(source));
  writeFileSync(path, mutate(format, readFileSync(source), ops));
  try {
    await LOADERS[format](path, fx);
    return "loaded";
  } catch (e) {
    if (e instanceof NonFiniteError && format === "checkpoint") return "diverged";
    const named = format === "model" || format === "modelWeights" ? dir : path;
    if (e instanceof DescentError && e.message.includes(named)) {
      const seen = (samples[format] ??= []);
      if (seen.length < 3) seen.push(e.message.replace(root, "").slice(0, 160));
      return "refused";
    }
    throw new Error(`${format}: ${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}`);
  }
}

describe("mutated files of every format", () => {
  const perFormat = Math.max(1, Math.round(TOTAL / FORMATS.length));
  it(`${perFormat * FORMATS.length} mutated files: each loads consistently or is refused by descent's own error naming the file`, async () => {
    const counts: Record<string, Record<Outcome, number>> = {};
    for (const [k, format] of FORMATS.entries()) {
      const tally: Record<Outcome, number> = { loaded: 0, refused: 0, diverged: 0 };
      counts[format] = tally;
      await fc.assert(
        fc.asyncProperty(opsFor(format), async (ops) => {
          tally[await loadMutated(format, ops)]++;
        }),
        { seed: SEED + k, numRuns: perFormat, endOnFailure: TOTAL > 5000 },
      );
    }
    const total = Object.values(counts).reduce((n, c) => n + c.loaded + c.refused + c.diverged, 0);
    console.log(`mutation test: ${total} files (seed ${SEED})\n${Object.entries(counts).map(([f, c]) => `  ${f.padEnd(12)} loaded ${c.loaded}, refused ${c.refused}${c.diverged ? `, diverged ${c.diverged}` : ""}${process.env.DESCENT_FUZZ_VERBOSE ? `\n    ${(samples[f as Format] ?? []).join("\n    ")}` : ""}`).join("\n")}`);
    expect(total).toBe(perFormat * FORMATS.length);
    // the mutations reach the checks: most files of each format are refused, some load
    for (const [format, c] of Object.entries(counts)) expect(c.refused, format).toBeGreaterThan(0);
  }, 600_000);
});
