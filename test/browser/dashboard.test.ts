/**
 * `descent serve` in Chromium, on a runs folder with two finished runs and one real run training
 * in this process (runExperiment, as `descent train` runs it). caviar: the runs are listed, sort by
 * a column, and the ticked ones' curves overlay. panda: the page pauses the live run (no step is
 * logged while paused), sets its learning rate, resumes it, and the run's metrics.jsonl shows the
 * lr event at step S with every step from S on at the new lr and step S-1 at the old; then it
 * stops the run, which ends interrupted and resumable. Security: without the token, with another
 * Origin, with another Host, from a page of another site, or for a file outside the runs folder,
 * the server refuses and control.jsonl does not change. Screenshots go to test-output/.
 */
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/serve/dashboard.js";
import { runExperiment, type RunResult } from "../../src/train/experiment.js";
import { resolveConfig } from "../../src/train/config.js";
import { writeSyntheticRun } from "../report/fixtures.js";
import { tempDir } from "../train/helpers.js";
import { buildSite, haveChromium, launchChromium, openPage } from "./helpers.js";

const TIMEOUT = 120_000;

interface Rec { type: string; step: number; lr?: number; control?: { action: string; value?: number } }
const readRecords = (path: string): Rec[] =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Rec);

async function until<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw request, so the Host and Origin headers are exactly what the test says. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on("error", fail);
    req.end(options.body);
  });
}

