/**
 * The HTML reports, without a browser: self-contained (uPlot inlined, no remote src/href), the
 * data embedded and readable back, and graceful on incomplete folders (missing summary.json,
 * a damaged metrics line, a missing folder).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readRunFolder, renderCompareReport, renderRunReport, writeRunReport } from "../../src/report/index.js";
import { compareCharts, joinSamples, runCharts, stepPositions } from "../../src/report/charts.js";
import { formatLr } from "../../src/schedules/format.js";
import { writeSyntheticRun } from "./fixtures.js";

const root = mkdtempSync(join(tmpdir(), "descent-report-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function runDir(opts: Parameters<typeof writeSyntheticRun>[1] = {}): string {
  const dir = join(root, `run-${counter++}`);
  writeSyntheticRun(dir, opts);
  return dir;
}

interface EmbeddedChart {
  id: string;
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}
interface Embedded {
  kind: string;
  charts: EmbeddedChart[];
  images: { w: number; h: number; px: number[] }[];
}

/** The JSON of <script type="application/json" id="report-data">. */
function embedded(html: string): Embedded {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as Embedded;
}

function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  expect(html).not.toMatch(/<link[^>]+rel=["']?stylesheet/i);
  expect(html).toContain("uPlot");
  const uplotJs = readFileSync(join("node_modules", "uplot", "dist", "uPlot.iife.min.js"), "utf8");
  expect(html).toContain(uplotJs.slice(0, 200));
  // every <script> is either inline or the JSON data: none loads a file
  expect(html).not.toMatch(/<script[^>]+src=/i);
}

describe("renderRunReport", () => {
  const dir = runDir({ stoppedEarly: true });
  const html = renderRunReport(dir);

  it("is one self-contained document", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html.match(/<html/g)).toHaveLength(1);
    expectSelfContained(html);
  });

  it("embeds the curves: per-step and per-epoch loss joined on one epoch axis", () => {
    const data = embedded(html);
    expect(data.kind).toBe("run");
    const ids = data.charts.map((c) => c.id);
    expect(ids).toEqual(["loss", "accuracy", "lr", "gradNorm"]);
    const loss = data.charts.find((c) => c.id === "loss")!;
    expect(loss.series.map((s) => s.label)).toEqual(["train loss (per step)", "train loss", "dev loss"]);
    // 100 step positions (k+1)/20 + e, and the 5 epoch ends coincide with the last step of each epoch
    expect(loss.x).toHaveLength(100);
    expect(loss.x[0]).toBeCloseTo(0.05, 12);
    expect(loss.x.at(-1)).toBe(5);
    expect(loss.series[0]!.values.filter((v) => v !== null)).toHaveLength(100);
    expect(loss.series[2]!.values.filter((v) => v !== null)).toHaveLength(5);
    for (const c of data.charts) for (const s of c.series) expect(s.values).toHaveLength(c.x.length);
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const firstEpoch = metrics.find((m) => m["type"] === "epoch")!;
    expect(loss.series[2]!.values[loss.x.indexOf(1)]).toBe(firstEpoch["devLoss"]);
  });

  it("shows the header, events, confusion matrix, digits, model summary and config", () => {
    expect(html).toContain("cnn-2026-11-23T07-00-00");
    expect(html).toContain("97.90%"); // test accuracy
    expect(html).toContain("1 min 35 s");
    expect(html).toContain("early stopping: devLoss did not improve for 3 epochs");
    expect(html).toMatch(/<table class="confusion">/);
    expect((html.match(/<tbody>[\s\S]*?<\/tbody>/g) ?? []).some((b) => (b.match(/<tr>/g) ?? []).length === 10)).toBe(true);
    expect(html).toContain("recall");
    expect(html.match(/<canvas data-image=/g)).toHaveLength(8);
    const data = embedded(html);
    expect(data.images).toHaveLength(8);
    expect(data.images[0]!.px).toHaveLength(784);
    expect(data.images[0]!.px.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)).toBe(true);
    expect(html).toContain("conv2d (0)         [16, 28, 28]        160");
    expect(html).toContain("&quot;patience&quot;: 3");
    expect(html).not.toContain("Incomplete run folder");
  });

  it("escapes text from the run folder in markup and in the embedded JSON", () => {
    const d = runDir({ name: `</script><script>alert(1)</script><b>x` });
    const out = renderRunReport(d);
    expect(out).not.toContain("<script>alert(1)");
    expect(out).toContain("&lt;/script&gt;&lt;script&gt;alert(1)");
    // the embedded JSON carries the name with "<" escaped, and parses back to the original
    expect(embedded(out)).toBeDefined();
    expect(out).toMatch(/\\u003c\/script>\\u003cscript>alert\(1\)/);
  });

  it("writes report.html atomically, leaving no temporary file", () => {
    const d = runDir();
    const path = writeRunReport(d);
    expect(path).toBe(join(d, "report.html"));
    expect(readFileSync(path, "utf8")).toContain("<!doctype html>");
    expect(readdirSync(d).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("incomplete run folders", () => {
  it("renders a run stopped before summary.json, and says so", () => {
    const d = runDir({ withSummary: false, epochs: 3 });
    const html = renderRunReport(d);
    expectSelfContained(html);
    expect(html).toContain("Incomplete run folder");
    expect(html).toMatch(/<code>summary\.json<\/code> is missing/);
    expect(html).toContain("No summary.json: the run has no test results yet.");
    expect(html).not.toMatch(/<table class="confusion">/);
    const loss = embedded(html).charts.find((c) => c.id === "loss")!;
    expect(loss.x.at(-1)).toBe(3);
    // the header falls back to the metrics: 3 epochs, time summed from the epochs
    expect(html).toMatch(/epochs<\/div><div class="v">3</);
  });

  it("reports a damaged metrics line by its number and keeps the rest", () => {
    const d = runDir();
    const path = join(d, "metrics.jsonl");
    const lines = readFileSync(path, "utf8").trim().split("\n");
    lines[6] = lines[6]!.slice(0, 25); // line 7 cut in the middle
    lines.splice(10, 0, `{"type":"mystery","epoch":0}`); // line 11
    writeFileSync(path, lines.join("\n") + "\n");
    appendFileSync(path, `{"type":"step","epoch":4,"st`); // a last line cut off by a crash
    const run = readRunFolder(d);
    expect(run.problems[0]).toMatch(/^metrics\.jsonl line 7: not valid JSON/);
    expect(run.problems[1]).toMatch(/^metrics\.jsonl line 11: unknown record type "mystery"/);
    expect(run.problems[2]).toMatch(/^metrics\.jsonl line 107: not valid JSON .*cut off/);
    expect(run.steps).toHaveLength(99);
    expect(run.epochs).toHaveLength(5);
    const html = renderRunReport(d);
    expect(html).toContain("metrics.jsonl line 7: not valid JSON");
    expect(html).toContain("metrics.jsonl line 107");
    expect(embedded(html).charts.find((c) => c.id === "loss")!.series[0]!.values.filter((v) => v !== null)).toHaveLength(99);
  });

  it("survives a damaged config.json and summary.json, and a missing metrics file", () => {
    const d = runDir();
    writeFileSync(join(d, "config.json"), `{"name": "x", `);
    writeFileSync(join(d, "summary.json"), JSON.stringify({ name: "half", confusion: [[1, 2]], misclassified: [{ label: 1 }], test: { accuracy: 0.5 } }));
    unlinkSync(join(d, "metrics.jsonl"));
    const run = readRunFolder(d);
    expect(run.name).toBe("half");
    expect(run.missing).toEqual(["metrics.jsonl"]);
    expect(run.problems.some((p) => p.startsWith("config.json: not valid JSON"))).toBe(true);
    expect(run.problems).toContain("summary.json: confusion is not a square matrix of numbers");
    expect(run.problems).toContain(`summary.json: misclassified[0] lacks numeric "label" and "predicted"`);
    const html = renderRunReport(d);
    expect(html).toContain("50.00%");
    expect(html).toContain("No curves: metrics.jsonl holds no step or epoch records.");
    expect(html).toContain("No readable config.json.");
    expect(embedded(html).charts).toEqual([]);
  });

  it("renders a folder that does not exist as a page that says so", () => {
    const html = renderRunReport(join(root, "nowhere"));
    expect(html).toContain("the run folder does not exist");
    expect(existsSync(join(root, "nowhere"))).toBe(false);
  });
});

describe("renderCompareReport", () => {
  const names = ["sgd", "momentum", "rmsprop", "adam"];
  const runs = names.map((label, i) => ({ label, dir: runDir({ seed: 10 + i, speed: 0.4 + 0.3 * i, lr: 0.05 / (i + 1), name: label, epochs: i === 0 ? 4 : 5 }) }));
  const html = renderCompareReport(runs, "Optimizers on MNIST");

  it("overlays one series per run on dev loss, train loss, dev accuracy and lr", () => {
    expectSelfContained(html);
    const data = embedded(html);
    expect(data.kind).toBe("compare");
    expect(data.charts.map((c) => c.id)).toEqual(["devLoss", "trainLoss", "devAccuracy", "lr"]);
    for (const c of data.charts) {
      expect(c.series.map((s) => s.label)).toEqual(names);
      for (const s of c.series) expect(s.values).toHaveLength(c.x.length);
    }
    const dev = data.charts[0]!;
    expect(dev.x).toEqual([1, 2, 3, 4, 5]);
    expect(dev.series[0]!.values[4]).toBeNull(); // sgd ran 4 epochs
  });

  it("tables the final numbers per run", () => {
    expect(html).toContain("Optimizers on MNIST");
    for (const n of names) expect(html).toContain(`</span>${n}</td>`);
    expect(html).toContain("best dev acc.");
    expect(html.match(/97\.90%/g)!.length).toBe(4);
  });

  it("keeps a run without summary and names what it lacks", () => {
    const partial = runDir({ withSummary: false, name: "partial" });
    const out = renderCompareReport([runs[0]!, { label: "partial", dir: partial }]);
    expect(out).toMatch(/<b>partial<\/b>: <code>summary\.json<\/code> is missing/);
    expect(embedded(out).charts[0]!.series).toHaveLength(2);
  });

  it("refuses no runs and duplicate labels with a clear error", () => {
    expect(() => renderCompareReport([])).toThrow(/no runs to compare/);
    expect(() => renderCompareReport([runs[0]!, runs[0]!])).toThrow(/"sgd" is used twice/);
  });
});

describe("chart helpers", () => {
  it("joins samples on the union of x with nulls", () => {
    expect(joinSamples([{ x: [1, 2], y: [10, 20] }, { x: [1.5, 2], y: [5, 6] }])).toEqual({ x: [1, 1.5, 2], ys: [[10, null, 20], [null, 5, 6]] });
  });

  it("places steps inside their epoch, a partial last epoch included", () => {
    const steps = [0, 1, 2, 3, 4].map((s) => ({ epoch: s < 4 ? 0 : 1, step: s, loss: 1, lr: null, gradNorm: null }));
    expect(stepPositions(steps)).toEqual([0.25, 0.5, 0.75, 1, 1.25]);
  });
});

describe("axes and numbers that stay readable", () => {
  const dir = mkdtempSync(join(tmpdir(), "descent-report-axes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a loss that grew to 1e36 gets a log axis; a normal run keeps a linear one", () => {
    const diverged = join(dir, "diverged");
    writeSyntheticRun(diverged, { epochs: 3, withSummary: false });
    const records = readFileSync(join(diverged, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    let k = 0;
    const grown = records.map((r) => (r.type === "step" ? { ...r, loss: r.loss * 10 ** (k++ / 1.6) } : r));
    writeFileSync(join(diverged, "metrics.jsonl"), grown.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const loss = (run: string) => runCharts(readRunFolder(run)).find((c) => c.id === "loss")!;
    expect(Math.max(...loss(diverged).series[0]!.values.filter((v): v is number => v !== null))).toBeGreaterThan(1e30);
    expect(loss(diverged).logY).toBe(true);
    const normal = join(dir, "normal");
    writeSyntheticRun(normal, { epochs: 3 });
    expect(loss(normal).logY).toBe(false);
  });

  it("a regression run (summary.json with no confusion matrix) is not reported as incomplete", () => {
    const run = join(dir, "regression");
    writeSyntheticRun(run, { epochs: 2 });
    const summary = JSON.parse(readFileSync(join(run, "summary.json"), "utf8"));
    writeFileSync(join(run, "summary.json"), JSON.stringify({ ...summary, classes: null, confusion: null, misclassified: [] }));
    expect(readRunFolder(run).problems).toEqual([]);
  });

  it("compare's learning-rate chart is logarithmic when the runs' rates differ by more than 30x", () => {
    const a = join(dir, "a"), b = join(dir, "b");
    writeSyntheticRun(a, { lr: 1e-3, epochs: 2 });
    writeSyntheticRun(b, { lr: 0.05, epochs: 2 });
    const { charts } = compareCharts([{ label: "adam", run: readRunFolder(a) }, { label: "sgd", run: readRunFolder(b) }]);
    expect(charts.find((c) => c.id === "lr")!.logY).toBe(true);
    expect(charts.find((c) => c.id === "lr")!.yFormat).toBe("lr");
  });

  it("learning rates are written alike in every row: 1e-3 and 5e-4, not 0.001 and 5.00e-4", () => {
    expect([1e-3, 5e-4, 2.5e-4, 0.05, 0.1, 1.9, 0].map(formatLr)).toEqual(["1e-3", "5e-4", "2.5e-4", "5e-2", "1e-1", "1.9", "0"]);
    const run = join(dir, "lr-table");
    writeSyntheticRun(run, { lr: 1e-3, epochs: 20 });
    const html = renderRunReport(run);
    const lrs = [...html.matchAll(/<td>([^<]*)<\/td><td>[^<]*<\/td><td>[^<]*<\/td><\/tr>/g)].map((m) => m[1]);
    expect(lrs.length).toBe(20);
    for (const lr of lrs) expect(lr).toMatch(/^\d(\.\d+)?e-\d$/);
  });
});
