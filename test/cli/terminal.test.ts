/**
 * `descent train` in a real terminal (a pseudo-terminal made by util-linux `script`), where the
 * progress bars are drawn: Ctrl-C ends the process, a second Ctrl-C quits at once with the cursor
 * shown, no line is cut at the terminal's width, every epoch line (the last too) is printed, and
 * `descent train > log` writes the epoch lines to the file while the bars stay on the terminal.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, ensureBuilt, runInTerminal, tempDir, writeConfig } from "./helpers.js";

const HIDE = "\u001b[?25l";
const SHOW = "\u001b[?25h";
const NO_WRAP = "\u001b[?7l";

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("terminal");
  // ~125 batches an epoch: long enough to press Ctrl-C in the middle of one
  writeConfig(dir, "ctrlc.json", { split: { train: 2000, dev: 200, test: 200 }, model: "mlp", epochs: 30, batchSize: 16 }); // long enough that Ctrl-C lands mid-run however fast an epoch is
  // one CNN batch of 1,500 takes seconds: a second Ctrl-C lands while the first waits for it to end
  writeConfig(dir, "slow.json", { split: { train: 1500, dev: 100, test: 100 }, model: "cnn", epochs: 2, batchSize: 1500 });
  writeConfig(dir, "short.json", { split: { train: 300, dev: 100, test: 100 }, model: "mlp", epochs: 2, batchSize: 50 });
});

const train = (args: string) => `node ${BIN} train ${args}`;
/** The output as its lines, with the escape sequences and carriage returns taken out. */
const plain = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
/** The cursor is visible at the end when the last hide was followed by a show. */
const cursorShownAtEnd = (s: string) => s.lastIndexOf(SHOW) > s.lastIndexOf(HIDE);
/** The batch bar has been drawn for a few batches of epoch 1. */
const midEpoch = /epoch {2}1 \|[^|]*\| ([3-9]|\d\d+)\/125/;

describe("descent train in a terminal", () => {
  it("Ctrl-C saves a checkpoint, prints the whole --resume command, stops the bars and exits 1", async () => {
    const run = join(dir, "ctrlc");
    const r = await runInTerminal(train("--config ctrlc.json --out ctrlc"), dir, { cols: 60, keys: [{ when: midEpoch, send: "\u0003" }] });
    expect(r.code, `no exit (a hang):\n${plain(r.output).slice(-2000)}`).toBe(1);
    const text = plain(r.output);
    expect(text).toContain("stopping after this batch (Ctrl-C again to quit at once)...");
    const resume = `interrupted: saved ${join(run, "checkpoints", "interrupted.ckpt")}; continue with: npx descent train --resume ${run}`;
    expect(resume.length).toBeGreaterThan(60);
    expect(text).toContain(resume);
    // the terminal wraps long lines (it is never told not to), so the command is not cut at 60 columns
    expect(r.output).not.toContain(NO_WRAP);
    // nothing is drawn after the last line, and the cursor is visible again
    expect(r.output.slice(r.output.indexOf("interrupted: saved"))).not.toMatch(/\|\u2588|\u2591/);
    expect(cursorShownAtEnd(r.output)).toBe(true);
    expect(existsSync(join(run, "checkpoints", "interrupted.ckpt"))).toBe(true);
  });

  it("a second Ctrl-C quits at once (exit 130) and leaves the cursor visible", async () => {
    const keys = [{ when: /epoch {2}1 \|/, send: "\u0003" }, { when: /epoch {2}1 \|/, send: "\u0003", delayMs: 400 }];
    const r = await runInTerminal(train("--config slow.json --out twice"), dir, { keys });
    expect(r.code, plain(r.output).slice(-2000)).toBe(130);
    expect(r.output).toContain(HIDE); // the bars were drawn
    expect(cursorShownAtEnd(r.output)).toBe(true);
  });

  it("prints every epoch line, the last one too, and ends with the test accuracy", async () => {
    const r = await runInTerminal(train("--config short.json --out short"), dir);
    expect(r.code, plain(r.output).slice(-2000)).toBe(0);
    expect(r.output).toMatch(/epochs +\|/); // the bars were drawn
    const out = plain(r.output).split("\n");
    expect(out.filter((l) => /^epoch \d+ train loss/.test(l)).map((l) => l.split(" ")[1])).toEqual(["1", "2"]);
    expect(out.filter((l) => l.trim() !== "").at(-1)).toMatch(/^test accuracy: \d+\.\d%$/);
    expect(cursorShownAtEnd(r.output)).toBe(true);
  });

  it("train > log: the epoch lines go to the file, the bars stay on the terminal", async () => {
    const r = await runInTerminal(`${train("--config short.json --out redirected")} > log.txt`, dir);
    expect(r.code, plain(r.output).slice(-2000)).toBe(0);
    const log = readFileSync(join(dir, "log.txt"), "utf8");
    expect(log.split("\n").filter((l) => /^epoch \d+ train loss/.test(l))).toHaveLength(2);
    expect(log).toMatch(/^test accuracy: \d+\.\d%$/m);
    expect(log).not.toContain("\u001b");
    expect(r.output).toMatch(/epochs +\|/);
    expect(plain(r.output)).not.toMatch(/^epoch \d+ train loss/m);
  });
});
