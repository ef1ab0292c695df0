/**
 * The run folder's side of steering (Node, descent/node): commands arrive as JSON lines appended to
 * `<run>/control.jsonl` (by `descent serve`, or by hand: `echo '{"action":"pause"}' >> control.jsonl`),
 * and control events go to metrics.jsonl. The mailbox is read from where the last poll stopped; a
 * line that is not a valid command is skipped with a message, never applied. On resume, the control
 * events already in metrics.jsonl are handed back for replay, and commands written while the run
 * was not running are dropped: they were meant for a run that no longer was.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { DescentError } from "../errors/errors.js";
import { metricsLines, type MetricsLog } from "./callbacks.js";
import { Control, controlEvents, parseControlCommand, type ControlCommand, type ControlSource } from "./control.js";
import { parseJson } from "../io/json.js";

export const CONTROL_FILE = "control.jsonl";

/** Reads the commands appended to a file since the last poll (complete lines only). */
export class FileControlSource implements ControlSource {
  private offset: number;
  private carry = "";

  constructor(readonly path: string, private readonly warn: (line: string) => void = (l) => console.error(l)) {
    this.offset = existsSync(path) ? statSync(path).size : 0;
  }

  poll(): ControlCommand[] {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return [];
    }
    if (size <= this.offset) return [];
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, "r");
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const lines = (this.carry + buf.toString("utf8")).split("\n");
    this.carry = lines.pop() ?? "";
    const out: ControlCommand[] = [];
    lines.forEach((line) => {
      if (line.trim() === "") return;
      try {
        out.push(parseControlCommand(parseJson(line, { source: `${this.path}: command` }), `${this.path}: command`));
      } catch (e) {
        this.warn(`skipped a line of ${this.path}: ${e instanceof DescentError ? e.message : `not JSON (${(e as Error).message})`}`);
      }
    });
    return out;
  }
}

/** The JSON records of a metrics.jsonl (a damaged last line, from a crash mid-write, is left out). */
export function readMetricsRecords(path: string): unknown[] {
  const out: unknown[] = [];
  for (const line of metricsLines(path).lines) {
    if (line.trim() === "") continue;
    try {
      out.push(parseJson(line, { source: path }));
    } catch {
      // only the last line can be half-written (and metricsLines drops it); others are never produced damaged
    }
  }
  return out;
}

/**
 * The Control callback of a run folder: commands from `<dir>/control.jsonl`, events to its
 * metrics log, replay of the events already logged, checkpoints by hand into `<dir>/checkpoints`,
 * and "stop" as an interruption (checkpoint saved, resumable) through the returned signal.
 */
export function runFolderControl(dir: string, metrics: MetricsLog, options: { resuming: boolean; signal?: AbortSignal | undefined; warn?: (line: string) => void }) {
  const stopper = new AbortController();
  const control = new Control({
    source: new FileControlSource(join(dir, CONTROL_FILE), options.warn),
    record: (event) => metrics.write({ ...event }),
    replay: options.resuming ? controlEvents(readMetricsRecords(metrics.path)) : [],
    // a resume cuts metrics.jsonl back to its checkpoint, so the replayed events are logged again
    recordReplayed: () => metrics.rewound,
    checkpointPath: (step) => join(dir, "checkpoints", `step-${step}.ckpt`),
    stop: () => stopper.abort(),
  });
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
  return { control, signal };
}
