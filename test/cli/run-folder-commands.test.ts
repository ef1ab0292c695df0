/**
 * The commands that use finished runs (evaluate, predict, report), compare, and conformance.
 */
import { cpSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultExperiment, resolveConfig } from "../../src/train/config.js";
import { ensureBuilt, lines, ROOT, runCli, SMALL, tempDir, writeConfig, writeFlowersCsv } from "./helpers.js";

let dir: string;
let run: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("inspect");
  writeConfig(dir, "small.json", SMALL);
  const r = await runCli(["train", "--config", "small.json", "--out", "run"], dir);
  expect(r.code, r.stderr).toBe(0);
  run = join(dir, "run");
});

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

describe("descent evaluate RUN", () => {
  it("--split test prints the test accuracy of summary.json", async () => {
    const r = await runCli(["evaluate", "run", "--split", "test"], dir);
    expect(r.code, r.stderr).toBe(0);
    const summary = readJson(join(run, "summary.json"));
    const out = lines(r.stdout);
    expect(out[0]).toBe("test: 200 samples");
    expect(out).toContain(`loss: ${summary.test.loss.toFixed(4)}`);
    expect(out.at(-1)).toBe(`test accuracy: ${(100 * summary.test.accuracy).toFixed(1)}%`);
    // the confusion matrix: a header of the class names, then 10 rows led by their class, the same counts as the run's
    const at = out.indexOf("confusion matrix (rows: true class, columns: predicted):");
    expect(out[at + 1]!.trim().split(/\s+/)).toEqual(summary.classes);
    const rows = out.slice(at + 2, -1).map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0])).toEqual(summary.classes);
    expect(rows.map((r) => r.slice(1).map(Number))).toEqual(summary.confusion);
  });

  it("--split dev gives the dev accuracy of the final epoch", async () => {
    const r = await runCli(["evaluate", "run", "--split", "dev"], dir);
    expect(r.code, r.stderr).toBe(0);
    const summary = readJson(join(run, "summary.json"));
    expect(lines(r.stdout).at(-1)).toBe(`dev accuracy: ${(100 * summary.dev.accuracy).toFixed(1)}%`);
  });

  it("a bad --split is bad usage", async () => {
    const r = await runCli(["evaluate", "run", "--split", "validation"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: --split: "validation" is not one of train, dev, test');
  });
});

