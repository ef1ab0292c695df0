/**
 * safetensors: the tensor file format of Hugging Face's `safetensors` library, byte for byte.
 *
 *   bytes 0..8        N, the header length, an unsigned 64-bit little-endian integer
 *   bytes 8..8+N      the header: UTF-8 JSON, padded with spaces so that N is a multiple of 8
 *                     { "__metadata__": { "<key>": "<string>", ... },            (optional)
 *                       "<name>": { "dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16] }, ... }
 *   bytes 8+N..end    the data: each tensor's elements, row-major, little-endian, at
 *                     [begin, end) counted from the first byte after the header
 *
 * The reference writer (Rust `safetensors::serialize`, which `safetensors.torch.save_file` calls)
 * orders tensors by dtype descending in its enum order (U64, I64, F64, F32, U32, I32, BF16, F16,
 * U16, I16, F8_*, I8, U8, BOOL: roughly by alignment) and then by name (byte order), lays them out
 * contiguously from offset 0, writes `__metadata__` first when there is one, and serializes the
 * header compactly (`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`). We write the same
 * bytes for the dtypes descent has (F64, F32, I32).
 *
 * The reader accepts what the reference reader accepts (tensors in any order in the header, extra
 * fields in a tensor entry) and refuses what it refuses: data offsets that leave a hole, overlap,
 * disagree with shape x dtype size, or do not end exactly at the end of the file. It reads F32,
 * F64 and I32 as they are; F16 and BF16 convert to float32 (exactly: every half is a float32);
 * BOOL, U8, I8, I16, U16, U32, I64 and U64 convert to int32 when every value fits, else the tensor
 * is named in the error. Every check runs before any data is touched, so a damaged file gives a
 * FileFormatError naming the file and what is wrong, never a read out of bounds or garbage.
 */
import type { Backend } from "../backend/backend.js";
import { ConfigError, DTypeError, FileFormatError, fmtShape } from "../errors/errors.js";
import { fromValues } from "../tensor/creation.js";
import type { DType, TypedArray } from "../tensor/dtype.js";
import { Tensor } from "../tensor/tensor.js";
import { preview } from "../errors/values.js";
import { parseJson } from "./json.js";

/** Every dtype name the format defines, in the reference's enum order (the writer sorts by it). */
const FORMAT_DTYPES = [
  "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
  "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64", "C64",
] as const;

/** The dtypes descent reads, with their element size in bytes. */
const READABLE = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;

export type SafetensorsDType = keyof typeof READABLE;

/** The format's name for each descent dtype (what we write). */
const WRITE_NAME: Record<DType, "F32" | "F64" | "I32"> = { float32: "F32", float64: "F64", int32: "I32" };

/** The reference caps the header at 100 MB; a larger length is a damaged or foreign file. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings ({} when the file has none). */
  metadata: Record<string, string>;
}

export interface DecodeSafetensorsOptions {
  /** Names the bytes in error messages, usually the file path. */
  source: string;
  /** Where the tensors live (the current backend by default). */
  backend?: Backend;
}

/**
 * Serializes tensors (float32, float64 or int32, on a backend with synchronous reads) and optional
 * string metadata to the bytes of a .safetensors file, exactly as the reference writer lays them out.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = checkedEntries(tensors, metadata);
  const values = entries.map(([name, t]) => {
    if (!t.backend.readSync) {
      throw new DTypeError(`safetensors: tensor "${name}" lives on the ${t.backend.name} backend, which reads asynchronously; use encodeSafetensorsAsync`);
    }
    return t.backend.readSync(t.dataId);
  });
  return assemble(entries, values, metadata);
}

/** encodeSafetensors reading the values with `await`, for any backend. */
export async function encodeSafetensorsAsync(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const entries = checkedEntries(tensors, metadata);
  const values: TypedArray[] = [];
  for (const [, t] of entries) values.push(await t.data());
  return assemble(entries, values, metadata);
}

