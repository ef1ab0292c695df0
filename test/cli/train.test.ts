/**
 * `descent train` end to end, on small slices of the bundled digits: the run folder, the last
 * line, --json, flags over the config, a run folder never overwritten, --resume continuing a run
 * exactly, and Ctrl-C saving a checkpoint that --resume finishes from.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, runCli, SMALL, spawnCli, tempDir, writeConfig } from "./helpers.js";

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("train");
  writeConfig(dir, "small.json", SMALL);
});

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const metricLines = (run: string) => readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; epoch: number });
const epochLines = (run: string) => metricLines(run).filter((m) => m.type === "epoch");

describe("descent train --config small.json --out DIR", () => {
  let run: string;
  let stdout: string;

  beforeAll(async () => {
    const r = await runCli(["train", "--config", "small.json", "--out", "run"], dir);
    expect(r.code, r.stderr).toBe(0);
    run = join(dir, "run");
    stdout = r.stdout;
  });

  it("writes the whole run folder", () => {
    for (const f of ["config.json", "metrics.jsonl", "checkpoints", "model.json", "model.safetensors", "summary.json", "report.html"]) {
      expect(existsSync(join(run, f)), f).toBe(true);
    }
    expect(readdirSync(join(run, "checkpoints"))).toEqual(expect.arrayContaining(["epoch-1.ckpt", "epoch-2.ckpt"]));
    expect(epochLines(run).map((m) => m.epoch)).toEqual([0, 1]);
    expect(readFileSync(join(run, "report.html"), "utf8")).toMatch(/^<!doctype html>/i);
  });

  it("config.json is the resolved config, every default filled in", () => {
    const config = readJson(join(run, "config.json"));
    expect(config).toMatchObject({
      data: { source: "mnist" },
      split: { train: 600, dev: 200, test: 200, stratify: true },
      model: "mlp",
      optimizer: { name: "adam", lr: 0.001 },
      schedule: null,
      epochs: 2,
      batchSize: 64,
      seed: 1,
      dtype: "float32",
      earlyStopping: { monitor: "devLoss", patience: 3 },
      checkpoint: { everyEpochs: 1, keepLast: 3 },
      clipGradNorm: null,
    });
    for (const key of ["standardize", "regularization", "augmentation"]) expect(config).toHaveProperty(key);
  });

  it("prints one line per epoch (no progress bars in a pipe) and ends with the test accuracy", () => {
    const out = lines(stdout);
    expect(out.at(-1)).toMatch(/^test accuracy: \d+\.\d%$/);
    expect(out.filter((l) => /^epoch \d/.test(l))).toHaveLength(2);
    expect(stdout).not.toContain("{label}");
    expect(stdout).not.toContain("\u001b[");
    const summary = readJson(join(run, "summary.json"));
    expect(out.at(-1)).toBe(`test accuracy: ${(100 * summary.test.accuracy).toFixed(1)}%`);
    expect(summary).toMatchObject({ epochs: 2, steps: 20, classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] });
  });

  it("refuses to overwrite an existing run: exit 2, one line, the folder untouched", async () => {
    const before = readFileSync(join(run, "model.safetensors"));
    const r = await runCli(["train", "--config", "small.json", "--out", "run", "--epochs", "1"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual([`error: run folder ${run} already holds a run: choose another --out, or continue it with --resume ${run}`]);
    expect(readFileSync(join(run, "model.safetensors")).equals(before)).toBe(true);
    expect(readJson(join(run, "config.json")).epochs).toBe(2);
  });

  it("--resume DIR --epochs 3 continues to 3 epochs, with the weights of a straight 3-epoch run", async () => {
    const [resumed, straight] = await Promise.all([
      runCli(["train", "--resume", "run", "--epochs", "3"], dir),
      runCli(["train", "--config", "small.json", "--epochs", "3", "--out", "run3"], dir),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(straight.code, straight.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming ${run} from ${join(run, "checkpoints", "epoch-2.ckpt")}`);
    expect(lines(resumed.stdout).filter((l) => /^epoch \d/.test(l))).toEqual([expect.stringMatching(/^epoch 3 /)]);
    expect(epochLines(run).map((m) => m.epoch)).toEqual([0, 1, 2]);
    expect(readJson(join(run, "config.json")).epochs).toBe(3);
    expect(lines(resumed.stdout).at(-1)).toBe(lines(straight.stdout).at(-1));
    const a = readFileSync(join(run, "model.safetensors"));
    const b = readFileSync(join(dir, "run3", "model.safetensors"));
    expect(a.equals(b), "resumed and straight runs differ").toBe(true);
  });
});

describe("descent train flags", () => {
  it("--epochs, --batch-size, --seed, --model, --optimizer and --lr override the config", async () => {
    writeConfig(dir, "cnn.json", { ...SMALL, model: "cnn", optimizer: { name: "adam", lr: 0.002 }, epochs: 5, batchSize: 16, seed: 7 });
    const r = await runCli(
      ["train", "--config", "cnn.json", "--epochs", "1", "--batch-size", "100", "--seed", "3", "--model", "mlp", "--optimizer", "sgd", "--lr", "0.2", "--out", "flags"],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const config = readJson(join(dir, "flags", "config.json"));
    expect(config).toMatchObject({ model: "mlp", optimizer: { name: "sgd", lr: 0.2 }, epochs: 1, batchSize: 100, seed: 3, split: SMALL.split });
    expect(epochLines(join(dir, "flags"))).toHaveLength(1);
    expect(r.stdout).toContain("split 10000 samples (seed 3");
  });

  it("--optimizer alone takes that optimizer's default learning rate; --lr alone keeps the optimizer", async () => {
    writeConfig(dir, "tiny.json", { ...SMALL, split: { train: 100, dev: 0, test: 100 }, epochs: 1 });
    const [a, b] = await Promise.all([
      runCli(["train", "--config", "tiny.json", "--optimizer", "sgd", "--out", "opt-only"], dir),
      runCli(["train", "--config", "tiny.json", "--lr", "0.003", "--out", "lr-only"], dir),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(readJson(join(dir, "opt-only", "config.json")).optimizer).toEqual({ name: "sgd", lr: 0.001 });
    expect(readJson(join(dir, "lr-only", "config.json")).optimizer).toEqual({ name: "adam", lr: 0.003 });
  });

  it("--json prints one JSON object on stdout with the test accuracy; messages go to stderr", async () => {
    const r = await runCli(["train", "--config", "small.json", "--epochs", "1", "--json", "--out", "json"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ run: join(dir, "json"), epochs: 1, test: { accuracy: expect.any(Number), loss: expect.any(Number) } });
    expect(out.test.accuracy).toBe(readJson(join(dir, "json", "summary.json")).test.accuracy);
    expect(r.stderr).toMatch(/^epoch 1 /m);
    expect(r.stderr).toContain("split 10000 samples");
  });
});

describe("Ctrl-C", () => {
  it("saves a checkpoint, says how to resume, exits 1; --resume finishes the run exactly", async () => {
    // ~40 batches an epoch: the interrupt lands in the middle of epoch 2
    const config = { split: { train: 1200, dev: 200, test: 200 }, model: "mlp", epochs: 3, batchSize: 32 };
    writeConfig(dir, "ctrlc.json", config);
    const run = join(dir, "ctrlc");
    const child = spawnCli(["train", "--config", "ctrlc.json", "--out", "ctrlc"], dir);
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!sent && /^epoch 1 /m.test(stdout)) {
        sent = true;
        setTimeout(() => child.kill("SIGINT"), 300);
      }
    });
    // on a very busy machine, interrupt anyway after a minute (the test then reports it)
    const timer = setTimeout(() => !sent && child.kill("SIGINT"), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    clearTimeout(timer);
    expect(sent, "no epoch line before the timeout").toBe(true);
    expect(code, stderr).toBe(1);
    expect(stdout).toContain("stopping after this batch (Ctrl-C again to quit at once)...");
    const last = lines(stdout).at(-1)!;
    expect(last).toBe(`interrupted: saved ${join(run, "checkpoints", "interrupted.ckpt")}; continue with: npx descent train --resume ${run}`);
    expect(existsSync(join(run, "checkpoints", "interrupted.ckpt"))).toBe(true);
    expect(existsSync(join(run, "model.safetensors"))).toBe(false);

    // the printed command finishes the run; a straight run of the same config gives the same weights
    const [resumed, straight] = await Promise.all([
      runCli(["train", "--resume", run], dir),
      runCli(["train", "--config", "ctrlc.json", "--out", "ctrlc-straight"], dir),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(straight.code, straight.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming ${run} from ${join(run, "checkpoints", "interrupted.ckpt")}`);
    expect(lines(resumed.stdout).at(-1)).toMatch(/^test accuracy: \d+\.\d%$/);
    expect(epochLines(run).map((m) => m.epoch)).toEqual([0, 1, 2]);
    expect(readFileSync(join(run, "model.safetensors")).equals(readFileSync(join(dir, "ctrlc-straight", "model.safetensors")))).toBe(true);
  });
});
