/**
 * CSV files as tabular datasets: inputs float32 [N, F], labels int32 class ids (categorical or
 * integer labels) or float32 targets (regression).
 *
 * Parsing is csv-parse's (quotes, embedded delimiters and newlines, CRLF); this file checks the
 * records and turns them into tensors. Every problem is a FileFormatError naming the file, the
 * line (1-based, counting the header; a record spanning lines is named by its last line) and the
 * column: a missing value, a non-number, a row of the wrong length, a label out of range.
 *
 * Categorical labels map to ids in sorted order of their names (numbers compared as numbers), so
 * the mapping does not depend on row order; pass `classNames` to fix it yourself.
 */
import { readFileSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse } from "csv-parse/sync";
import { ConfigError, FileFormatError } from "../errors/errors.js";
import { MAX_CLASSES, createDataset, hostTensor, type Dataset } from "./dataset.js";

export type CsvLabelType = "categorical" | "integer" | "float";

export interface CsvOptions {
  /** The label column: its header name, or its 0-based index. Default: the last column. */
  label?: string | number;
  /**
   * "categorical" (default): any strings, mapped to class ids; "integer": class ids written as
   * 0..K-1; "float": a regression target.
   */
  labelType?: CsvLabelType;
  /** Categorical: the classes in id order (a label outside them is refused). */
  classNames?: readonly string[];
  /** Integer labels: the number of classes (labels must lie in [0, numClasses)); default max + 1. */
  numClasses?: number;
  /** The feature columns (names or indices), in order. Default: every column but the label. */
  features?: readonly (string | number)[];
  /** Whether the first line is a header (default true). Without one, columns are named by index. */
  header?: boolean;
  /** Field delimiter (default ","). */
  delimiter?: string;
  /** The most bytes of CSV text to read, plain or decompressed (default MAX_CSV_BYTES, 256 MiB). */
  maxBytes?: number;
  /** Field values that mean "missing" (default "", "NA", "N/A", "NaN", "null", "?"); refused with their line. */
  missingValues?: readonly string[];
}

/** The largest finite float32: features and targets are stored as float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

const DEFAULT_MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"];
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface Row {
  record: string[];
  info: { lines: number };
}

/**
 * The largest CSV text descent reads, plain or after decompression: 256 MiB. The whole text is
 * parsed in memory (a JavaScript string holds at most about 512 M characters), so a larger file, or
 * a .gz that inflates past it, is refused instead of ending in an out-of-memory error.
 */
export const MAX_CSV_BYTES = 256 * 1024 * 1024;

/** Loads a CSV file (plain or .gz) as a dataset; see CsvOptions. */
export function loadCsv(path: string, options: CsvOptions = {}): Dataset {
  return parseCsv(readCsvText(path, options.maxBytes), { ...options, file: path });
}

/** Loads the feature rows of a CSV file (plain or .gz) with no labels; see parseCsvFeatures. */
export function loadCsvFeatures(path: string, options: Omit<CsvFeatureOptions, "file">): { values: Float32Array; rows: number } {
  return parseCsvFeatures(readCsvText(path, MAX_CSV_BYTES), { ...options, file: path });
}

/** The text of a CSV file, plain or .gz, refused past `maxBytes` (default MAX_CSV_BYTES). */
function readCsvText(path: string, maxBytes: number | undefined): string {
  let bytes: Uint8Array;
  const max = maxBytes ?? MAX_CSV_BYTES;
  const limit = `${max} bytes, the most descent reads as CSV text (maxBytes)`;
  try {
    const size = statSync(path).size;
    if (!path.endsWith(".gz") && size > max) throw new FileFormatError(`${path}: the file has ${size} bytes, more than ${limit}`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(`${path}: cannot read the file (${(e as Error).message})`);
  }
  if (path.endsWith(".gz")) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: max });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new FileFormatError(`${path}: decompresses to more than ${limit}`);
      throw new FileFormatError(`${path}: damaged gzip data (${(e as Error).message})`);
    }
  }
  return new TextDecoder("utf-8").decode(bytes);
}

