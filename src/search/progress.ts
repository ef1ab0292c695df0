/**
 * A study's progress: trials done (of the budget), running, pruned and failed, and the best so
 * far. On a terminal a cli-progress bar carries the counts; elsewhere (pipes, CI, files) each
 * finished trial prints one line with them.
 */
import cliProgress from "cli-progress";
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

export function countsLine(c: StudyCounts, metric: string): string {
  const best = c.best ? `best ${metric} ${fmt(c.best.value!)} (trial ${c.best.id})` : "no result yet";
  return `${c.done}/${c.total} done, ${c.running} running, ${c.pruned} pruned, ${c.failed} failed; ${best}`;
}

export function trialLine(r: TrialRecord, metric: string): string {
  const what = r.status === "failed" ? `failed: ${r.error}` : `${r.status}${r.status === "pruned" ? ` after epoch ${r.values.length}` : ""}, ${metric} ${fmt(r.value!)}`;
  return `trial ${r.id} ${what} (${r.seconds.toFixed(1)}s) ${formatParams(r.params)}`;
}

export class StudyProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly records: TrialRecord[] = [];
  running = 0;

  constructor(
    private readonly total: number,
    private readonly metric: string,
    private readonly direction: Direction,
    private readonly log: (line: string) => void,
    tty: boolean,
  ) {
    this.bar = tty ? new cliProgress.SingleBar({ format: "trials |{bar}| {info}", hideCursor: true, barsize: 30 }, cliProgress.Presets.shades_classic) : null;
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
    this.bar?.start(this.total, this.records.length, { info: countsLine(this.counts(), this.metric) });
  }

  update(): void {
    this.bar?.update(this.records.length, { info: countsLine(this.counts(), this.metric) });
  }

  finished(r: TrialRecord): void {
    this.records.push(r);
    const line = `${trialLine(r, this.metric)}\n  ${countsLine(this.counts(), this.metric)}`;
    if (this.bar) {
      this.bar.stop();
      this.log(line);
      this.bar.start(this.total, this.records.length, { info: countsLine(this.counts(), this.metric) });
    } else {
      this.log(line);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