/** The tensors to write, checked, in the reference writer's order (dtype rank, then name bytes). */
function checkedEntries(tensors: Record<string, Tensor>, metadata: Record<string, string> | undefined): [string, Tensor][] {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new ConfigError(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new ConfigError(`safetensors: "${name}" is not a Tensor`);
  }
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new ConfigError(`safetensors: metadata "${key}" is ${typeof value}; metadata values must be strings`);
      }
    }
  }
  const rank = (t: Tensor): number => FORMAT_DTYPES.indexOf(WRITE_NAME[t.dtype]);
  const utf8 = new TextEncoder();
  entries.sort(([an, at], [bn, bt]) => rank(bt) - rank(at) || compareBytes(utf8.encode(an), utf8.encode(bn)));
  return entries;
}

/** The file's bytes from the checked entries and their values (in the same order). */
function assemble(entries: readonly [string, Tensor][], values: readonly TypedArray[], metadata: Record<string, string> | undefined): Uint8Array {
  const utf8 = new TextEncoder();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header["__metadata__"] = metadata;
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [k, [name, t]] of entries.entries()) {
    const bytes = toLittleEndianBytes(values[k]!);
    Object.defineProperty(header, name, {
      value: { dtype: WRITE_NAME[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] },
      enumerable: true, writable: true, configurable: true,
    });
    datas.push(bytes);
    offset += bytes.length;
  }
  const json = utf8.encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const d of datas) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}

/** Byte order of two byte strings (the reference sorts names by their UTF-8 bytes). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  size: number;
  begin: number;
  end: number;
}

/** Parses and validates the bytes of a .safetensors file; every failure is a FileFormatError. */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeSafetensorsOptions): SafetensorsContents {
  const src = options.source;
  const fail = (what: string): never => {
    throw new FileFormatError(`${src}: ${what}`);
  };
  if (bytes.length < 8) fail(`not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(`header length ${n64} (bytes 0..8) is larger than the rest of the file (${bytes.length - 8} bytes): the file is truncated or not safetensors`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} is over the 100 MB limit of the format`);
  if (n < 2) fail(`header length ${n} is too small to hold a JSON object`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail(`header (bytes 8..${8 + n}) is not valid UTF-8`);
  }
  const header = parseJson(text, { source: `${src}: header (bytes 8..${8 + n})`, maxChars: MAX_HEADER_BYTES, offset: 8, unit: "file byte" });
  if (!isPlainObject(header)) fail(`header is JSON but not an object (found ${describe(header)})`);
  const head = header as Record<string, unknown>;

  const metadata = readMetadata(head["__metadata__"], fail);
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(head)) {
    if (name === "__metadata__") continue;
    entries.push(readEntry(name, info, fail));
  }

  // Data offsets, in file order, must tile [0, data length) exactly.
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: Entry | undefined;
  for (const e of ordered) {
    if (e.begin > cursor) {
      fail(`data bytes ${cursor}..${e.begin} (file bytes ${dataStart + cursor}..${dataStart + e.begin}) belong to no tensor: a hole before "${e.name}"`);
    }
    if (e.begin < cursor) {
      fail(`tensor "${e.name}" data_offsets [${e.begin},${e.end}] overlap tensor "${previous?.name ?? ""}", which ends at ${cursor}`);
    }
    if (e.end > dataLength) {
      fail(
        `tensor "${e.name}" data_offsets [${e.begin},${e.end}] run past the end of the file: the data section ` +
          `(from file byte ${dataStart}) has ${dataLength} bytes; the file is truncated`,
      );
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) {
    fail(`${dataLength - cursor} bytes after the last tensor's data (file bytes ${dataStart + cursor}..${bytes.length}) belong to no tensor`);
  }

  const tensors: [string, Tensor][] = [];
  for (const e of entries) {
    const values = readValues(view, dataStart + e.begin, e, fail);
    tensors.push([e.name, fromValues(values, e.shape, options.backend ? { backend: options.backend } : {})]);
  }
  // fromEntries defines own properties, so a tensor named "__proto__" cannot reach the prototype.
  return { tensors: Object.fromEntries(tensors), metadata };
}

function readMetadata(raw: unknown, fail: (what: string) => never): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) return fail(`"__metadata__" must be an object of strings, found ${describe(raw)}`);
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") fail(`"__metadata__" value "${key}" is ${describe(value)}; metadata values must be strings`);
    out.push([key, value as string]);
  }
  return Object.fromEntries(out);
}