/** Parses CSV text as a dataset; `file` names it in errors (default "<csv>"). */
export function parseCsv(text: string, options: CsvOptions & { file?: string } = {}): Dataset {
  const file = options.file ?? "<csv>";
  const hasHeader = options.header ?? true;
  const labelType = options.labelType ?? "categorical";
  const missing = new Set(options.missingValues ?? DEFAULT_MISSING);
  const rows = parseRecords(text, file, options.delimiter);
  const first = rows[0];
  if (first === undefined) throw new FileFormatError(`${file}: no rows`);
  const width = first.record.length;
  const names = hasHeader ? first.record : Array.from({ length: width }, (_, i) => String(i));
  if (hasHeader) {
    const seen = new Set<string>();
    first.record.forEach((name, i) => {
      if (seen.has(name)) throw new FileFormatError(`${file}:${first.info.lines}: column ${i} repeats the header name "${name}"`);
      seen.add(name);
    });
  }
  const data = hasHeader ? rows.slice(1) : rows;
  if (data.length === 0) throw new FileFormatError(`${file}: a header but no data rows`);
  if (width < 2) throw new FileFormatError(`${file}:${first.info.lines}: ${width} column; a dataset needs features and a label`);

  const columnIndex = (c: string | number, what: string): number => {
    if (typeof c === "number") {
      if (!Number.isInteger(c) || c < 0 || c >= width) throw new ConfigError(`${file}: ${what} column ${c} is out of range for ${width} columns`);
      return c;
    }
    const i = names.indexOf(c);
    if (i < 0) throw new ConfigError(`${file}: no ${what} column named "${c}" (columns: ${names.join(", ")})`);
    return i;
  };
  const labelCol = columnIndex(options.label ?? width - 1, "label");
  const featureCols = (options.features ?? names.map((_, i) => i).filter((i) => i !== labelCol)).map((c) => columnIndex(c, "feature"));
  if (featureCols.includes(labelCol)) throw new ConfigError(`${file}: the label column "${names[labelCol]}" is also listed as a feature`);
  if (featureCols.length === 0) throw new ConfigError(`${file}: no feature columns`);

  const n = data.length;
  const f = featureCols.length;
  const x = new Float32Array(n * f);
  const rawLabels: string[] = new Array<string>(n);
  const colName = (c: number): string => (hasHeader ? `column "${names[c]}" (${c + 1})` : `column ${c + 1}`);
  for (let r = 0; r < n; r++) {
    const { record, info } = data[r]!;
    const where = `${file}:${info.lines}`;
    if (record.length !== width) {
      throw new FileFormatError(`${where}: wrong row length: ${record.length} fields, expected ${width}${hasHeader ? " (as in the header)" : " (as in the first row)"}`);
    }
    for (let j = 0; j < f; j++) {
      const c = featureCols[j]!;
      x[r * f + j] = parseNumber(record[c]!, missing, () => `${where}: ${colName(c)}`);
    }
    const label = record[labelCol]!;
    if (missing.has(label)) throw new FileFormatError(`${where}: ${colName(labelCol)}: missing label`);
    rawLabels[r] = label;
  }

  const featureNames = featureCols.map((c) => names[c]!);
  const meta = { featureNames, source: file };
  switch (labelType) {
    case "float": {
      const y = new Float32Array(n);
      for (let r = 0; r < n; r++) y[r] = parseNumber(rawLabels[r]!, missing, () => `${file}:${data[r]!.info.lines}: ${colName(labelCol)}`);
      return createDataset(hostTensor(x, [n, f]), hostTensor(y, [n]), meta);
    }
    case "integer": {
      const y = new Int32Array(n);
      let max = 0;
      for (let r = 0; r < n; r++) {
        const s = rawLabels[r]!;
        const v = Number(s);
        if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(v)) {
          throw new FileFormatError(`${file}:${data[r]!.info.lines}: ${colName(labelCol)}: label "${s}" is not an integer class id`);
        }
        if (v < 0 || v >= (options.numClasses ?? MAX_CLASSES)) {
          const range = options.numClasses === undefined ? `class ids must lie in [0, ${MAX_CLASSES})` : `expected [0, ${options.numClasses})`;
          throw new FileFormatError(`${file}:${data[r]!.info.lines}: ${colName(labelCol)}: label ${v} is out of range (${range})`);
        }
        y[r] = v;
        max = Math.max(max, v);
      }
      const k = options.numClasses ?? max + 1;
      return createDataset(hostTensor(x, [n, f]), hostTensor(y, [n]), {
        ...meta, numClasses: k, classNames: options.classNames ?? Array.from({ length: k }, (_, i) => String(i)),
      });
    }
    case "categorical": {
      const classNames = options.classNames ?? sortedClasses(rawLabels);
      const ids = new Map(classNames.map((name, i) => [name, i]));
      if (ids.size !== classNames.length) throw new ConfigError(`${file}: classNames has repeated names`);
      const y = new Int32Array(n);
      for (let r = 0; r < n; r++) {
        const id = ids.get(rawLabels[r]!);
        if (id === undefined) {
          throw new FileFormatError(
            `${file}:${data[r]!.info.lines}: ${colName(labelCol)}: label "${rawLabels[r]}" is not one of the ${classNames.length} classes (${classNames.join(", ")})`,
          );
        }
        y[r] = id;
      }
      return createDataset(hostTensor(x, [n, f]), hostTensor(y, [n]), { ...meta, numClasses: classNames.length, classNames });
    }
    default:
      throw new ConfigError(`${file}: unknown labelType "${labelType as string}" (expected categorical, integer or float)`);
  }
}

