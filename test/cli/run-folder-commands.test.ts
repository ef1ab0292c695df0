/**
 * The commands that use finished runs (evaluate, predict, report), compare, and conformance.
 */
import { readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, ROOT, runCli, SMALL, tempDir, writeConfig } from "./helpers.js";

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
    // the confusion matrix: 10 rows of 10 counts, the same as the run's
    const rows = out.slice(out.indexOf("confusion matrix (rows: true class, columns: predicted):") + 1, -1).map((l) => l.trim().split(/\s+/).map(Number));
    expect(rows).toEqual(summary.confusion);
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

  it("a file that does not hold whole samples, or is not JSON, is bad usage naming the file", async () => {
    writeFileSync(join(dir, "short.json"), JSON.stringify([[1, 2, 3]]));
    writeFileSync(join(dir, "broken.json"), "[[1, 2,");
    writeFileSync(join(dir, "words.json"), JSON.stringify([["a"]]));
    const [short, broken, words, missing, top] = await Promise.all([
      runCli(["predict", "run", "short.json"], dir),
      runCli(["predict", "run", "broken.json"], dir),
      runCli(["predict", "run", "words.json"], dir),
      runCli(["predict", "run", "missing.json"], dir),
      runCli(["predict", "run", "short.json", "--top", "zero"], dir),
    ]);
    expect(short.stderr.trim()).toBe("error: short.json: 3 values do not make whole samples of shape [1,28,28] (784 values each)");
    expect(broken.stderr.trim()).toMatch(/^error: broken\.json: not valid JSON \(.+\)$/);
    expect(words.stderr.trim()).toBe('error: words.json: value 0 is "a", not a finite number');
    expect(missing.stderr.trim()).toBe("error: missing.json: no such file");
    expect(top.stderr.trim()).toBe('error: --top: "zero" is not a positive integer');
    for (const r of [short, broken, words, missing, top]) {
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
    }
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
