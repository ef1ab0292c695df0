/**
 * IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).
 *
 * Layout (all integers big-endian):
 *   offset 0: 0x00 0x00            magic, two zero bytes
 *   offset 2: type code            0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   offset 3: ndims                number of dimensions, >= 1
 *   offset 4: ndims x uint32       the dimensions, first one = number of items
 *   then:     prod(dims) values    row-major, each of the type's size
 *
 * Every error is a FileFormatError naming the file and the byte offset where the problem is (for a
 * .gz file, offsets are in the decompressed bytes). A .gz is inflated with the length its header
 * declares as the bound, and pixels that are not finite float32 values are refused. Parsing is split from file reading so that
 * `parseIdx` also serves bytes from elsewhere (a fetch in the browser, a test).
 */
import { readFileSync } from "node:fs";
import { constants as zlibConstants, gunzipSync, type ZlibOptions } from "node:zlib";
import { FileFormatError, fmtShape } from "../errors/errors.js";
import { sizeOf } from "../tensor/shape.js";
import { createDataset, hostTensor, type Dataset } from "./dataset.js";

/** The largest finite float32 (pixels are stored as float32). */
const FLOAT32_MAX = 3.4028234663852886e38;

export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

const TYPE_CODES: Readonly<Record<number, { type: IdxType; bytes: number }>> = {
  0x08: { type: "uint8", bytes: 1 },
  0x09: { type: "int8", bytes: 1 },
  0x0b: { type: "int16", bytes: 2 },
  0x0c: { type: "int32", bytes: 4 },
  0x0d: { type: "float32", bytes: 4 },
  0x0e: { type: "float64", bytes: 8 },
};

export interface IdxArray {
  /** The element type stored in the file. */
  readonly type: IdxType;
  readonly shape: readonly number[];
  /** The values, converted to numbers (uint8 stays a Uint8Array: it is the common case and exact). */
  readonly values: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
  /** The byte offset of the first value (4 + 4 * ndims). */
  readonly dataOffset: number;
}

/** Parses the bytes of an IDX file; `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (offset: number, what: string): never => {
    throw new FileFormatError(`${file}: byte offset ${offset}: ${what}`);
  };
  if (bytes.length < 4) fail(bytes.length, `truncated IDX header: the file has ${bytes.length} bytes, the header needs at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const got = `0x${hex(bytes[0]!)}${hex(bytes[1]!)}${hex(bytes[2]!)}${hex(bytes[3]!)}`;
    fail(0, `bad magic number ${got}: an IDX file starts with two zero bytes, a type code and the number of dimensions (e.g. 0x00000803)`);
  }
  const code = bytes[2]!;
  const kind = TYPE_CODES[code];
  if (kind === undefined) fail(2, `unknown IDX type code 0x${hex(code)} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)`);
  const { type, bytes: width } = kind!;
  const ndims = bytes[3]!;
  if (ndims === 0) fail(3, "IDX file with 0 dimensions");
  const dataOffset = 4 + 4 * ndims;
  if (bytes.length < dataOffset) {
    fail(bytes.length, `truncated IDX header: ${ndims} dimensions need ${dataOffset} header bytes, the file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = sizeOf(shape);
  const expectedEnd = dataOffset + count * width;
  if (bytes.length < expectedEnd) {
    const whole = Math.floor((bytes.length - dataOffset) / width);
    fail(
      bytes.length,
      `truncated data: shape ${fmtShape(shape)} of ${type} needs ${expectedEnd} bytes, the file ends after ${bytes.length} (${whole} of ${count} values)`,
    );
  }
  if (bytes.length > expectedEnd) {
    fail(expectedEnd, `${bytes.length - expectedEnd} unexpected bytes after the data of shape ${fmtShape(shape)} (wrong dimensions in the header?)`);
  }
  return { type, shape, values: readValues(view, type, dataOffset, count), dataOffset };
}

function readValues(view: DataView, type: IdxType, off: number, n: number): IdxArray["values"] {
  switch (type) {
    case "uint8":
      return new Uint8Array(view.buffer, view.byteOffset + off, n).slice();
    case "int8":
      return new Int8Array(view.buffer, view.byteOffset + off, n).slice();
    case "int16": {
      const a = new Int16Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt16(off + 2 * i, false);
      return a;
    }
    case "int32": {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt32(off + 4 * i, false);
      return a;
    }
    case "float32": {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat32(off + 4 * i, false);
      return a;
    }
    case "float64": {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat64(off + 8 * i, false);
      return a;
    }
    default:
      return type satisfies never;
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0").toUpperCase();
}

/** Reads an IDX file from disk; `.gz` files (or any file starting with the gzip magic 1F 8B) are gunzipped. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
  }
  if (path.endsWith(".gz") || (bytes[0] === 0x1f && bytes[1] === 0x8b)) return parseIdx(inflateIdx(bytes, path), `${path} (decompressed)`);
  return parseIdx(bytes, path);
}

/** The most bytes an IDX file may hold once decompressed (2 GiB). */
export const MAX_IDX_BYTES = 2 ** 31;

/** Deflate expands at most about 1032:1; a header declaring more than that cannot be honest. */
const MAX_INFLATE_RATIO = 1032;

/**
 * Gunzips an IDX file with a limit taken from its own header: the header is inflated first (from a
 * growing prefix of the compressed bytes), its shape gives the exact decompressed length, and the
 * whole file is inflated with that length as the bound, so a small .gz that would inflate to
 * gigabytes is refused before the memory is taken.
 */
