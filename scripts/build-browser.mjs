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
import { cpSync, existsSync, mkdirSync } from "node:fs";
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

/** The pages: a folder with page/main.ts (the script) and static/ (html, css), and where they go in dist. */
const PAGES = [
  { dir: join("src", "playground"), out: "playground", script: "playground.js" },
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
