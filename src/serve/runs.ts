/**
 * What the dashboard knows of a runs folder: every run folder in it (a folder with metrics.jsonl,
 * up to three levels down, so the trials of a search study show too), each summarized from its
 * config.json, metrics.jsonl and summary.json: optimizer, lr, epochs, best dev metrics, test
 * accuracy and whether it is live, paused, finished or stopped. Names are paths relative to the
 * runs folder with "/", and are resolved back only through resolveRun, which refuses any name
 * that leaves the folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { readMetricsRecords } from "../train/control-file.js";
import { metricsLines } from "../train/callbacks.js";
import { resolveUnder } from "./static.js";
import { parseJson } from "../io/json.js";

export type RunStatus = "live" | "paused" | "finished" | "stopped";

export interface RunRow {
  name: string;
  status: RunStatus;
  optimizer: string | null;
  lr: number | null;
  epochs: number;
  steps: number;
  bestDevLoss: number | null;
  bestDevAccuracy: number | null;
  lastTrainLoss: number | null;
  testAccuracy: number | null;
  report: boolean;
}

interface Rec { type?: string; [k: string]: unknown }

/** A run counts as live while its metrics.jsonl changed this recently. */
const LIVE_MS = 15_000;

export function findRunFolders(runsDir: string, depth = 3): string[] {
  const out: string[] = [];
  const walk = (dir: string, left: number) => {
    if (existsSync(join(dir, "metrics.jsonl")) && dir !== runsDir) out.push(dir);
    if (left === 0) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "checkpoints") walk(join(dir, e.name), left - 1);
  };
  walk(runsDir, depth);
  return out.sort();
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function readJson(path: string): Record<string, unknown> | null {
  try {
    const v: unknown = parseJson(readFileSync(path, "utf8"), { source: path });
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function summarizeRun(runsDir: string, dir: string, now = Date.now()): RunRow {
  const records = readMetricsRecords(join(dir, "metrics.jsonl")) as Rec[];
  const epochs = records.filter((r) => r.type === "epoch");
  const steps = records.filter((r) => r.type === "step");
  const config = readJson(join(dir, "config.json"));
  const summary = readJson(join(dir, "summary.json"));
  const opt = (config?.["optimizer"] ?? null) as Record<string, unknown> | null;
  const controls = records.filter((r) => r.type === "event" && typeof r["control"] === "object").map((r) => (r["control"] as { action: string }).action);
  const lastPauseOrResume = controls.filter((a) => a === "pause" || a === "resume").at(-1);
  const fresh = now - statSync(join(dir, "metrics.jsonl")).mtimeMs < LIVE_MS;
  const status: RunStatus = summary ? "finished" : controls.at(-1) === "stop" ? "stopped" : lastPauseOrResume === "pause" ? "paused" : fresh ? "live" : "stopped";
  const min = (k: string) => epochs.reduce<number | null>((m, e) => (num(e[k]) === null ? m : m === null ? num(e[k]) : Math.min(m, num(e[k])!)), null);
  const max = (k: string) => epochs.reduce<number | null>((m, e) => (num(e[k]) === null ? m : m === null ? num(e[k]) : Math.max(m, num(e[k])!)), null);
  const lastStep = steps.at(-1);
  return {
    name: relative(runsDir, dir).split(sep).join("/"),
    status,
    optimizer: typeof opt?.["name"] === "string" ? opt["name"] : null,
    lr: num(lastStep?.["lr"]) ?? num(opt?.["lr"]),
    epochs: epochs.length,
    steps: num(lastStep?.["step"]) === null ? 0 : num(lastStep!["step"])! + 1,
    bestDevLoss: min("devLoss"),
    bestDevAccuracy: max("devAccuracy"),
    lastTrainLoss: num(epochs.at(-1)?.["trainLoss"]),
    testAccuracy: num((summary?.["test"] as Record<string, unknown> | undefined)?.["accuracy"]),
    report: existsSync(join(dir, "report.html")),
  };
}

/** The folder of the run called `name`, or null when there is none (or the name leaves the folder). */
export function resolveRun(runsDir: string, name: string): string | null {
  const metrics = resolveUnder(runsDir, `/${name}/metrics.jsonl`);
  return metrics === null ? null : metrics.slice(0, -"/metrics.jsonl".length);
}

/**
 * A run's records for the page: epochs and events in full, steps thinned to at most `maxSteps`,
 * and the byte size of the complete lines read (where the live stream goes on from).
 */
export function runRecords(dir: string, maxSteps = 4000): { records: Rec[]; size: number } {
  const { lines, size } = metricsLines(join(dir, "metrics.jsonl"));
  const records: Rec[] = [];
  for (const line of lines) {
    if (line.trim() === "") continue;
    try {
      records.push(parseJson(line, { source: join(dir, "metrics.jsonl") }) as Rec);
    } catch {
      // a damaged line is skipped, as readMetricsRecords does
    }
  }
  const steps = records.filter((r) => r.type === "step");
  const every = Math.max(1, Math.ceil(steps.length / maxSteps));
  let i = 0;
  return { records: records.filter((r) => r.type !== "step" || i++ % every === 0 || r === steps.at(-1)), size };
}
