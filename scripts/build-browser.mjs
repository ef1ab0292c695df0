/**
 * Bundles the browser entry (src/index.ts, with the generated wasm kernel module) into one ESM file,
 * dist/browser/descent.js, with esbuild: platform "browser", no Node polyfills, minified, with a
 * source map. The playground's page script (src/playground/page/*.ts) is bundled beside it, and its
 * static files are copied, so dist/playground is a static site that imports ../browser/descent.js.
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

/** Writes dist/browser/descent.js (+ .map) and, when its sources exist, dist/playground. */
export async function buildBrowser(outRoot = join(root, "dist")) {
  mkdirSync(join(outRoot, "browser"), { recursive: true });
  await build({ ...browserOptions(), outfile: join(outRoot, "browser", "descent.js") });
  const playground = join(root, "src", "playground");
  if (existsSync(join(playground, "page"))) {
    await build({
      ...browserOptions(join(playground, "page", "main.ts")),
      outfile: join(outRoot, "playground", "playground.js"),
      plugins: [libraryAsBundle],
    });
    cpSync(join(playground, "static"), join(outRoot, "playground"), { recursive: true });
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
