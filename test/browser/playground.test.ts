/**
 * The playground in Chromium, served by `descent playground`'s server from a site built from the
 * current sources. On (1 − w1·w2)²: plain gradient descent started exactly at the saddle stays
 * there, and from a point 0.001 away it has barely moved after 300 steps while Adam, whose step
 * does not shrink with the gradient, has left for the valley of minima; the clicked point shows the
 * Hessian's eigenvalues and the escape direction. In-page training of the spirals reaches 90% dev
 * accuracy and a sample of the digits 75%; ten sigmoid layers are diagnosed with vanishing gradients; a learning rate of 10 as too
 * high. Screenshots go to test-output/ to be looked at.
 */
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPlayground } from "../../src/serve/playground.js";
import { buildSite, haveChromium, launchChromium, openPage } from "./helpers.js";

const TIMEOUT = 180_000;

describe.skipIf(!haveChromium)("the playground in Chromium", () => {
  let site: string;
  let server: Awaited<ReturnType<typeof startPlayground>>;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    site = await buildSite();
    server = await startPlayground({ siteDir: site, port: 0 });
    browser = await launchChromium();
    ({ page, errors } = await openPage(browser, server.url, server.origin));
    await page.waitForSelector("html[data-ready=true]", { timeout: 20_000 });
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(site, { recursive: true, force: true });
  }, TIMEOUT);

  const moved = async (opt: string) => Number(await page.getAttribute(`tr[data-opt=${opt}]`, "data-moved"));

  async function startAt(w1: number, w2: number): Promise<void> {
    await page.fill("#start-w1", String(w1));
    await page.fill("#start-w2", String(w2));
    await page.click("#start-go");
    await page.waitForSelector("#surface[data-drawn=true]");
  }

  it("Adam leaves the saddle; gradient descent at it stays", async () => {
    await startAt(0, 0);
    expect(await page.getAttribute("#point-info", "data-kind")).toBe("saddle");
    const [lo, hi] = (await page.getAttribute("#point-info", "data-eigenvalues"))!.split(",").map(Number);
    expect(lo).toBeCloseTo(-2, 12);
    expect(hi).toBeCloseTo(2, 12);
    expect(await page.textContent("#point-info")).toContain("escape direction");
    expect(await moved("sgd")).toBe(0);
    await page.screenshot({ path: join(resolve("test-output"), "playground-saddle.png") });
    await startAt(0.001, 0);
    expect(await moved("sgd")).toBeLessThan(0.3);
    expect(await moved("adam")).toBeGreaterThan(0.8);
    const [x, y] = (await page.getAttribute("tr[data-opt=adam]", "data-final"))!.split(",").map(Number);
    expect(Math.abs(1 - x! * y!)).toBeLessThan(0.05);
    // a click shows the Hessian there: near (0.75, 0.75) (w1·w2 between 1/3 and 1) a bowl, not a critical point
    const box = (await page.locator("#surface").boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.6875, box.y + box.height * 0.3125);
    await page.waitForSelector("#surface[data-drawn=true]");
    expect(await page.getAttribute("#point-info", "data-curvature")).toBe("bowl (minimum-like)");
    expect(await page.getAttribute("#point-info", "data-kind")).toBe("none");
    const w1 = Number(await page.inputValue("#start-w1"));
    expect(w1).toBeGreaterThan(0.7);
    expect(w1).toBeLessThan(0.8);
    await page.screenshot({ path: join(resolve("test-output"), "playground.png"), fullPage: true });
  }, TIMEOUT);

  async function train(settings: Record<string, string>): Promise<{ diagnosis: string; dev: number; train: number }> {
    for (const [id, value] of Object.entries(settings)) {
      if (["data", "activation", "init", "optimizer"].includes(id)) await page.selectOption(`#${id}`, value);
      else await page.fill(`#${id}`, value);
    }
    await page.click("#train");
    await page.waitForSelector("#network[data-state=done]", { timeout: 150_000 });
    const get = (a: string) => page.getAttribute("#network", a);
    return { diagnosis: (await get("data-diagnosis"))!, dev: Number(await get("data-dev-accuracy")), train: Number(await get("data-train-accuracy")) };
  }

  it("trains the spirals in the page to 90% dev accuracy", async () => {
    const r = await train({ data: "spirals", layers: "3", width: "16", activation: "relu", init: "heNormal", optimizer: "adam", lr: "0.01", epochs: "150" });
    await page.locator("#network").screenshot({ path: join(resolve("test-output"), "playground-spirals.png") });
    expect(r.dev).toBeGreaterThanOrEqual(0.9);
  }, TIMEOUT);

  it("trains on a sample of the digits fetched beside the page", async () => {
    const r = await train({ data: "digits", layers: "1", width: "32", activation: "relu", init: "heNormal", optimizer: "adam", lr: "0.003", epochs: "40" });
    await page.locator("#network").screenshot({ path: join(resolve("test-output"), "playground-digits.png") });
    expect(r.dev).toBeGreaterThanOrEqual(0.75);
    expect(await page.textContent("#boundary-caption")).toContain("dev digits");
  }, TIMEOUT);

  it("names vanishing gradients for ten sigmoid layers and a learning rate of 10 as too high", async () => {
    const sigmoid = await train({ data: "moons", layers: "10", width: "16", activation: "sigmoid", init: "xavierUniform", optimizer: "sgd", lr: "0.1", epochs: "10" });
    expect(sigmoid.diagnosis).toBe("vanishingGradients");
    expect(await page.textContent("#diagnosis")).toContain("vanishing gradients");
    await page.locator("#network").screenshot({ path: join(resolve("test-output"), "playground-sigmoid.png") });
    const high = await train({ data: "moons", layers: "2", width: "16", activation: "relu", init: "heNormal", optimizer: "sgd", lr: "10", epochs: "10" });
    expect(high.diagnosis).toBe("lrTooHigh");
    expect(await page.textContent("#diagnosis")).toContain("learning rate too high");
    await page.locator("#network").screenshot({ path: join(resolve("test-output"), "playground-lr10.png") });
    expect(errors).toEqual([]);
  }, TIMEOUT);
});