describe("descent predict RUN FILE", () => {
  it("prints one line per sample of a JSON file of two 1x28x28 images", async () => {
    const blank = Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => 0));
    const bar = Array.from({ length: 28 }, () => Array.from({ length: 28 }, (_, j) => (j >= 12 && j <= 15 ? 1 : 0)));
    writeFileSync(join(dir, "two.json"), JSON.stringify([[blank], [bar]]));
    const r = await runCli(["predict", "run", "two.json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^0: \d \(\d+\.\d%\)$/);
    expect(out[1]).toMatch(/^1: \d \(\d+\.\d%\)$/);

    const top3 = await runCli(["predict", "run", "two.json", "--top", "3"], dir);
    expect(top3.code, top3.stderr).toBe(0);
    const first = lines(top3.stdout);
    expect(first).toHaveLength(2);
    for (const [i, l] of first.entries()) {
      expect(l).toMatch(/^\d: \d \(\d+\.\d%\), \d \(\d+\.\d%\), \d \(\d+\.\d%\)$/);
      expect(l.slice(0, l.indexOf(","))).toBe(out[i]); // the most likely class comes first
    }
  });

  it("a sample of the wrong shape, an empty file, or a file that is not JSON is bad usage naming the file and the sample", async () => {
    writeFileSync(join(dir, "short.json"), JSON.stringify([[1, 2, 3]]));
    writeFileSync(join(dir, "broken.json"), "[[1, 2,");
    writeFileSync(join(dir, "words.json"), JSON.stringify([[Array.from({ length: 28 }, () => Array.from({ length: 28 }, (_, j) => (j === 5 ? "a" : 0)))]]));
    writeFileSync(join(dir, "empty.json"), "[]");
    // two whole images and a third one row short: the old reader cut these 2,324 values into other samples
    const image = Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => 0));
    writeFileSync(join(dir, "ragged.json"), JSON.stringify([[image], [image], [image.slice(1)]]));
    const [short, broken, words, missing, top, empty, ragged] = await Promise.all([
      runCli(["predict", "run", "short.json"], dir),
      runCli(["predict", "run", "broken.json"], dir),
      runCli(["predict", "run", "words.json"], dir),
      runCli(["predict", "run", "missing.json"], dir),
      runCli(["predict", "run", "short.json", "--top", "zero"], dir),
      runCli(["predict", "run", "empty.json"], dir),
      runCli(["predict", "run", "ragged.json"], dir),
    ]);
    expect(short.stderr.trim()).toBe("error: short.json: sample 0 is an array of 3, expected an array of 1 (the model takes samples of shape [1,28,28])");
    expect(broken.stderr.trim()).toMatch(/^error: broken\.json: not valid JSON \(.+\)$/);
    expect(words.stderr.trim()).toBe('error: words.json: sample 0[0][0][5] is "a", not a finite number');
    expect(missing.stderr.trim()).toBe("error: missing.json: no such file");
    expect(top.stderr.trim()).toBe('error: --top: "zero" is not a positive integer');
    expect(empty.stderr.trim()).toBe("error: empty.json: no samples (an empty array); expected each sample an array of shape [1,28,28]");
    expect(ragged.stderr.trim()).toBe("error: ragged.json: sample 2 at [0] is an array of 27, expected an array of 28 (the model takes samples of shape [1,28,28])");
    for (const r of [short, broken, words, missing, top, empty, ragged]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
    }
  });

  it("reads an IDX images file of 28x28 items; items of another shape are refused", async () => {
    const idx = (dims: number[]) => {
      const header = Buffer.alloc(4 + 4 * dims.length);
      header.writeUInt8(0x08, 2);
      header.writeUInt8(dims.length, 3);
      dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
      return Buffer.concat([header, Buffer.alloc(dims.reduce((a, b) => a * b, 1), 128)]);
    };
    writeFileSync(join(dir, "three-images-idx3-ubyte"), idx([3, 28, 28]));
    writeFileSync(join(dir, "wide-idx3-ubyte"), idx([2, 28, 14]));
    const [ok, wide] = await Promise.all([runCli(["predict", "run", "three-images-idx3-ubyte"], dir), runCli(["predict", "run", "wide-idx3-ubyte"], dir)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(lines(ok.stdout).map((l) => l.split(":")[0])).toEqual(["0", "1", "2"]);
    expect(wide.code).toBe(2);
    expect(wide.stderr.trim()).toBe("error: wide-idx3-ubyte: the items have shape [28,14]; the model takes samples of shape [1,28,28]");
  });
});

describe("descent predict on a model trained on a CSV file", () => {
  let csvDir: string;

  beforeAll(async () => {
    csvDir = tempDir("predict-csv");
    writeFlowersCsv(join(csvDir, "flowers.csv"));
    writeConfig(csvDir, "flowers.json", {
      data: { source: "csv", path: "flowers.csv", label: "species" }, standardize: true,
      model: { layers: [{ type: "linear", outFeatures: 3 }] }, epochs: 1, batchSize: 10,
    });
    const r = await runCli(["train", "--config", "flowers.json", "--out", "run"], csvDir);
    expect(r.code, r.stderr).toBe(0);
  });

  it("reads rows with or without a header; a header picks the model's columns by name, so the training file itself reads", async () => {
    writeFileSync(join(csvDir, "plain.csv"), "2,0,0,0\n0,0,2,0\n");
    writeFileSync(join(csvDir, "header.csv"), "d,c,b,a\n0,0,0,2\n0,2,0,0\n");
    const [plain, header, training] = await Promise.all([
      runCli(["predict", "run", "plain.csv", "--top", "3"], csvDir),
      runCli(["predict", "run", "header.csv", "--top", "3"], csvDir),
      runCli(["predict", "run", "flowers.csv"], csvDir),
    ]);
    for (const r of [plain, header, training]) expect(r.code, r.stderr).toBe(0);
    expect(lines(plain.stdout)).toHaveLength(2);
    for (const l of lines(plain.stdout)) expect(l).toMatch(/^\d: (setosa|versicolor|virginica) \(\d+\.\d%\)(, (setosa|versicolor|virginica) \(\d+\.\d%\)){2}$/);
    // the same two samples, columns reordered by the header
    expect(header.stdout).toBe(plain.stdout);
    expect(lines(training.stdout)).toHaveLength(150);
  });

  it("a row with the wrong number of values, or a header without the model's columns, is bad usage naming the line", async () => {
    writeFileSync(join(csvDir, "short.csv"), "1,2,3,4\n1,2,3\n");
    writeFileSync(join(csvDir, "other.csv"), "a,b,c,e\n1,2,3,4\n");
    const [short, other] = await Promise.all([runCli(["predict", "run", "short.csv"], csvDir), runCli(["predict", "run", "other.csv"], csvDir)]);
    expect(short.code).toBe(2);
    expect(short.stderr.trim()).toBe("error: short.csv:2: row 2 has 3 values; the model takes 4 per sample");
    expect(other.code).toBe(2);
    expect(other.stderr.trim()).toBe('error: other.csv:1: no column named "d" (the model reads a, b, c, d; the header has a, b, c, e)');

    // 3 MNIST images for a 4-feature model, and [] : refused, not 588 predictions or none
    const images = join(dir, "three-images-idx3-ubyte");
    writeFileSync(join(csvDir, "empty.json"), "[]");
    const [idx, empty] = await Promise.all([runCli(["predict", "run", images], csvDir), runCli(["predict", "run", "empty.json"], csvDir)]);
    expect(idx.code).toBe(2);
    expect(idx.stderr.trim()).toBe(`error: ${images}: the items have shape [28,28]; the model takes samples of shape [4]`);
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe("");
  });
});