/** csv-parse's records with their line numbers; a syntax error names the file and line. */
function parseRecords(text: string, file: string, delimiter = ","): Row[] {
  try {
    return parse(text, { delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as unknown as Row[];
  } catch (e) {
    const lines = (e as { lines?: unknown }).lines;
    const where = typeof lines === "number" ? `${file}:${lines}` : file;
    throw new FileFormatError(`${where}: ${(e as Error).message}`);
  }
}

export interface CsvFeatureOptions {
  /** names the file in errors (default "<csv>") */
  file?: string;
  /** the number of values each row must give */
  size: number;
  /**
   * The columns to read, by header name (a model's feature names). Without them, every column
   * is a feature. A header is recognised by a first row that is not all numbers.
   */
  featureNames?: readonly string[] | undefined;
  delimiter?: string;
}

/**
 * The feature rows of a CSV file with no labels (samples to predict), row-major: `size` numbers
 * per row, each row named by its line in errors. With a header and `featureNames`, the columns
 * are picked by name, so a file with the label column or its columns in another order reads too.
 */
export function parseCsvFeatures(text: string, options: CsvFeatureOptions): { values: Float32Array; rows: number } {
  const file = options.file ?? "<csv>";
  const records = parseRecords(text, file, options.delimiter);
  const first = records[0];
  if (first === undefined) throw new FileFormatError(`${file}: no rows`);
  const hasHeader = first.record.some((v) => !NUMBER.test(v) && !DEFAULT_MISSING.includes(v));
  const data = hasHeader ? records.slice(1) : records;
  if (data.length === 0) throw new FileFormatError(`${file}: a header but no data rows`);
  let columns: number[] | null = null;
  if (hasHeader && options.featureNames && options.featureNames.length === options.size) {
    columns = options.featureNames.map((name) => {
      const i = first.record.indexOf(name);
      if (i < 0) throw new FileFormatError(`${file}:${first.info.lines}: no column named "${name}" (the model reads ${options.featureNames!.join(", ")}; the header has ${first.record.join(", ")})`);
      return i;
    });
  }
  const missing = new Set(DEFAULT_MISSING);
  const { size } = options;
  const values = new Float32Array(data.length * size);
  data.forEach(({ record, info }, r) => {
    const where = `${file}:${info.lines}`;
    const cols = columns ?? record.map((_, i) => i);
    if (!columns && record.length !== size) {
      throw new FileFormatError(`${where}: row ${r + 1} has ${record.length} value${record.length === 1 ? "" : "s"}; the model takes ${size} per sample`);
    }
    cols.forEach((c, j) => {
      if (c >= record.length) throw new FileFormatError(`${where}: row ${r + 1} has ${record.length} fields, no column ${c + 1}`);
      values[r * size + j] = parseNumber(record[c]!, missing, () => `${where}: column ${c + 1}`);
    });
  });
  return { values, rows: data.length };
}

function parseNumber(s: string, missing: Set<string>, where: () => string): number {
  if (missing.has(s)) throw new FileFormatError(`${where()}: missing value${s === "" ? "" : ` "${s}"`}`);
  if (!NUMBER.test(s)) throw new FileFormatError(`${where()}: "${s}" is not a number`);
  const v = Number(s);
  if (!(Math.abs(v) <= FLOAT32_MAX)) throw new FileFormatError(`${where()}: ${s} is beyond the range of float32 (at most ${FLOAT32_MAX} in size)`);
  return v;
}

/** Distinct labels sorted: numerically when both look like numbers, else by code point. */
function sortedClasses(labels: readonly string[]): string[] {
  return [...new Set(labels)].sort((a, b) => {
    const na = NUMBER.test(a);
    const nb = NUMBER.test(b);
    if (na && nb) return Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);
    if (na !== nb) return na ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
