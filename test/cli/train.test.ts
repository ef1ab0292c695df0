/**
 * `descent train` end to end, on small slices of the bundled digits: the run folder, the last
 * line, --json, flags over the config, a run folder never overwritten, --resume continuing a run
 * exactly, and Ctrl-C saving a checkpoint that --resume finishes from.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, runCli, SMALL, spawnCli, tempDir, writeConfig, writeFlowersCsv } from "./helpers.js";

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
      loss: null,
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
    expect(lines(r.stderr)).toEqual([`error: run folder ${run} already holds a run: choose another --out, or train it longer with --resume ${run} --epochs N`]);
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

  it("--loss sets the config's loss, keeping its options when it names the same loss", async () => {
    writeConfig(dir, "focal.json", { ...SMALL, split: { train: 100, dev: 0, test: 100 }, epochs: 1, loss: { type: "focal", gamma: 1 } });
    const [same, other, bad] = await Promise.all([
      runCli(["train", "--config", "focal.json", "--loss", "focal", "--out", "loss-same"], dir),
      runCli(["train", "--config", "focal.json", "--loss", "huber", "--out", "loss-other"], dir),
      runCli(["train", "--config", "focal.json", "--loss", "hinge", "--out", "loss-bad"], dir),
    ]);
    expect(same.code, same.stderr).toBe(0);
    expect(other.code, other.stderr).toBe(0);
    expect(readJson(join(dir, "loss-same", "config.json")).loss).toEqual({ type: "focal", gamma: 1 });
    expect(readJson(join(dir, "loss-other", "config.json")).loss).toBe("huber");
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: --loss: "hinge" is not one of crossEntropy, focal, binaryCrossEntropyWithLogits, binaryCrossEntropy, mse, l1, smoothL1, huber, rmse');
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
    // ~40 batches an epoch, 20 epochs: the interrupt, 300 ms after the first epoch's line, lands
    // well before the end however fast training is (an MLP epoch here takes ~0.1-0.3 s)
    const config = { split: { train: 1200, dev: 200, test: 200 }, model: "mlp", epochs: 20, batchSize: 32, earlyStopping: false };
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
    expect(epochLines(run).map((m) => m.epoch)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(readFileSync(join(run, "model.safetensors")).equals(readFileSync(join(dir, "ctrlc-straight", "model.safetensors")))).toBe(true);
  });
});

describe("--resume RUN --epochs N past the run's epochs", () => {
  const tiny = { split: { train: 300, dev: 100, test: 100 }, model: "mlp", epochs: 1, batchSize: 50, optimizer: { name: "adam", lr: 0.001 } };

  it("a schedule without its length follows the run: the cosine stretches to N epochs, so the extra epochs train", async () => {
    writeConfig(dir, "cos.json", { ...tiny, schedule: { type: "cosine" } });
    const first = await runCli(["train", "--config", "cos.json", "--out", "cos"], dir);
    expect(first.code, first.stderr).toBe(0);
    const run = join(dir, "cos");
    const resumed = await runCli(["train", "--resume", "cos", "--epochs", "2"], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    const lrs = (metricLines(run).filter((m) => m.type === "epoch") as unknown as { lr: number }[]).map((m) => m.lr);
    // epoch 1 of a cosine over 1 epoch has lr0; epoch 2, over 2 epochs, lr0·(1 + cos(π/2))/2 = lr0/2
    expect(lrs[0]).toBeCloseTo(0.001, 12);
    expect(lrs[1]).toBeCloseTo(0.0005, 9);
    const config = readJson(join(run, "config.json"));
    expect(config.epochs).toBe(2);
    expect(config.schedule).toEqual({ type: "cosine" });
  });

  it("a schedule with an explicit shorter length is refused, saying how to extend it; config.json is untouched", async () => {
    writeConfig(dir, "cos-fixed.json", { ...tiny, schedule: { type: "cosine", tMax: 1 } });
    const first = await runCli(["train", "--config", "cos-fixed.json", "--out", "cos-fixed"], dir);
    expect(first.code, first.stderr).toBe(0);
    const before = readFileSync(join(dir, "cos-fixed", "config.json"), "utf8");
    const r = await runCli(["train", "--resume", "cos-fixed", "--epochs", "3"], dir);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `error: --resume cos-fixed: the schedule's tMax is 1 epochs, but the run needs 3 epochs; to train this long, set tMax to 3 or more in "schedule" in ${join("cos-fixed", "config.json")}, or remove it (then the schedule follows the run's epochs)`,
    ]);
    expect(readFileSync(join(dir, "cos-fixed", "config.json"), "utf8")).toBe(before);
  });

  it("--epochs at or below the epochs done says there is nothing to do", async () => {
    const [same, none] = await Promise.all([runCli(["train", "--resume", "cos-fixed", "--epochs", "1"], dir), runCli(["train", "--resume", "cos-fixed"], dir)]);
    for (const r of [same, none]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toEqual(["error: --resume cos-fixed: nothing to do: the run has trained 1 epoch and --epochs is the total (1); give --epochs 2 or more to train longer"]);
    }
  });
});

describe("relative data paths in a config", () => {
  it("are read from the config file's folder and stored absolute, so evaluate works from any folder", async () => {
    const project = join(dir, "project");
    mkdirSync(join(project, "data"), { recursive: true });
    mkdirSync(join(project, "configs"), { recursive: true });
    writeFlowersCsv(join(project, "data", "flowers.csv"));
    writeConfig(join(project, "configs"), "flowers.json", {
      data: { source: "csv", path: "../data/flowers.csv", label: "species" }, model: { layers: [{ type: "linear", outFeatures: 3 }] }, epochs: 1, batchSize: 10,
    });
    const r = await runCli(["train", "--config", join("project", "configs", "flowers.json"), "--out", "flowers"], dir);
    expect(r.code, r.stderr).toBe(0);
    const config = readJson(join(dir, "flowers", "config.json"));
    expect(config.data.path).toBe(join(project, "data", "flowers.csv"));
    const elsewhere = tempDir("elsewhere");
    const ev = await runCli(["evaluate", join(dir, "flowers"), "--split", "test"], elsewhere);
    expect(ev.code, ev.stderr).toBe(0);
    expect(lines(ev.stdout).at(-1)).toMatch(/^test accuracy: \d+\.\d%$/);
  });
});

describe("run folders: checked before they are made, never half-made, never mixed into", () => {
  const regression = (name: string, lr: number) => {
    const rows = Array.from({ length: 100 }, (_, i) => { const a = ((i * 37) % 100) / 50 - 1, b = ((i * 53) % 100) / 50 - 1; return `${a},${b},${3 * a - 2 * b}`; });
    writeFileSync(join(dir, "reg.csv"), ["x1,x2,y", ...rows].join("\n"));
    return writeConfig(dir, name, { data: { source: "csv", path: "reg.csv", label: "y", labelType: "float" }, model: { layers: [{ type: "linear", outFeatures: 1 }] }, optimizer: { name: "sgd", lr }, epochs: 2, batchSize: 10 });
  };

  it("an augmentation the data cannot take is refused before the folder is made", async () => {
    writeFlowersCsv(join(dir, "aug-flowers.csv"));
    writeConfig(dir, "aug.json", { data: { source: "csv", path: "aug-flowers.csv" }, augmentation: [{ type: "randomCrop", padding: 2 }], model: { layers: [{ type: "linear", outFeatures: 3 }] } });
    const r = await runCli(["train", "--config", "aug.json", "--out", "aug"], dir);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual(["error: config aug.json: augmentation: needs image samples [C, H, W], the data's samples are [4]"]);
    expect(existsSync(join(dir, "aug"))).toBe(false);
  });

  it("a diverged run records where it stopped; the same --out says so, and --resume says what can be done", async () => {
    regression("diverge.json", 1000);
    const r = await runCli(["train", "--config", "diverge.json", "--out", "diverged"], dir);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: the (dev )?loss became (NaN|-?Infinity)/);
    const run = join(dir, "diverged");
    const event = metricLines(run).filter((m) => m.type === "event").at(-1) as unknown as { epoch: number; step: number; reason: string };
    expect(event.reason).toBe("nonFinite");
    expect(event.epoch).toBeGreaterThanOrEqual(0);
    expect(event.step).toBeGreaterThanOrEqual(0);
    const config = readFileSync(join(run, "config.json"), "utf8");
    const [again, resumed] = await Promise.all([runCli(["train", "--config", "diverge.json", "--out", "diverged"], dir), runCli(["train", "--resume", "diverged", "--epochs", "3"], dir)]);
    expect(again.code).toBe(2);
    expect(lines(again.stderr)).toEqual([`error: run folder ${run} already holds a run that stopped on a non-finite loss: choose another --out (runs are never overwritten)`]);
    expect(resumed.code).toBe(2);
    expect(lines(resumed.stderr)).toHaveLength(1);
    expect(resumed.stderr.trim()).toMatch(new RegExp(`^error: --resume diverged: the run stopped at step ${event.step} \\(epoch ${event.epoch + 1}\\) because the (dev )?loss became \\S+, and resuming would repeat the same steps; start a new run .*descent train --config ${join(run, "config.json")} --lr 100 --out <new folder>$`));
    expect(readFileSync(join(run, "config.json"), "utf8")).toBe(config);
  });

  it("a run that ended before its first checkpoint: --resume says to start again, and the same --out starts over", async () => {
    regression("ok.json", 0.01);
    mkdirSync(join(dir, "unstarted", "checkpoints"), { recursive: true });
    writeFileSync(join(dir, "unstarted", "config.json"), "{}");
    const resumed = await runCli(["train", "--resume", "unstarted"], dir);
    expect(resumed.code).toBe(2);
    expect(lines(resumed.stderr)).toEqual([`error: --resume unstarted: the run stopped before its first checkpoint, so there is nothing to resume; start it again with descent train --config ${join(dir, "unstarted", "config.json")} --out ${join(dir, "unstarted")}`]);
    const r = await runCli(["train", "--config", "ok.json", "--out", "unstarted"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`run folder ${join(dir, "unstarted")}: its run stopped before its first checkpoint; starting over there`);
    expect(readJson(join(dir, "unstarted", "config.json")).epochs).toBe(2);
  });

  it("a failed --resume leaves config.json as it was", async () => {
    const run = join(dir, "unstarted");
    const before = readFileSync(join(run, "config.json"), "utf8");
    for (const f of readdirSync(join(run, "checkpoints"))) writeFileSync(join(run, "checkpoints", f), "damaged");
    const r = await runCli(["train", "--resume", "unstarted", "--epochs", "4"], dir);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/\.ckpt: /);
    expect(readFileSync(join(run, "config.json"), "utf8")).toBe(before);
  });

  it("--out that is a file, lies under a file, or is a non-empty folder that is not a run: one line, exit 2, nothing written", async () => {
    writeFileSync(join(dir, "a-file"), "x");
    mkdirSync(join(dir, "photos"), { recursive: true });
    writeFileSync(join(dir, "photos", "cat.jpg"), "x");
    const [file, under, other] = await Promise.all([
      runCli(["train", "--config", "ok.json", "--out", "a-file"], dir),
      runCli(["train", "--config", "ok.json", "--out", join("a-file", "run")], dir),
      runCli(["train", "--config", "ok.json", "--out", "photos"], dir),
    ]);
    expect(lines(file.stderr)).toEqual([`error: --out ${join(dir, "a-file")}: it is a file, not a folder`]);
    expect(lines(under.stderr)).toEqual([`error: --out ${join(dir, "a-file", "run")}: ${join(dir, "a-file")} is a file, not a folder`]);
    expect(lines(other.stderr)).toEqual([`error: --out ${join(dir, "photos")}: the folder is not empty and holds no run (no config.json and checkpoints/); choose a new or empty folder`]);
    // a user's own project folder, with a config.json of theirs: never taken over, nothing removed
    const project = join(dir, "my-project");
    mkdirSync(join(project, "checkpoints"), { recursive: true });
    writeFileSync(join(project, "config.json"), "{}");
    writeFileSync(join(project, "data.csv"), "a,b\n1,2\n");
    const mine = await runCli(["train", "--config", "ok.json", "--out", "my-project"], dir);
    expect(lines(mine.stderr)).toEqual([`error: --out ${project}: the folder holds a run that never reached a checkpoint, and other files (data.csv); choose a new or empty folder`]);
    expect(readdirSync(project).sort()).toEqual(["checkpoints", "config.json", "data.csv"]);
    for (const r of [file, under, other, mine]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }
    expect(readdirSync(join(dir, "photos"))).toEqual(["cat.jpg"]);
  });
});

describe("silent clamps", () => {
  it("a batch size larger than the training set says that each epoch is one batch", async () => {
    writeConfig(dir, "big-batch.json", { split: { train: 300, dev: 100, test: 100 }, model: "mlp", epochs: 1, batchSize: 1000 });
    const r = await runCli(["train", "--config", "big-batch.json", "--out", "big-batch"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toContain("batch size 1000 is more than the 300 training samples: each epoch is one batch of 300");
  });
});
