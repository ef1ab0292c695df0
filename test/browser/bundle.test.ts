/**
 * A page that imports only the prebuilt bundle (dist/browser/descent.js, built from the current
 * sources) trains a model in Chromium: an MLP on two interleaved half-moons reaches 90% accuracy
 * with fit, early stopping and a schedule; a checkpoint kept in memory resumes it; weights written
 * with encodeSafetensors come back through fetchSafetensors; the Hessian of a two-parameter loss
 * is classified; float32 products run on the WebAssembly SIMD kernel. Nothing may be logged as an error, and the page may fetch nothing but its server.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendStatic } from "../../src/serve/static.js";
import { buildSite, haveChromium, launchChromium, openPage } from "./helpers.js";

const TIMEOUT = 90_000;

const PAGE = `<!doctype html><meta charset="utf-8"><title>bundle</title><link rel="icon" href="data:,"><pre id="out"></pre>
<script type="module">
import * as d from "../browser/descent.js";
const out = document.getElementById("out");
try {
  // two half-moons, made in the page from the library's seeded generator
  const n = 400, rng = new d.Generator(3), xs = new Float32Array(n * 2), ys = new Int32Array(n);
  const noise = d.randn([n, 2], { rng }).dataSync();
  for (let i = 0; i < n; i++) {
    const c = i % 2, t = Math.PI * ((i >> 1) / (n / 2));
    xs[2 * i] = (c ? 1 - Math.cos(t) : Math.cos(t)) + 0.1 * noise[2 * i];
    xs[2 * i + 1] = (c ? 0.5 - Math.sin(t) : Math.sin(t)) + 0.1 * noise[2 * i + 1];
    ys[i] = c;
  }
  const all = d.createDataset(d.tensor(xs, { shape: [n, 2] }), d.tensor(ys, { shape: [n], dtype: "int32" }), { numClasses: 2 });
  const { train, dev } = d.split(all, { train: 300, dev: 100, test: 0, seed: 1 });
  const model = d.buildSequential([{ type: "linear", outFeatures: 16 }, { type: "tanh" }, { type: "linear", outFeatures: 2 }], { inputShape: [2], rng });
  // the schedule feeds the optimizer's learning rate (300 samples in batches of 32: 10 steps an epoch)
  const schedule = d.cosineAnnealing({ lr0: 0.03, tMax: 40 });
  const optimizer = d.createOptimizer("adam", model, { lr: d.learningRateOf(schedule, 10) });
  const checkpoints = new d.MemoryCheckpoints();
  const saver = { name: "saver", onEpochEnd: async (ctx, log) => { if (log.epoch === 4) await ctx.saveCheckpoint("epoch-5.ckpt"); } };
  const history = await d.fit(model, {
    train, dev, loss: d.crossEntropy, optimizer, epochs: 40, batchSize: 32, checkpoints, log: () => {},
    schedule,
    callbacks: [saver, new d.EarlyStopping({ monitor: "devAccuracy", patience: 10 })],
  });
  const accuracy = (await d.evaluate(model, dev)).accuracy;
  // resume from the in-memory checkpoint into a fresh model: the 6th epoch repeats exactly
  const againSchedule = d.cosineAnnealing({ lr0: 0.03, tMax: 40 });
  const again = d.buildSequential([{ type: "linear", outFeatures: 16 }, { type: "tanh" }, { type: "linear", outFeatures: 2 }], { inputShape: [2], rng: new d.Generator(99) });
  const resumed = await d.fit(again, {
    train, dev, loss: d.crossEntropy, optimizer: d.createOptimizer("adam", again, { lr: d.learningRateOf(againSchedule, 10) }), epochs: 6, batchSize: 32,
    checkpoints, resumeFrom: "epoch-5.ckpt", log: () => {}, schedule: againSchedule,
  });
  // weights through safetensors bytes and fetch
  const bytes = d.encodeSafetensors(model.stateDict());
  const url = URL.createObjectURL(new Blob([bytes]));
  const loaded = await d.fetchSafetensors(url);
  const sameWeights = Object.keys(model.stateDict()).every((k) =>
    Array.from(loaded.tensors[k].dataSync()).every((v, i) => v === model.stateDict()[k].dataSync()[i]));
  // (1 - w1 w2)^2 at the origin: a saddle
  const h = await d.hessianOf((w1, w2) => d.sum(d.square(d.sub(1, d.mul(w1, w2)))), [d.zeros([1], { dtype: "float64" }), d.zeros([1], { dtype: "float64" })]);
  const eig = d.symmetricEigen(h.hessian, 2);
  const gnorm = Math.hypot(...h.gradient);
  window.result = {
    epochs: history.epochs.length, accuracy, resumedEpoch6: resumed.epochs[5].trainLoss, firstEpoch6: history.epochs[5].trainLoss,
    sameWeights, eigenvalues: Array.from(eig.values), kind: d.classifyCriticalPoint(gnorm, eig.values), kernel: d.cpu.gemmKernel,
  };
  out.textContent = JSON.stringify(window.result, null, 2);
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
  out.textContent = window.result.error;
}
document.documentElement.dataset.done = "true";
</script>`;

describe.skipIf(!haveChromium)("the browser bundle in Chromium", () => {
  let site: string;
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    site = await buildSite();
    mkdirSync(join(site, "bundle-test"));
    writeFileSync(join(site, "bundle-test", "index.html"), PAGE);
    server = createServer((req, res) => sendStatic(res, site, new URL(req.url ?? "/", "http://x").pathname));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    rmSync(site, { recursive: true, force: true });
  }, TIMEOUT);

  it("trains a model in a page that imports only dist/browser/descent.js", async () => {
    const { page, errors } = await openPage(browser, `${origin}/bundle-test/`, origin);
    try {
      await page.waitForSelector("html[data-done=true]", { timeout: 60_000 });
      const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
      await page.screenshot({ path: join(resolve("test-output"), "bundle.png") });
      expect(result.error).toBeUndefined();
      expect(result.accuracy as number).toBeGreaterThanOrEqual(0.9);
      expect(result.resumedEpoch6).toBe(result.firstEpoch6);
      expect(result.sameWeights).toBe(true);
      expect(result.kind).toBe("saddle");
      // the page gets the WebAssembly SIMD matmul (the module is small enough to compile on the main thread)
      expect(result.kernel).toBe("wasm-simd");
      const [lo, hi] = result.eigenvalues as number[];
      expect(lo).toBeCloseTo(-2, 10);
      expect(hi).toBeCloseTo(2, 10);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, TIMEOUT);
});