function inflateIdx(gz: Uint8Array, path: string): Uint8Array {
  const gunzip = (input: Uint8Array, options: ZlibOptions): Buffer => {
    try {
      return gunzipSync(input, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new FileFormatError(`${path}: decompresses to more than the ${options.maxOutputLength} bytes its IDX header declares (wrong dimensions in the header?)`);
      }
      throw new FileFormatError(`${path}: damaged gzip data (${(e as Error).message})`);
    }
  };
  let head: Uint8Array = new Uint8Array(0);
  for (let take = 256; ; take *= 4) {
    const prefix = gz.subarray(0, take);
    head = gunzip(prefix, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATE_RATIO * prefix.length + 1024 });
    const needed = head.length < 4 ? 4 : 4 + 4 * head[3]!;
    if (head.length >= needed || take >= gz.length) break;
  }
  const declared = declaredLength(head);
  if (declared === null) {
    // the whole stream ends within the header: a strict inflate names a damaged stream, else parseIdx
    // names what is wrong with the header, at its offset
    const needed = head.length < 4 ? 4 : 4 + 4 * head[3]!;
    return head.length < needed ? gunzip(gz, { maxOutputLength: 4 + 4 * 255 }) : head;
  }
  if (declared > MAX_IDX_BYTES) {
    throw new FileFormatError(`${path} (decompressed): byte offset 4: the header declares ${declared} bytes, more than the ${MAX_IDX_BYTES} descent reads`);
  }
  if (declared > MAX_INFLATE_RATIO * gz.length + 1024) {
    throw new FileFormatError(`${path}: the IDX header declares ${declared} bytes, more than ${gz.length} compressed bytes can hold: the file is truncated`);
  }
  return gunzip(gz, { maxOutputLength: Math.max(declared, 1) });
}

/** The total length an IDX header declares (header + data), or null when the header is damaged or incomplete. */
function declaredLength(head: Uint8Array): number | null {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0) return null;
  const kind = TYPE_CODES[head[2]!];
  const ndims = head[3]!;
  if (kind === undefined || ndims === 0 || head.length < 4 + 4 * ndims) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let d = 0; d < ndims; d++) count *= view.getUint32(4 + 4 * d, false);
  return 4 + 4 * ndims + count * kind.bytes;
}

/** The ten Fashion-MNIST classes, by label id. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]);

export interface IdxDatasetOptions {
  /** The images file, e.g. `train-images-idx3-ubyte.gz`: [N, H, W] (one channel) or [N, C, H, W]. */
  images: string;
  /** The labels file, e.g. `train-labels-idx1-ubyte.gz`: [N] integers. */
  labels: string;
  /** Number of classes; labels must lie in [0, numClasses). Default: classNames.length, or 10. */
  numClasses?: number;
  /** Class names by id; default "0", "1", ... (pass FASHION_MNIST_CLASSES for Fashion-MNIST). */
  classNames?: readonly string[];
  /** Divide uint8 pixels by 255 so they lie in [0, 1] (default true; other types are kept as they are). */
  scale?: boolean;
}

/**
 * An image classification dataset from a pair of IDX files (MNIST, Fashion-MNIST, EMNIST):
 * inputs float32 [N, C, H, W] (uint8 pixels scaled to [0, 1]), labels int32 [N].
 */
export function loadIdx(options: IdxDatasetOptions): Dataset {
  const images = readIdx(options.images);
  const labels = readIdx(options.labels);
  return idxDataset(images, labels, options);
}

/** The dataset of `loadIdx` from two parsed IDX arrays; the file names in `options` label errors. */
export function idxDataset(images: IdxArray, labels: IdxArray, options: IdxDatasetOptions): Dataset {
  const fail = (file: string, offset: number, what: string): never => {
    throw new FileFormatError(`${file}: byte offset ${offset}: ${what}`);
  };
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    fail(options.images, 3, `wrong dimensions: images must be [N, H, W] or [N, C, H, W], the file holds ${fmtShape(images.shape)}`);
  }
  if (labels.shape.length !== 1) {
    fail(options.labels, 3, `wrong dimensions: labels must be [N], the file holds ${fmtShape(labels.shape)}`);
  }
  if (labels.type === "float32" || labels.type === "float64") {
    fail(options.labels, 2, `labels must be integers, the file holds ${labels.type}`);
  }
  const n = images.shape[0]!;
  if (labels.shape[0] !== n) {
    throw new FileFormatError(
      `${options.labels}: byte offset 4: ${labels.shape[0]} labels, but ${options.images} (byte offset 4) holds ${n} images`,
    );
  }
  const numClasses = options.numClasses ?? options.classNames?.length ?? 10;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.values[i]!;
    if (v < 0 || v >= numClasses) {
      fail(options.labels, labels.dataOffset + i * (labels.values.BYTES_PER_ELEMENT), `label ${i} is ${v}, out of range for ${numClasses} classes [0, ${numClasses})`);
    }
    y[i] = v;
  }
  const shape = images.shape.length === 3 ? [n, 1, images.shape[1]!, images.shape[2]!] : [...images.shape];
  const x = new Float32Array(images.values.length);
  const divisor = images.type === "uint8" && options.scale !== false ? 255 : 1;
  const src = images.values;
  for (let i = 0; i < x.length; i++) {
    const v = src[i]! / divisor;
    // float pixels become float32: NaN, infinity or a float64 beyond float32 would train on garbage
    if (!(Math.abs(v) <= FLOAT32_MAX)) {
      const where = images.dataOffset + i * src.BYTES_PER_ELEMENT;
      fail(options.images, where, `pixel ${i} is ${v}, not a finite float32 value`);
    }
    x[i] = v;
  }
  return createDataset(hostTensor(x, shape), hostTensor(y, [n]), {
    numClasses,
    classNames: options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    source: options.images,
  });
}
