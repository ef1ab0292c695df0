/**
 * The conformance runner: evaluates reference cases (computed with PyTorch; format in
 * shared/conformance/README.md) and compares results with their `expected` field.
 *
 * Each kind (op, loss, optimizer, schedule, hessian) has an evaluator in ./kinds that reads the
 * case's inputs and returns a result shaped exactly like `expected`. Evaluation never reads
 * `expected`; `compareResult` does, for --check.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FileFormatError } from "../errors/errors.js";
import { assertDType } from "../tensor/dtype.js";
import { isTensorValue } from "./values.js";
import { KIND_EVALUATORS, type CaseResult, type ConformanceCase } from "./kinds/index.js";
import { parseJson } from "../io/json.js";

export const FORMAT = "descent-conformance/1";

/** Every *.json file under path (a file or a folder, searched recursively), sorted. */
export function findCaseFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...findCaseFiles(p));
    else if (name.endsWith(".json")) out.push(p);
  }
  return out;
}

export function readCase(file: string): ConformanceCase {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new FileFormatError(`${file}: cannot read the file (${(e as Error).message})`);
  }
  const parsed = parseJson(text, { source: file });
  const c = parsed as Partial<ConformanceCase>;
  if (typeof c !== "object" || c === null) throw new FileFormatError(`${file}: expected a JSON object`);
  if (c.format !== FORMAT) throw new FileFormatError(`${file}: format is ${JSON.stringify(c.format)}, expected "${FORMAT}"`);
  if (typeof c.id !== "string" || typeof c.kind !== "string") throw new FileFormatError(`${file}: a case needs a string id and kind`);
  return c as ConformanceCase;
}

/** Evaluates one case; a case that cannot be evaluated gives { error }. */
export async function evaluateCase(c: ConformanceCase): Promise<CaseResult> {
  try {
    const evaluate = KIND_EVALUATORS[c.kind];
    if (!evaluate) return { error: `unknown or unsupported kind "${c.kind}"` };
    const dtype = assertDType(c.dtype ?? "float64", `case ${c.id}`);
    return await evaluate(c, dtype);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export interface Mismatch {
  field: string;
  maxAbs: number;
  maxRel: number;
  detail?: string;
}

/** First field where got differs from want beyond |got − want| <= tol·max(1, |want|). */
export function compareResult(got: unknown, want: unknown, tol: number, field = ""): Mismatch | null {
  if (got && typeof got === "object" && "error" in got && !(want && typeof want === "object" && "error" in want)) {
    return { field: field || "(case)", maxAbs: NaN, maxRel: NaN, detail: String((got as { error: unknown }).error) };
  }
  if (isTensorValue(want)) {
    if (!isTensorValue(got)) return { field, maxAbs: NaN, maxRel: NaN, detail: "missing tensor" };
    if (got.shape.join(",") !== want.shape.join(",")) {
      return { field, maxAbs: NaN, maxRel: NaN, detail: `shape [${got.shape.join(",")}], expected [${want.shape.join(",")}]` };
    }
    let maxAbs = 0, maxRel = 0, bad = false;
    want.data.forEach((w, i) => {
      const g = got.data[i]!;
      if (g === w) return; // equal values, infinities included
      const abs = Math.abs(g - w);
      const rel = abs / Math.max(1, Math.abs(w));
      if (Number.isNaN(abs)) {
        if (!(Number.isNaN(g) && Number.isNaN(w))) bad = true;
        return;
      }
      maxAbs = Math.max(maxAbs, abs);
      maxRel = Math.max(maxRel, abs / Math.max(Math.abs(w), 1e-300));
      if (rel > tol) bad = true;
    });
    return bad ? { field, maxAbs, maxRel } : null;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) {
      return { field, maxAbs: NaN, maxRel: NaN, detail: `expected a list of ${want.length}` };
    }
    for (let i = 0; i < want.length; i++) {
      const m = compareResult(got[i], want[i], tol, `${field}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (want && typeof want === "object") {
    if (!got || typeof got !== "object") return { field, maxAbs: NaN, maxRel: NaN, detail: "missing" };
    for (const key of Object.keys(want)) {
      const m = compareResult((got as Record<string, unknown>)[key], (want as Record<string, unknown>)[key], tol, field ? `${field}.${key}` : key);
      if (m) return m;
    }
    return null;
  }
  if (typeof want === "number") {
    const g = got as number;
    const abs = Math.abs(g - want);
    return typeof g === "number" && abs <= tol * Math.max(1, Math.abs(want)) ? null : { field, maxAbs: abs, maxRel: abs / Math.max(Math.abs(want), 1e-300) };
  }
  return got === want ? null : { field, maxAbs: NaN, maxRel: NaN, detail: `got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}` };
}

export interface CheckLine {
  id: string;
  ok: boolean;
  mismatch?: Mismatch;
}

/** Evaluates every case under path; returns results by id and, with check, one line per case. */
export async function runConformance(path: string, options: { check: boolean; tolerance?: number }): Promise<{ results: Record<string, CaseResult>; lines: CheckLine[] }> {
  const results: Record<string, CaseResult> = {};
  const lines: CheckLine[] = [];
  for (const file of findCaseFiles(path)) {
    let c: ConformanceCase;
    try {
      c = readCase(file);
    } catch (e) {
      const id = file;
      results[id] = { error: (e as Error).message };
      if (options.check) lines.push({ id, ok: false, mismatch: { field: "(file)", maxAbs: NaN, maxRel: NaN, detail: (e as Error).message } });
      continue;
    }
    const result = await evaluateCase(c);
    results[c.id] = result;
    if (options.check) {
      const m = c.expected === undefined
        ? { field: "(case)", maxAbs: NaN, maxRel: NaN, detail: "no expected field to check against" }
        : compareResult(result, c.expected, options.tolerance ?? 1e-6);
      lines.push(m ? { id: c.id, ok: false, mismatch: m } : { id: c.id, ok: true });
    }
  }
  return { results, lines };
}

export function formatCheckLine(line: CheckLine): string {
  if (line.ok) return `ok   ${line.id}`;
  const m = line.mismatch!;
  const errs = Number.isNaN(m.maxAbs) ? "" : ` max abs ${m.maxAbs.toExponential(3)}, max rel ${m.maxRel.toExponential(3)}`;
  return `FAIL ${line.id}: ${m.field}${errs}${m.detail ? ` (${m.detail})` : ""}`;
}
