/**
 * Terminal progress for training: an epoch bar and a batch bar with live loss, speed and ETA,
 * drawn by cli-progress on a TTY. When stdout is not a TTY (CI, pipes, files) it stays quiet
 * and prints one line per epoch instead.
 */
import cliProgress from "cli-progress";

export interface ProgressOptions {
  /** force the bars on or off (default: on when stderr is a TTY) */
  tty?: boolean;
  /** where lines go when not drawing bars (default console.log) */
  log?: (line: string) => void;
}

export class TrainingProgress {
  private readonly multi: cliProgress.MultiBar | null;
  private epochBar: cliProgress.SingleBar | null = null;
  private batchBar: cliProgress.SingleBar | null = null;
  private readonly log: (line: string) => void;

  constructor(options: ProgressOptions = {}) {
    const tty = options.tty ?? Boolean(process.stderr.isTTY);
    this.log = options.log ?? ((line) => console.log(line));
    this.multi = tty
      ? new cliProgress.MultiBar(
          {
            clearOnComplete: false,
            hideCursor: true,
            format: "{label} |{bar}| {value}/{total} {info}",
            barsize: 30,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  startTraining(totalEpochs: number, startEpoch: number): void {
    this.epochBar = this.multi?.create(totalEpochs, startEpoch, { label: "epochs ", info: "" }) ?? null;
  }

  startEpoch(epoch: number, batches: number): void {
    if (!this.multi) return;
    this.batchBar?.stop();
    if (this.batchBar) this.multi.remove(this.batchBar);
    this.batchBar = this.multi.create(batches, 0, { label: `epoch ${String(epoch + 1).padStart(2)}`, info: "" });
  }

  batch(done: number, loss: number, samplesPerSecond: number, etaSeconds: number): void {
    this.batchBar?.update(done, {
      info: `loss ${loss.toFixed(4)}  ${Math.round(samplesPerSecond)} samples/s  ETA ${formatSeconds(etaSeconds)}`,
    });
  }

  /** `line` is printed above the bars (or alone without a TTY); `info` sits beside the epoch bar. */
  endEpoch(epoch: number, line: string, info = ""): void {
    if (this.multi) {
      this.epochBar?.update(epoch + 1, { info });
      this.multi.log(`${line}\n`);
    } else {
      this.log(line);
    }
  }

  message(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.log(line);
  }

  stop(): void {
    this.multi?.stop();
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "--";
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}
