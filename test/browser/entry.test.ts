/**
 * The main entry is browser-safe: esbuild bundles src/index.ts for platform "browser" (the same
 * options as dist/browser/descent.js) and its metafile shows every module it reaches; none may be a
 * Node built-in, and the bundle may not name Node's globals. The Node entry, bundled the same way,
 * must be refused: that shows the check sees what it is looking for.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without type declarations
import { bundleBrowserEntry, root } from "../../scripts/build-browser.mjs";

interface Metafile { inputs: Record<string, { imports: { path: string }[] }> }
interface BuildResult { metafile: Metafile; outputFiles: { path: string; text: string }[] }
const bundle = bundleBrowserEntry as (entry?: string) => Promise<BuildResult>;
const NODE_BUILTIN = /^(node:|fs$|path$|os$|zlib$|module$|url$|http$|crypto$|child_process$|worker_threads$|stream$|events$)/;

describe("the browser entry", () => {
  it("reaches no Node built-in and names no Node global", async () => {
    const result = await bundle();
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain("src/index.ts");
    expect(inputs.length).toBeGreaterThan(40);
    const nodeImports = Object.entries(result.metafile.inputs).flatMap(([file, info]) =>
      info.imports.filter((i) => NODE_BUILTIN.test(i.path)).map((i) => `${file} imports ${i.path}`),
    );
    expect(nodeImports).toEqual([]);
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"))!.text;
    // the matrix product's thread pool carries its worker's program as a string, run only in a Node
    // worker (src/backend/cpu/simd/gemm-threads.ts): that text is data, not code of the page
    const code = js.replace('require("node:worker_threads")', "");
    expect(code.match(/\b(Buffer\.|process\.|__dirname|__filename|require\()/g) ?? []).toEqual([]);
    // the page gets the library without its Node-only parts
    for (const nodeOnly of ["src/io/checkpoint-file.ts", "src/train/experiment.ts", "src/data/mnist.ts", "src/train/progress.ts"]) {
      expect(inputs).not.toContain(nodeOnly);
    }
  });

  it("refuses the Node entry, which does import node: modules", async () => {
    await expect(bundle(join(root as string, "src", "node.ts"))).rejects.toThrow(/Could not resolve "node:/);
  });
});
