/**
 * Terminal progress for training: an epoch bar and a batch bar with live loss, speed and ETA,
 * drawn on stderr when it is a terminal, and one line per epoch through `log` (stdout by default).
 *
 * Bars and lines are kept apart so that each reaches its reader: the bars are a frame that
 * log-update redraws in place on stderr; a line is printed by erasing the frame, writing the line
 * through `log` and drawing the frame again below it. So a line is never held back until the
 * next redraw (the last epoch's line used to be lost), `descent train > log` gets every epoch line
 * in the file while the bars stay on the terminal, and lines keep the terminal's line wrapping
 * (nothing is cut at the terminal's width). The frame is drawn from the training loop itself (no
 * timer keeps the process alive), at most every 100 ms; `stop` erases it and shows the cursor
 * again, and log-update's cursor handling shows it on any exit (a second Ctrl-C).
 */
import { createLogUpdate } from "log-update";

export interface ProgressOptions {
  /** force the bars on or off (default: on when stderr is a terminal) */
  tty?: boolean;
  /** where lines go, with the bars or without (default console.log) */
  log?: (line: string) => void;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

/** One progress bar: `label |████░░░| value/total info`. */
export interface Bar {
  label: string;
  value: number;
  total: number;
  info: string;
}

export class TrainingProgress {
  private readonly frame: ReturnType<typeof createLogUpdate> | null;
  private readonly stream = process.stderr;
  private readonly log: (line: string) => void;
  private epochBar: Bar | null = null;
  private batchBar: Bar | null = null;
  private lastDraw = -Infinity;

  constructor(options: ProgressOptions = {}) {
    const tty = options.tty ?? Boolean(this.stream.isTTY);
    this.log = options.log ?? ((line) => console.log(line));
    this.frame = tty ? createLogUpdate(this.stream) : null;
  }

  startTraining(totalEpochs: number, startEpoch: number): void {
    this.epochBar = { label: "epochs  ", value: startEpoch, total: totalEpochs, info: "" };
    this.draw(true);
  }

  startEpoch(epoch: number, batches: number): void {
    this.batchBar = { label: `epoch ${String(epoch + 1).padStart(2)}`, value: 0, total: batches, info: "" };
    this.draw(true);
  }

  batch(done: number, loss: number, samplesPerSecond: number, etaSeconds: number): void {
    if (!this.batchBar) return;
    this.batchBar.value = done;
    this.batchBar.info = `loss ${loss.toFixed(4)}  ${Math.round(samplesPerSecond)} samples/s  ETA ${formatSeconds(etaSeconds)}`;
    this.draw(done === this.batchBar.total);
  }

  /** `line` is printed above the bars (or alone without them); `info` sits beside the epoch bar. */
  endEpoch(epoch: number, line: string, info = ""): void {
    if (this.epochBar) {
      this.epochBar.value = epoch + 1;
      this.epochBar.info = info;
    }
    this.message(line);
  }

  /** Prints a line now, above the bars when they are drawn. */
  message(line: string): void {
    if (!this.frame || !this.epochBar) {
      this.log(line);
      return;
    }
    this.frame.clear();
    this.log(line);
    this.draw(true);
  }

  /** Erases the bars and shows the cursor again; lines after this print plainly. */
  stop(): void {
    if (!this.frame || !this.epochBar) return;
    this.frame.clear();
    this.frame.done();
    this.epochBar = null;
    this.batchBar = null;
  }

  private draw(force: boolean): void {
    if (!this.frame || !this.epochBar) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const width = Math.max((this.stream.columns ?? 80) - 1, 20);
    const rows = [this.epochBar, ...(this.batchBar ? [this.batchBar] : [])].map((b) => renderBar(b).slice(0, width));
    this.frame(rows.join("\n"));
  }
}

export function renderBar(bar: Bar): string {
  const filled = bar.total > 0 ? Math.round((BAR_WIDTH * Math.min(bar.value, bar.total)) / bar.total) : 0;
  return `${bar.label} |${"\u2588".repeat(filled)}${"\u2591".repeat(BAR_WIDTH - filled)}| ${bar.value}/${bar.total} ${bar.info}`.trimEnd();
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "--";
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}
