/**
 * The reports in a real browser: Debian's Chromium driven by playwright-core opens the rendered
 * run report and compare report from file:// URLs, and checks that the uPlot charts drew (canvas
 * elements of non-zero size), that the confusion matrix and the digit canvases are there (the
 * digits actually painted), and that nothing was logged as an error. Full-page screenshots go to
 * test-output/ for a person to look at.
 *
 * The last test opens the report of a real (small) training run, end to end.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI, where it fails.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { haveChromium, launchChromium, openPage } from "../browser/helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCompareReport, writeRunReport } from "../../src/report/index.js";
import { writeSyntheticRun } from "./fixtures.js";
import { runExperiment } from "../../src/train/experiment.js";

const TIMEOUT = 60_000;

describe.skipIf(!haveChromium)("reports in Chromium", () => {
  const root = mkdtempSync(join(tmpdir(), "descent-report-browser-"));
  const outDir = resolve("test-output");
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    browser = await launchChromium();
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    rmSync(root, { recursive: true, force: true });
  }, TIMEOUT);

  /** Opens a report file, collecting console errors, page errors, failed and network requests. */
  async function open(path: string): Promise<{ page: Page; errors: string[] }> {
    const opened = await openPage(browser, pathToFileURL(path).href, "file:");
    await opened.page.waitForSelector("html[data-rendered=true]", { timeout: 10_000 });
    return opened;
  }

  /** Sizes of the uPlot canvases, per chart slot. */
  async function chartCanvases(page: Page): Promise<{ id: string; w: number; h: number }[]> {
    return page.$$eval("[data-chart]", (els) =>
      els.map((el) => {
        const c = el.querySelector(".uplot canvas");
        const r = c?.getBoundingClientRect();
        return { id: el.getAttribute("data-chart") ?? "", w: r?.width ?? 0, h: r?.height ?? 0 };
      }),
    );
  }

  it("draws the run report", async () => {
    const dir = join(root, "run");
    writeSyntheticRun(dir, { stoppedEarly: true });
    const { page, errors } = await open(writeRunReport(dir));
    try {
      const charts = await chartCanvases(page);
      expect(charts.map((c) => c.id)).toEqual(["loss", "accuracy", "lr", "gradNorm"]);
      for (const c of charts) {
        expect(c.w, c.id).toBeGreaterThan(200);
        expect(c.h, c.id).toBeGreaterThan(100);
      }
      // a legend row per series (plus the x row) on the loss chart
      expect(await page.locator('[data-chart="loss"] .u-legend .u-series').count()).toBe(4);
      expect(await page.locator("table.confusion tbody tr").count()).toBe(10);
      expect(await page.locator("table.confusion tbody tr").first().locator("td").count()).toBe(11);
      const digits = await page.$$eval("canvas[data-image]", (cs) =>
        (cs as HTMLCanvasElement[]).map((c) => {
          const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
          let ink = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i]! < 128) ink++;
          return { w: c.width, h: c.height, shown: c.getBoundingClientRect().width, ink };
        }),
      );
      expect(digits).toHaveLength(8);
      for (const d of digits) {
        expect(d).toMatchObject({ w: 28, h: 28 });
        expect(d.shown).toBeGreaterThan(50);
        expect(d.ink).toBeGreaterThan(10);
      }
      await page.screenshot({ path: join(outDir, "report.png"), fullPage: true });
      // responsive: the charts follow a narrow window
      await page.setViewportSize({ width: 520, height: 900 });
      await page.waitForFunction(() => {
        const c = document.querySelector('[data-chart="loss"] .uplot canvas');
        return c !== null && c.getBoundingClientRect().width < 500;
      });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);

  it("draws the compare report", async () => {
    const labels = ["sgd", "momentum", "rmsprop", "adam"];
    const runs = labels.map((label, i) => {
      const dir = join(root, label);
      writeSyntheticRun(dir, { seed: 20 + i, speed: 0.35 + 0.3 * i, lr: 0.05 / 2 ** i, name: label, epochs: i === 0 ? 4 : 5, testAccuracy: [0.912, 0.955, 0.971, 0.979][i]! });
      return { label, dir };
    });
    const path = join(root, "compare.html");
    writeFileSync(path, renderCompareReport(runs, "Optimizers on MNIST"));
    const { page, errors } = await open(path);
    try {
      const charts = await chartCanvases(page);
      expect(charts.map((c) => c.id)).toEqual(["devLoss", "trainLoss", "devAccuracy", "lr"]);
      for (const c of charts) {
        expect(c.w, c.id).toBeGreaterThan(200);
        expect(c.h, c.id).toBeGreaterThan(100);
      }
      const legend = await page.locator('[data-chart="devLoss"] .u-legend .u-series .u-label').allTextContents();
      expect(legend.slice(1)).toEqual(labels);
      expect(await page.locator("table.data tbody tr").count()).toBe(4);
      expect(await page.locator("table.data tbody tr.best").allTextContents()).toEqual([expect.stringContaining("adam")]);
      await page.screenshot({ path: join(outDir, "compare.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);

  it("draws the report of a real training run", async () => {
    // a small run of the real pipeline: data, split, model, fit, test evaluation, summary, report
    const dir = join(root, "real");
    const result = await runExperiment(
      { split: { train: 600, dev: 200, test: 200 }, model: "mlp", epochs: 2, batchSize: 64 },
      { outDir: dir, progress: false, log: () => {} },
    );
    expect(result.test.accuracy).toBeGreaterThan(0.5);
    const { page, errors } = await open(join(dir, "report.html"));
    try {
      const charts = await chartCanvases(page);
      expect(charts.map((c) => c.id)).toEqual(expect.arrayContaining(["loss", "accuracy", "lr"]));
      for (const c of charts) expect(c.w, c.id).toBeGreaterThan(200);
      expect(await page.locator("table.confusion tbody tr").count()).toBe(10);
      expect(await page.locator("canvas[data-image]").count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(outDir, "real-run.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);
});
