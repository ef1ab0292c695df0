/**
 * The study report in a real browser (Debian's Chromium through playwright-core): a small
 * coarse-to-fine study with ASHA pruning over a tiny MLP is run, its report opened from a file://
 * URL, and the page checked: a scatter per hyperparameter with a point per trial that has a
 * value, log axes labelled by decades, parallel coordinates with a line per trial, the box of each
 * round, the curves drawn by uPlot, the table best first, and nothing logged as an error. The
 * full-page screenshot goes to test-output/study-report.png for a person to look at.
 *
 * Without /usr/bin/chromium the suite is skipped with a message, except under CI, where it fails.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { haveChromium, launchChromium } from "../browser/helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { search, type Study } from "../../src/search/index.js";
import { blobConfig, writeBlobs } from "../search/helpers.js";

const TIMEOUT = 90_000;

describe.skipIf(!haveChromium)("the study report in Chromium", () => {
  const root = mkdtempSync(join(tmpdir(), "descent-study-browser-"));
  const outDir = resolve("test-output");
  let browser: Browser;
  let study: Study;

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    const csv = writeBlobs(root, 400);
    study = await search({
      base: blobConfig(csv, 9),
      space: {
        "optimizer.lr": { type: "log", low: 1e-4, high: 1e-1 },
        "optimizer.beta1": { type: "oneMinusLog", low: 0.9, high: 0.999 },
        batchSize: { type: "choice", values: [32, 64] },
      },
      strategy: "coarseToFine", trials: 12, metric: "devAccuracy", seed: 1,
      coarseToFine: { rounds: 3, keep: 0.3, margin: 0.1 },
      pruner: { type: "asha", minEpochs: 1, reductionFactor: 3 },
    }, { out: join(root, "study"), log: () => {}, progress: false });
    browser = await launchChromium();
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    rmSync(root, { recursive: true, force: true });
  }, TIMEOUT);

  it("draws the scatters, parallel coordinates, round boxes, curves and the table", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) errors.push(`network request: ${r.url()}`);
    });
    try {
      await page.goto(pathToFileURL(join(study.dir, "report.html")).href, { waitUntil: "load" });
      await page.waitForSelector("html[data-rendered=true]", { timeout: 10_000 });
      const valued = study.trials.filter((t) => t.value !== null);
      expect(study.trials.some((t) => t.status === "pruned")).toBe(true);
      for (const name of ["optimizer.lr", "optimizer.beta1", "batchSize"]) {
        const plot = page.locator(`svg[data-plot="scatter-${name}"]`);
        expect(await plot.locator("circle").count(), name).toBe(valued.length);
        const box = await plot.boundingBox();
        expect(box!.width).toBeGreaterThan(300);
      }
      // log axes are labelled by decades: the learning rate's, and beta's through 1 - beta
      const lrTicks = await page.locator('svg[data-plot="scatter-optimizer.lr"] text').allTextContents();
      expect(lrTicks).toEqual(expect.arrayContaining(["1.00e-4", "0.001", "0.01", "0.1"]));
      const betaTicks = await page.locator('svg[data-plot="scatter-optimizer.beta1"] text').allTextContents();
      expect(betaTicks).toEqual(expect.arrayContaining(["0.9", "0.99", "0.999"]));
      expect(await page.locator('svg[data-plot="parallel"] polyline').count()).toBe(valued.length);
      expect(await page.locator('svg[data-plot="rounds"] rect[stroke-width="2"]').count()).toBe(3);
      const canvases = await page.$$eval("[data-chart] .uplot canvas", (cs) => cs.map((c) => c.getBoundingClientRect().width));
      expect(canvases.length).toBeGreaterThanOrEqual(2);
      for (const w of canvases) expect(w).toBeGreaterThan(200);
      const rows = page.locator("table#trials tr[data-trial]");
      expect(await rows.count()).toBe(12);
      expect(await rows.first().getAttribute("data-trial")).toBe(String(study.best!.id));
      await page.screenshot({ path: join(outDir, "study-report.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);
});