describe.skipIf(!haveChromium)("descent serve in Chromium", () => {
  const runsDir = tempDir("serve");
  const liveDir = join(runsDir, "live");
  const metrics = join(liveDir, "metrics.jsonl");
  let site: string;
  let dashboard: Dashboard;
  let browser: Browser;
  let live: Promise<RunResult>;

  beforeAll(async () => {
    site = await buildSite();
    writeSyntheticRun(join(runsDir, "adam-a"), { name: "adam-a", seed: 3, speed: 1.2, lr: 0.001, testAccuracy: 0.97 });
    writeSyntheticRun(join(runsDir, "sgd-b"), { name: "sgd-b", seed: 4, speed: 0.5, lr: 0.05, testAccuracy: 0.91 });
    live = runExperiment(resolveConfig({
      data: { source: "mnist" }, split: { train: 400, dev: 100, test: 100 },
      model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 16 }, { type: "relu" }, { type: "linear", outFeatures: 10 }] },
      optimizer: { name: "sgd", lr: 0.05 }, epochs: 300, batchSize: 8, earlyStopping: false,
    }), { outDir: liveDir, progress: false, log: () => {}, report: false });
    await until("the live run's first steps", () => existsSync(metrics) && statSync(metrics).size > 0);
    dashboard = await startDashboard({ runsDir, siteDir: site, port: 0, pollMs: 100 });
    browser = await launchChromium();
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    rmSync(site, { recursive: true, force: true });
    rmSync(runsDir, { recursive: true, force: true });
  }, TIMEOUT);

  async function open(): Promise<{ page: Page; errors: string[] }> {
    const opened = await openPage(browser, dashboard.url, dashboard.origin);
    await opened.page.waitForSelector("html[data-ready=true]");
    return opened;
  }

  it("pauses the live run, changes its learning rate from the next step, resumes and stops it", async () => {
    const { page, errors } = await open();
    try {
      await page.click("tr[data-run=live] a.run");
      await page.waitForSelector("#panda[data-live=true]");
      await page.click("#pause");
      const pauseEvent = await until("the pause event", () => readRecords(metrics).find((r) => r.control?.action === "pause"));
      const stepsAtPause = readRecords(metrics).filter((r) => r.type === "step").length;
      await new Promise((r) => setTimeout(r, 600));
      expect(readRecords(metrics).filter((r) => r.type === "step").length).toBe(stepsAtPause);
      expect(pauseEvent.step).toBe(stepsAtPause);

      await page.fill("#lr", "0.0123");
      await page.click("#set-lr");
      const lrEvent = await until("the lr event", () => readRecords(metrics).find((r) => r.control?.action === "set"));
      expect(lrEvent.control).toMatchObject({ action: "set", name: "lr", value: 0.0123 });
      expect(lrEvent.step).toBe(pauseEvent.step);
      await page.click("#resume");
      await until("steps after the change", () => readRecords(metrics).filter((r) => r.type === "step" && r.step >= lrEvent.step + 5).length > 0);
      const steps = readRecords(metrics).filter((r) => r.type === "step");
      expect(steps.find((s) => s.step === lrEvent.step - 1)!.lr).toBe(0.05);
      for (const s of steps.filter((x) => x.step >= lrEvent.step)) expect(s.lr).toBe(0.0123);

      await page.waitForFunction(() => document.getElementById("events")!.textContent!.includes("lr set by hand to 0.0123"));
      await page.waitForFunction((n) => Number(document.getElementById("panda")!.dataset.steps) >= n, lrEvent.step + 5);
      await page.screenshot({ path: join(resolve("test-output"), "serve-panda.png"), fullPage: true });

      await page.click("#stop");
      const result = await live;
      expect(result.interrupted).toBe(true);
      expect(readRecords(metrics).some((r) => r.control?.action === "stop")).toBe(true);
      expect(existsSync(join(liveDir, "checkpoints", "interrupted.ckpt"))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);

  it("shows the runs side by side, sortable, with their curves overlaid", async () => {
    const { page, errors } = await open();
    try {
      expect(await page.locator("#runs tbody tr").count()).toBe(3);
      await page.click("th[data-sort=testAccuracy]");
      expect(await page.locator("#runs tbody tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.run))).toEqual(["sgd-b", "adam-a", "live"]);
      await page.click("th[data-sort=testAccuracy]");
      expect(await page.locator("#runs tbody tr").first().getAttribute("data-run")).toBe("adam-a");
      await page.check("tr[data-run=adam-a] input");
      await page.check("tr[data-run=sgd-b] input");
      await page.waitForSelector("#overlay[data-series='2']");
      await page.screenshot({ path: join(resolve("test-output"), "serve-caviar.png"), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);

  it("refuses controls without the token, from another Origin or Host, and files outside the runs folder", async () => {
    const control = `${dashboard.origin}/api/control?run=live`;
    const mailbox = join(liveDir, "control.jsonl");
    const before = readFileSync(mailbox, "utf8");
    const json = { "content-type": "application/json", host: new URL(dashboard.origin).host };
    const body = JSON.stringify({ action: "pause" });
    expect(await raw(control, { method: "POST", headers: json, body })).toBe(403);
    expect(await raw(control, { method: "POST", headers: { ...json, "x-descent-token": "0".repeat(48) }, body })).toBe(403);
    expect(await raw(control, { method: "POST", headers: { ...json, "x-descent-token": dashboard.token, origin: "http://evil.example" }, body })).toBe(403);
    expect(await raw(control, { method: "POST", headers: { ...json, "x-descent-token": dashboard.token, host: "evil.example" }, body })).toBe(403);
    // the token in a query string does not count for a control
    expect(await raw(`${control}&token=${dashboard.token}`, { method: "POST", headers: json, body })).toBe(403);
    expect(await raw(`${dashboard.origin}/files/../../etc/passwd?token=${dashboard.token}`, {})).toBe(404);
    expect(await raw(`${dashboard.origin}/files/%2e%2e/%2e%2e/etc/passwd?token=${dashboard.token}`, {})).toBe(404);
    // an encoded slash is not a dot segment the URL parser removes: the folder check must catch it
    expect(await raw(`${dashboard.origin}/files/..%2f..%2f..%2fetc%2fpasswd?token=${dashboard.token}`, {})).toBe(404);
    expect(await raw(`${dashboard.origin}/files/live%2f..%2f..%2fserve-outside?token=${dashboard.token}`, {})).toBe(404);
    expect(await raw(`${dashboard.origin}/api/runs`, {})).toBe(403);
    expect(await raw(`${dashboard.origin}/files/live/config.json?token=${dashboard.token}`, {})).toBe(200);

    // a page of another site that knows the token still cannot pause the run
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><link rel="icon" href="data:,"><script>
        const tries = [
          fetch(${JSON.stringify(control)}, { method: "POST", headers: { "content-type": "application/json", "x-descent-token": ${JSON.stringify(dashboard.token)} }, body: '{"action":"pause"}' }),
          fetch(${JSON.stringify(`${control}&token=${dashboard.token}`)}, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: '{"action":"pause"}' }),
        ];
        Promise.allSettled(tries).then((r) => { document.title = r.map((x) => x.status).join(","); });
      </script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    const page = await browser.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.title.includes(","));
      expect(await page.title()).toBe("rejected,fulfilled");
    } finally {
      await page.close();
      evil.close();
    }
    expect(readFileSync(mailbox, "utf8")).toBe(before);
  }, TIMEOUT);
});
