/**
 * Steering a live run by hand (the "panda" way of training): a callback that takes commands
 * between batches from a source (the dashboard's mailbox file in Node, anything in a page) and
 * applies them to the run: pause, resume, set the learning rate from now on, save a checkpoint now,
 * stop. Every command it applies becomes one record (a control event), numbered in order and
 * stamped with the step it took effect at; the caller writes them to metrics.jsonl.
 *
 * Exactness: commands are applied only in onBatchEnd, after step S-1 and before step S, where a
 * checkpoint would also be taken; a learning rate set by hand replaces the schedule's from step S
 * on (re-applied in onBatchBegin, after the schedule has set its own). The callback's state (the
 * events applied so far, the hand-set lr) is saved in checkpoints; resuming from a checkpoint older
 * than some events replays those events (`replay`, read back from metrics.jsonl) at their steps,
 * so a run steered by hand and resumed continues exactly as it would have. Pauses, checkpoints and
 * stops change no numbers and are not replayed: a resumed run is not stopped again.
 *
 * Only the learning rate can change: it is the optimizer's one injected scalar; the other
 * hyperparameters are constants of its transformations.
 */
import { ConfigError } from "../errors/errors.js";
import type { Callback, JsonObject } from "./callback.js";
import type { TrainContext } from "./fit.js";

export type ControlCommand =
  | { action: "pause" }
  | { action: "resume" }
  | { action: "stop" }
  | { action: "checkpoint" }
  | { action: "set"; name: "lr"; value: number };

export const CONTROL_ACTIONS = ["pause", "resume", "stop", "checkpoint", "set"] as const;
const SETTABLE = ["lr"] as const;

/** A command as it goes into metrics.jsonl: `{ "type": "event", "control": { ... }, ... }`. */
export interface ControlEvent {
  type: "event";
  epoch: number;
  step: number;
  message: string;
  control: ControlCommand & { seq: number };
}

/** Where commands come from; `poll` returns the ones that arrived since the last call. */
export interface ControlSource {
  poll(): ControlCommand[];
}

/** Checks a command from outside (JSON); the error names the field. */
export function parseControlCommand(value: unknown, where = "control command"): ControlCommand {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(`${where}: expected an object like {"action": "pause"}`);
  const v = value as Record<string, unknown>;
  const action = v["action"];
  if (!(CONTROL_ACTIONS as readonly unknown[]).includes(action)) {
    throw new ConfigError(`${where}: "action" must be one of ${CONTROL_ACTIONS.join(", ")}, got ${JSON.stringify(action)}`);
  }
  if (action !== "set") return { action } as ControlCommand;
  if (!(SETTABLE as readonly unknown[]).includes(v["name"])) throw new ConfigError(`${where}: "name" must be one of ${SETTABLE.join(", ")}, got ${JSON.stringify(v["name"])}`);
  const n = v["value"];
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) throw new ConfigError(`${where}: "value" must be a finite number >= 0, got ${JSON.stringify(n)}`);
  return { action, name: "lr", value: n };
}

/** The control events among metrics.jsonl records, in order. */
export function controlEvents(records: readonly unknown[]): ControlEvent[] {
  const out: ControlEvent[] = [];
  for (const r of records) {
    const rec = r as Partial<ControlEvent> | null;
    if (rec?.type !== "event" || typeof rec.control !== "object" || rec.control === null || typeof rec.step !== "number") continue;
    const seq = (rec.control as { seq?: unknown }).seq;
    if (typeof seq !== "number") continue;
    out.push({ ...(rec as ControlEvent), control: { ...parseControlCommand(rec.control, `control event ${seq}`), seq } });
  }
  return out;
}

export interface ControlOptions {
  source: ControlSource;
  /** writes one applied command (metrics.jsonl) */
  record: (event: ControlEvent) => void;
  /** events of an earlier life of this run, to apply again at their steps when resuming */
  replay?: readonly ControlEvent[];
  /** whether a replayed event is written again (true when the log was cut back to the checkpoint; default false) */
  recordReplayed?: () => boolean;
  /** where "checkpoint" saves (default `manual-step-<S>.ckpt`) */
  checkpointPath?: (step: number) => string;
  /** what "stop" does (default ctx.stop, at the end of the epoch); descent train interrupts at once */
  stop?: (ctx: TrainContext) => void;
  /** how often a paused run looks for commands, in ms (default 100) */
  pollMs?: number;
}

export class Control implements Callback {
  readonly name = "control";
  /** the number of commands applied so far in this run (also across resumes) */
  seq = 0;
  /** the learning rate set by hand, which replaces the schedule's; null when none */
  lr: number | null = null;
  paused = false;
  private readonly pending: ControlEvent[];

  constructor(private readonly options: ControlOptions) {
    this.pending = [...(options.replay ?? [])];
  }

  onBatchBegin(ctx: TrainContext): void {
    if (this.lr !== null) ctx.optimizer.setLrByHand(this.lr);
  }

  async onBatchEnd(ctx: TrainContext): Promise<void> {
    while (this.pending.length > 0 && this.pending[0]!.control.seq < this.seq) this.pending.shift();
    while (this.pending.length > 0 && this.pending[0]!.step <= ctx.step) {
      const e = this.pending.shift()!;
      await this.apply(ctx, e.control, false);
    }
    for (const c of this.options.source.poll()) await this.apply(ctx, c, true);
    while (this.paused) {
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 100));
      for (const c of this.options.source.poll()) await this.apply(ctx, c, true);
    }
  }

  private async apply(ctx: TrainContext, command: ControlCommand, live: boolean): Promise<void> {
    const seq = this.seq++;
    let message: string;
    switch (command.action) {
      case "pause":
        this.paused = live;
        message = `paused by hand at step ${ctx.step}`;
        break;
      case "resume":
        this.paused = false;
        message = `resumed by hand at step ${ctx.step}`;
        break;
      case "set":
        this.lr = command.value;
        ctx.optimizer.setLrByHand(command.value);
        message = `lr set by hand to ${command.value} from step ${ctx.step}`;
        break;
      case "checkpoint": {
        const path = (this.options.checkpointPath ?? ((s: number) => `manual-step-${s}.ckpt`))(ctx.step);
        if (live) await ctx.saveCheckpoint(path);
        message = `checkpoint saved by hand at step ${ctx.step}: ${path}`;
        break;
      }
      case "stop":
        this.paused = false;
        if (live) (this.options.stop ?? ((c: TrainContext) => c.stop(`stopped by hand at step ${c.step}`)))(ctx);
        message = `stopped by hand at step ${ctx.step}`;
        break;
      default:
        return command satisfies never;
    }
    if (live || this.options.recordReplayed?.()) this.options.record({ type: "event", epoch: ctx.epoch, step: ctx.step, message, control: { ...command, seq } });
  }

  stateDict(): JsonObject {
    return { seq: this.seq, lr: this.lr };
  }

  loadStateDict(state: JsonObject): void {
    this.seq = typeof state["seq"] === "number" ? state["seq"] : 0;
    this.lr = typeof state["lr"] === "number" ? state["lr"] : null;
  }
}
