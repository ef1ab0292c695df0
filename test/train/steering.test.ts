/**
 * Steering through the run folder, end to end (no browser): a command appended to a live run's
 * control.jsonl (as `descent serve` does) is applied by `runExperiment` at its next step and
 * logged in metrics.jsonl; a copy of the run folder resumed from the checkpoint before that
 * change (`--resume`) replays it from metrics.jsonl and ends with the same weights, byte for byte.
 */
import { appendFileSync, cpSync, existsSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runExperiment } from "../../src/train/experiment.js";
import { resolveConfig } from "../../src/train/config.js";
import { loadModelFiles } from "../../src/io/modelfile.js";
import { tempDir } from "./helpers.js";

interface Rec { type: string; step: number; lr?: number; control?: { action: string }; seconds?: number; samplesPerSecond?: number }
/** The records without wall-clock fields (epoch seconds and samples/s differ between two runs). */
const timeless = (recs: Rec[]) => recs.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);
const records = (dir: string): Rec[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Rec);

describe("steering a run folder", () => {
  const root = tempDir("steering");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("applies a command from control.jsonl at the next step, and a resume replays it exactly", async () => {
    const config = resolveConfig({
      data: { source: "mnist" }, split: { train: 2000, dev: 100, test: 100 },
      model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 8 }, { type: "relu" }, { type: "linear", outFeatures: 10 }] },
      optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 }, epochs: 2, batchSize: 8, earlyStopping: false,
    });
    const dir = join(root, "run");
    const quiet = { progress: false, log: () => {}, report: false };
    const running = runExperiment(config, { outDir: dir, ...quiet });
    // once the first epoch has ended (its checkpoint written), change the lr by hand
    for (let t = 0; !(existsSync(join(dir, "metrics.jsonl")) && records(dir).some((r) => r.type === "epoch")); t++) {
      if (t > 4000) throw new Error("the run did not finish its first epoch");
      await new Promise((r) => setTimeout(r, 5));
    }
    appendFileSync(join(dir, "control.jsonl"), JSON.stringify({ action: "set", name: "lr", value: 0.003 }) + "\n");
    const first = await running;
    expect(first.interrupted).toBe(false);
    const event = records(dir).find((r) => r.control?.action === "set")!;
    expect(event, "the run took the command").toBeDefined();
    const epochEnd = records(dir).find((r) => r.type === "epoch")!.step;
    expect(event.step).toBeGreaterThan(epochEnd);
    const steps = records(dir).filter((r) => r.type === "step");
    expect(steps.find((s) => s.step === event.step - 1)!.lr).toBe(0.05);
    expect(steps.filter((s) => s.step >= event.step).every((s) => s.lr === 0.003)).toBe(true);

    // the same run, as if it had stopped after epoch 1: resume from epoch-1.ckpt, which predates the change
    const copy = join(root, "copy");
    cpSync(dir, copy, { recursive: true });
    for (const f of ["epoch-2.ckpt", "best.ckpt"]) if (existsSync(join(copy, "checkpoints", f))) unlinkSync(join(copy, "checkpoints", f));
    const resumed = await runExperiment(undefined, { resumeDir: copy, ...quiet });
    expect(resumed.interrupted).toBe(false);
    const a = loadModelFiles(dir).stateDict, b = loadModelFiles(copy).stateDict;
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.dataSync()), k).toEqual(Array.from(a[k]!.dataSync()));
    // the resumed log reads as the first one: epoch 2 and the replayed command once each
    expect(timeless(records(copy))).toEqual(timeless(records(dir)));
  });
});