describe("descent report RUN", () => {
  it("rewrites report.html", async () => {
    const path = join(run, "report.html");
    const before = readFileSync(path, "utf8");
    rmSync(path);
    const r = await runCli(["report", "run"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`wrote ${join("run", "report.html")}`);
    expect(statSync(path).size).toBeGreaterThan(10_000);
    expect(readFileSync(path, "utf8")).toBe(before);
  });
});

describe("weights that do not fit the model", () => {
  it("name the file: model.safetensors for evaluate and predict, the checkpoint for --resume", async () => {
    cpSync(run, join(dir, "reshaped"), { recursive: true });
    const arch = readJson(join(dir, "reshaped", "model.json"));
    arch.layers[arch.layers.length - 1].outFeatures = 5;
    writeFileSync(join(dir, "reshaped", "model.json"), JSON.stringify(arch));
    const config = readJson(join(dir, "reshaped", "config.json"));
    writeFileSync(join(dir, "reshaped", "config.json"), JSON.stringify({ ...config, model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 10 }] } }));
    writeFileSync(join(dir, "one.json"), JSON.stringify([[Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => 0))]]));
    const [ev, pred, resumed] = await Promise.all([
      runCli(["evaluate", "reshaped"], dir),
      runCli(["predict", "reshaped", "one.json"], dir),
      runCli(["train", "--resume", "reshaped", "--epochs", "3"], dir),
    ]);
    for (const r of [ev, pred]) {
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^error: ${join("reshaped", "model.safetensors")}: loadStateDict .*has shape \\[10,128\\], the model expects \\[5,128\\]`));
    }
    expect(resumed.code).toBe(2);
    expect(lines(resumed.stderr)).toHaveLength(1);
    expect(resumed.stderr).toMatch(new RegExp(`^error: ${join(dir, "reshaped", "checkpoints", "epoch-2.ckpt")}: loadStateDict`));
  });
});

describe("file-system errors", () => {
  it("are one line naming the path and the reason, exit 2, never a stack trace", async () => {
    writeFileSync(join(dir, "plain-file"), "x");
    const r = await runCli(["conformance", join(ROOT, "..", "shared", "conformance", "cases", "op"), "--out", join("plain-file", "results.json")], dir);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([`error: cannot write ${join("plain-file", "results.json")}: a part of the path is a file, not a folder`]);
  });
});

describe("descent compare", () => {
  it("--optimizers sgd,adam: one run folder per optimizer and compare.html with one series each", async () => {
    const r = await runCli(["compare", "--optimizers", "sgd,adam", "--config", "small.json", "--epochs", "1", "--out", "cmp"], dir);
    expect(r.code, r.stderr).toBe(0);
    const cmp = join(dir, "cmp");
    for (const opt of ["sgd", "adam"]) {
      for (const f of ["config.json", "metrics.jsonl", "model.safetensors", "summary.json", "report.html"]) expect(existsSync(join(cmp, opt, f)), `${opt}/${f}`).toBe(true);
      const config = readJson(join(cmp, opt, "config.json"));
      expect(config).toMatchObject({ optimizer: { name: opt }, epochs: 1, seed: 1, model: "mlp" });
    }
    const out = lines(r.stdout);
    expect(out).toContain(`compare report: ${join(cmp, "compare.html")}`);
    expect(out.at(-2)).toMatch(/^sgd +test accuracy \d+\.\d% +\(1 epoch\)$/);
    expect(out.at(-1)).toMatch(/^adam +test accuracy \d+\.\d% +\(1 epoch\)$/);

    const html = readFileSync(join(cmp, "compare.html"), "utf8");
    const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
    expect(m, "compare.html embeds its data").not.toBeNull();
    const data = JSON.parse(m![1]!) as { kind: string; charts: { id: string; series: { label: string; values: number[] }[] }[] };
    expect(data.kind).toBe("compare");
    expect(data.charts.length).toBeGreaterThan(0);
    for (const chart of data.charts) {
      expect(chart.series.map((s) => s.label), chart.id).toEqual(["sgd", "adam"]);
    }
    // the dev-loss series are the runs' own numbers
    const devLoss = data.charts.find((c) => c.id === "devLoss");
    expect(devLoss).toBeDefined();
    for (const s of devLoss!.series) {
      const epoch = readFileSync(join(cmp, s.label, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.type === "epoch");
      expect(s.values[0]).toBeCloseTo(epoch.devLoss, 10);
    }

    // the same --out again is refused before anything trains
    const again = await runCli(["compare", "--optimizers", "adam,sgd", "--config", "small.json", "--epochs", "1", "--out", "cmp"], dir);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe("");
    expect(again.stderr.trim()).toBe(`error: ${cmp} already holds a comparison run adam: choose another --out (runs are never overwritten)`);
  });
});

describe("descent compare --losses", () => {
  it("trains one run per loss, each with its loss in config.json; evaluate measures the run's own loss", async () => {
    const r = await runCli(["compare", "--losses", "crossEntropy,mse", "--config", "small.json", "--epochs", "1", "--out", "cmp-losses"], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const loss of ["crossEntropy", "mse"]) expect(readJson(join(dir, "cmp-losses", loss, "config.json")).loss).toBe(loss);
    expect(lines(r.stdout).slice(-2).map((l) => l.split(" ")[0])).toEqual(["crossEntropy", "mse"]);
    const ev = await runCli(["evaluate", join("cmp-losses", "mse"), "--split", "test"], dir);
    expect(ev.code, ev.stderr).toBe(0);
    const summary = readJson(join(dir, "cmp-losses", "mse", "summary.json"));
    expect(lines(ev.stdout)).toContain(`loss: ${summary.test.loss.toFixed(4)}`);
    // an MSE on one-hot labels is far below the cross-entropy of the same outputs
    expect(summary.test.loss).toBeLessThan(0.2);
    const bad = await runCli(["compare", "--losses", "crossEntropy,hinge", "--config", "small.json", "--out", "cmp-bad"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: --losses hinge: loss: "hinge" is not one of crossEntropy, focal, binaryCrossEntropyWithLogits, binaryCrossEntropy, mse, l1, smoothL1, huber, rmse (or an object)');
  });
});

describe("descent compare without --config", () => {
  it("starts from the same defaults as descent train (the default recipe), as its help says", async () => {
    const r = await runCli(["compare", "--batch-sizes", "4000", "--model", "mlp", "--epochs", "1", "--out", "cmp-default"], dir);
    expect(r.code, r.stderr).toBe(0);
    const config = readJson(join(dir, "cmp-default", "4000", "config.json"));
    const recipe = resolveConfig(defaultExperiment(1));
    expect(config).toMatchObject({ augmentation: recipe.augmentation, schedule: recipe.schedule, earlyStopping: recipe.earlyStopping, optimizer: recipe.optimizer, epochs: 1, batchSize: 4000, model: "mlp" });
  });
});

describe("descent conformance", () => {
  it("../shared/conformance/cases --check passes every case", async () => {
    const cases = join(ROOT, "..", "shared", "conformance", "cases");
    const r = await runCli(["conformance", cases, "--check"], dir);
    expect(r.code, r.stdout.split("\n").filter((l) => !l.startsWith("ok")).join("\n")).toBe(0);
    const out = lines(r.stdout);
    const last = out.at(-1)!;
    expect(last).toMatch(/^\d+ passed, 0 failed$/);
    const n = Number(last.split(" ")[0]);
    expect(n).toBeGreaterThan(0);
    expect(out.slice(0, -1).filter((l) => l.startsWith("ok "))).toHaveLength(n);
  });

  it("a failing case exits 1 and is counted", async () => {
    writeFileSync(join(dir, "bad-case.json"), JSON.stringify({ x: 1 }));
    const r = await runCli(["conformance", "bad-case.json", "--check"], dir);
    expect(r.code).toBe(1);
    expect(lines(r.stdout).at(-1)).toBe("0 passed, 1 failed");
  });
});
