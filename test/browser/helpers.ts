/**
 * Shared by the browser tests: Debian's Chromium through playwright-core (skipped with a message
 * when it is missing, except under CI), a page opener that collects console errors, page errors,
 * failed requests and requests to other hosts, and the bundle built from the current sources.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
// @ts-expect-error: a plain .mjs build script, without type declarations
import { buildBrowser } from "../../scripts/build-browser.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (process.env["CI"]) throw new Error(`browser tests: ${CHROMIUM} is missing (install Debian's chromium package); CI must run them`);
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium to run them)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** dist/browser and dist/playground built from the current sources into a fresh folder. */
export async function buildSite(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "descent-site-"));
  await (buildBrowser as (dir: string) => Promise<void>)(out);
  return out;
}

/** Opens a URL, collecting every error the page reports and any request off `origin`. */
export async function openPage(browser: Browser, url: string, origin: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`requestfailed: ${r.url()}`));
  page.on("request", (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith("data:") && !r.url().startsWith(`blob:${origin}`)) errors.push(`request off the server: ${r.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}
