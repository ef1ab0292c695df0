/**
 * A study's progress: trials done (of the budget), running, pruned and failed, and the best so
 * far. Each finished trial prints one line with them through `log`; on a terminal a bar on stderr
 * carries the counts too, drawn with log-update and erased around each line as training's progress
 * is (src/train/progress.ts), so lines are never held back by the bar.
 */
import { createLogUpdate } from "log-update";
import { renderBar } from "../train/progress.js";
import type { Direction } from "./spec.js";
import type { TrialRecord } from "./trial.js";
import { rankTrials } from "./samplers.js";

export interface StudyCounts {
  done: number;
  total: number;
  running: number;
  pruned: number;
  failed: number;
  best: TrialRecord | null;
}

const fmt = (v: number) => (Math.abs(v) !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4))));

export function formatParams(params: TrialRecord["params"]): string {
  return Object.entries(params).map(([k, v]) => `${k}=${typeof v === "number" ? fmt(v) : String(v)}`).join(" ");
}

/** Running, pruned and failed counts and the best so far (the bar shows done/total itself). */
function countsDetail(c: StudyCounts, metric: string): string {
  const best = c.best ? `best ${metric} ${fmt(c.best.value!)} (trial ${c.best.id})` : "no result yet";
  return `${c.running} running, ${c.pruned} pruned, ${c.failed} failed; ${best}`;
}

export function countsLine(c: StudyCounts, metric: string): string {
  return `${c.done}/${c.total} done, ${countsDetail(c, metric)}`;
}

export function trialLine(r: TrialRecord, metric: string): string {
  const what = r.status === "failed" ? `failed: ${r.error}` : `${r.status}${r.status === "pruned" ? ` after epoch ${r.values.length}` : ""}, ${metric} ${fmt(r.value!)}`;
  return `trial ${r.id} ${what} (${r.seconds.toFixed(1)}s) ${formatParams(r.params)}`;
}

export class StudyProgress {
  private readonly frame: ReturnType<typeof createLogUpdate> | null;
  private readonly records: TrialRecord[] = [];
  running = 0;

  constructor(
    private readonly total: number,
    private readonly metric: string,
    private readonly direction: Direction,
    private readonly log: (line: string) => void,
    tty: boolean,
  ) {
    this.frame = tty ? createLogUpdate(process.stderr) : null;
  }

  counts(): StudyCounts {
    return {
      done: this.records.length, total: this.total, running: this.running,
      pruned: this.records.filter((r) => r.status === "pruned").length,
      failed: this.records.filter((r) => r.status === "failed").length,
      best: rankTrials(this.records, this.direction)[0] ?? null,
    };
  }

  start(earlier: readonly TrialRecord[]): void {
    this.records.push(...earlier);
    this.draw();
  }

  update(): void {
    this.draw();
  }

  finished(r: TrialRecord): void {
    this.records.push(r);
    this.frame?.clear();
    this.log(`${trialLine(r, this.metric)}\n  ${countsLine(this.counts(), this.metric)}`);
    this.draw();
  }

  /** Erases the bar and shows the cursor again. */
  stop(): void {
    this.frame?.clear();
    this.frame?.done();
  }

  private draw(): void {
    if (!this.frame) return;
    const width = Math.max((process.stderr.columns ?? 80) - 1, 20);
    this.frame(renderBar({ label: "trials", value: this.records.length, total: this.total, info: countsDetail(this.counts(), this.metric) }).slice(0, width));
  }
}