function readEntry(name: string, info: unknown, fail: (what: string) => never): Entry {
  const where = `tensor "${name}"`;
  if (!isPlainObject(info)) return fail(`${where}: expected {dtype, shape, data_offsets}, found ${describe(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== "string") return fail(`${where}: "dtype" is ${describe(dtype)}, expected a string such as "F32"`);
  if (!(dtype in READABLE)) {
    if ((FORMAT_DTYPES as readonly string[]).includes(dtype)) {
      return fail(`${where}: dtype ${dtype} is not supported by descent (it reads ${Object.keys(READABLE).join(", ")})`);
    }
    return fail(`${where}: unknown dtype "${dtype}" (safetensors dtypes are ${FORMAT_DTYPES.join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return fail(`${where}: "shape" must be an array of non-negative integers, found ${preview(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`${where}: "data_offsets" must be [begin, end] with non-negative integers, found ${preview(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) return fail(`${where}: data_offsets [${begin},${end}] end before they begin`);
  const itemSize = READABLE[dtype as SafetensorsDType];
  let size = 1;
  for (const d of shape as number[]) {
    size *= d;
    if (!Number.isSafeInteger(size * itemSize)) return fail(`${where}: shape ${fmtShape(shape as number[])} is too large`);
  }
  if (end - begin !== size * itemSize) {
    return fail(
      `${where}: shape ${fmtShape(shape as number[])} of ${dtype} needs ${size * itemSize} bytes, ` +
        `but data_offsets [${begin},${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], size, begin, end };
}

/** Reads one tensor's elements at file byte `at` (bounds already checked) as a descent typed array. */
function readValues(view: DataView, at: number, e: Entry, fail: (what: string) => never): TypedArray {
  const n = e.size;
  const bytesOf = (): ArrayBuffer => view.buffer.slice(view.byteOffset + at, view.byteOffset + at + (e.end - e.begin)) as ArrayBuffer;
  const intTooLarge = (i: number, v: number | bigint): never =>
    fail(`tensor "${e.name}" (${e.dtype}): element ${i} is ${v}, which does not fit in int32 (descent's integer dtype)`);
  switch (e.dtype) {
    case "F32": {
      if (LITTLE_ENDIAN_HOST) return new Float32Array(bytesOf());
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, true);
      return out;
    }
    case "F64": {
      if (LITTLE_ENDIAN_HOST) return new Float64Array(bytesOf());
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, true);
      return out;
    }
    case "I32": {
      if (LITTLE_ENDIAN_HOST) return new Int32Array(bytesOf());
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToNumber(view.getUint16(at + 2 * i, true));
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(at + 2 * i, true) << 16;
      return out;
    }
    case "BOOL": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getUint8(at + i);
        if (v > 1) fail(`tensor "${e.name}" (BOOL): element ${i} is the byte ${v}, not 0 or 1`);
        out[i] = v;
      }
      return out;
    }
    case "U8": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(at + i);
      return out;
    }
    case "I8": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(at + i);
      return out;
    }
    case "I16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, true);
      return out;
    }
    case "U16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint16(at + 2 * i, true);
      return out;
    }
    case "U32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getUint32(at + 4 * i, true);
        if (v > 0x7fffffff) intTooLarge(i, v);
        out[i] = v;
      }
      return out;
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(at + 8 * i, true);
        if (v > 0x7fffffffn || v < -0x80000000n) intTooLarge(i, v);
        out[i] = Number(v);
      }
      return out;
    }
    case "U64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigUint64(at + 8 * i, true);
        if (v > 0x7fffffffn) intTooLarge(i, v);
        out[i] = Number(v);
      }
      return out;
    }
    default:
      return e.dtype satisfies never;
  }
}

/** IEEE 754 binary16 bits to their value (exact in float32). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

function toLittleEndianBytes(values: TypedArray): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (values instanceof Float32Array) view.setFloat32(4 * i, v, true);
    else if (values instanceof Float64Array) view.setFloat64(8 * i, v, true);
    else view.setInt32(4 * i, v, true);
  }
  return out;
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return "an object";
  if (typeof x === "string") return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x)}`;
  return `${typeof x} ${String(x)}`;
}
