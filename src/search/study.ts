/**
 * The study folder (docs/run-folder.md, "Study folders"):
 *
 * - study.json      the resolved spec and the study's id (written once, atomically)
 * - suggested.jsonl one line per trial when it is handed out: id, params, round
 * - trials.jsonl    one line per trial when it ends: id, status, params, the metric per epoch,
 *                   the final value, the run folder, the error of a failed trial
 * - rounds.jsonl    coarse-to-fine: one line per round, the box it samples (unit and values)
 * - best.json       the best trial's complete train config (`descent train --config best.json`)
 * - trials/         the run folders of trials run on this machine
 * - report.html     the study's report
 *
 * The .jsonl files are appended to; a study killed in the middle of a write leaves at most one
 * torn last line, which reading skips. A trial id appears at most once in what is read (the first
 * line wins), so a trial is recorded once even if two attempts at it both report.
 */
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, DescentError } from "../errors/errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { ExperimentConfig } from "../train/config.js";
import type { UnitBox } from "./samplers.js";
import { resolveSearchSpec, type SearchSpec } from "./spec.js";
import { fromUnit, type ParamValue } from "./space.js";
import type { TrialRecord, TrialTask } from "./trial.js";
import { parseJson } from "../io/json.js";

export const STUDY_FORMAT = "descent-study/1";

export interface StudyFile {
  format: typeof STUDY_FORMAT;
  id: string;
  created: string;
  /** whether trials call an objective function (no base config) */
  objective: boolean;
  spec: SearchSpec;
}

export interface RoundRecord {
  round: number;
  box: UnitBox;
  /** the box in parameter values (low, high) */
  values: Record<string, [ParamValue, ParamValue]>;
}

const file = (dir: string, name: string) => join(dir, name);

/** The spec as study.json stores it: what resolveSearchSpec reads back to the same spec. */
function storedSpec(spec: SearchSpec): unknown {
  const { base, ...rest } = spec;
  return base ? { ...rest, base } : rest;
}

/** Refuses a folder that already holds a study: a study is never overwritten. */
export function checkStudyDirFree(dir: string): void {
  if (existsSync(file(dir, "study.json"))) throw new ConfigError(`study folder ${dir} already holds a study: choose another --out, or continue it with --resume ${dir}`);
}

export function createStudy(dir: string, spec: SearchSpec, objective: boolean): StudyFile {
  checkStudyDirFree(dir);
  mkdirSync(dir, { recursive: true });
  const study: StudyFile = { format: STUDY_FORMAT, id: `s${randomUUID().replace(/-/g, "").slice(0, 16)}`, created: new Date().toISOString(), objective, spec };
  writeFileAtomic(file(dir, "study.json"), JSON.stringify({ ...study, spec: storedSpec(spec) }, null, 2) + "\n");
  return study;
}

export function readStudyFile(dir: string): StudyFile {
  const path = file(dir, "study.json");
  if (!existsSync(dir)) throw new ConfigError(`${dir}: no such study folder`);
  if (!existsSync(path)) throw new ConfigError(`${dir}: no study.json there (is it a study folder?)`);
  let json: { format?: unknown; id?: unknown; created?: unknown; objective?: unknown; spec?: unknown };
  try {
    json = parseJson(readFileSync(path, "utf8"), { source: path }) as typeof json;
  } catch (e) {
    // the guarded reader's refusal already names the file and what is wrong
    throw new ConfigError(e instanceof DescentError ? e.message : `${path}: not valid JSON (${(e as Error).message})`);
  }
  if (json.format !== STUDY_FORMAT || typeof json.id !== "string") throw new ConfigError(`${path}: not a ${STUDY_FORMAT} file`);
  const objective = json.objective === true;
  const spec = resolveSearchSpec(json.spec, path, { objective });
  return { format: STUDY_FORMAT, id: json.id, created: String(json.created), objective, spec };
}

function readLines<T>(path: string, check: (v: unknown) => v is T): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const v: unknown = parseJson(line, { source: path });
      if (check(v)) out.push(v);
    } catch {
      // a torn last line from a killed process
    }
  }
  return out;
}

const hasId = (v: unknown): v is { id: number } => typeof v === "object" && v !== null && Number.isInteger((v as { id?: unknown }).id);

/** The first line of each id. */
function firstById<T extends { id: number }>(items: T[]): Map<number, T> {
  const m = new Map<number, T>();
  for (const t of items) if (!m.has(t.id)) m.set(t.id, t);
  return m;
}

export function readTrials(dir: string): Map<number, TrialRecord> {
  return firstById(readLines(file(dir, "trials.jsonl"), (v): v is TrialRecord => hasId(v) && typeof (v as { status?: unknown }).status === "string"));
}

export function readSuggested(dir: string): Map<number, TrialTask> {
  return firstById(readLines(file(dir, "suggested.jsonl"), (v): v is TrialTask => hasId(v) && typeof (v as { params?: unknown }).params === "object"));
}

export function readRounds(dir: string): RoundRecord[] {
  return readLines(file(dir, "rounds.jsonl"), (v): v is RoundRecord => typeof v === "object" && v !== null && Number.isInteger((v as { round?: unknown }).round));
}

const appendLine = (path: string, value: unknown) => appendFileSync(path, JSON.stringify(value) + "\n");

export function appendSuggested(dir: string, task: TrialTask): void {
  appendLine(file(dir, "suggested.jsonl"), task);
}

export function appendTrial(dir: string, record: TrialRecord): void {
  appendLine(file(dir, "trials.jsonl"), record);
}

export function appendRound(dir: string, spec: SearchSpec, round: number, box: UnitBox): void {
  const values = Object.fromEntries(Object.entries(box).map(([n, [lo, hi]]) => [n, [fromUnit(spec.space[n]!, lo), fromUnit(spec.space[n]!, hi)] as [ParamValue, ParamValue]]));
  appendLine(file(dir, "rounds.jsonl"), { round, box, values } satisfies RoundRecord);
}

export function writeBest(dir: string, config: ExperimentConfig): void {
  writeFileAtomic(file(dir, "best.json"), JSON.stringify(config, null, 2) + "\n");
}

