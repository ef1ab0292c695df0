/**
 * The report's Diagnosis section in a real browser (Chromium through playwright-core): a broken
 * run from the gallery (a deep sigmoid network: vanishing gradients) is diagnosed with the
 * Hessian, and its report shows the verdicts with their remedies, the per-layer gradient norms on
 * a log axis, the saturation per layer and the Hessian's spectral density. The screenshot goes to
 * test-output/diagnosis.png for a person to look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { haveChromium, launchChromium } from "../browser/helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRunReport } from "../../src/report/index.js";
import { runExperiment } from "../../src/train/experiment.js";
import { loadConfigFile } from "../../src/train/config.js";
import { diagnoseRun, writeDiagnosis } from "../../src/diagnose/run.js";


describe.skipIf(!haveChromium)("the Diagnosis section in Chromium", () => {
  const root = mkdtempSync(join(tmpdir(), "descent-diagnosis-browser-"));
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(resolve("test-output"), { recursive: true });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it("shows the verdicts, the per-layer charts and the spectral density", async () => {
    const config = loadConfigFile("examples/broken/vanishing-gradients.json");
    const dir = join(root, "run");
    await runExperiment(config, { outDir: dir, progress: false, log: () => {}, report: false });
    const d = await diagnoseRun(dir, { hessian: true });
    writeDiagnosis(dir, d);
    writeRunReport(dir);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(pathToFileURL(join(dir, "report.html")).href, { waitUntil: "load" });
      await page.waitForSelector("html[data-rendered=true]", { timeout: 10_000 });
      const section = page.locator("section#diagnosis");
      const codes = await section.locator("li.finding").evaluateAll((els) => els.map((e) => e.getAttribute("data-code")));
      expect(codes).toEqual(d.findings.map((f) => f.code));
      expect(codes).toContain("vanishing-gradients");
      const vanishing = section.locator('li.finding[data-code="vanishing-gradients"]');
      expect(await vanishing.locator(".remedies li").count()).toBeGreaterThan(1);
      expect(await vanishing.textContent()).toMatch(/layer 0 Linear/);
      expect(await section.textContent()).toMatch(/critical point: \w+, λmin/);
      const charts = await section.locator("[data-chart]").evaluateAll((els) =>
        els.map((el) => {
          const r = el.querySelector(".uplot canvas")?.getBoundingClientRect();
          return { id: el.getAttribute("data-chart"), w: r?.width ?? 0, h: r?.height ?? 0 };
        }),
      );
      expect(charts.map((c) => c.id)).toEqual(["layerGrads", "activationHealth", "spectrum"]);
      for (const c of charts) expect(c.w, c.id!).toBeGreaterThan(200);
      // the gradient chart has one series per weight tensor (8 linear layers) on a log axis
      expect(await section.locator('[data-chart="layerGrads"] .u-legend .u-series').count()).toBe(9);
      await page.screenshot({ path: resolve("test-output", "diagnosis.png"), fullPage: true });
      await section.screenshot({ path: resolve("test-output", "diagnosis-section.png") });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);
});
