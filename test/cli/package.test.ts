/**
 * The package as a user gets it: `npm pack` of this checkout, installed with `npm install` into a
 * fresh folder of the user's own, where the README's commands run through `npx descent` and the
 * library imports by the package's name. Also: the tarball holds the LICENSE package.json names.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, ROOT, tempDir } from "./helpers.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; license: string; bin: Record<string, string> };
let user: string;
let files: string[];

/** Runs a command in the user's folder, as they would type it. */
const inUser = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: user, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(async () => {
  await ensureBuilt();
  const packDir = tempDir("pack");
  // the build is fresh (ensureBuilt); --ignore-scripts skips building it a second time
  const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  user = tempDir("user-project");
  writeFileSync(join(user, "package.json"), JSON.stringify({ name: "my-project", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", join(packDir, packed[0]!.filename)], { cwd: user, encoding: "utf8", stdio: "pipe", timeout: 240_000 });
}, 300_000);

describe(`npm install ${pkg.name} in a user's folder`, () => {
  it("is not the npm name taken by another package, keeps the descent command, and ships the MIT LICENSE", () => {
    expect(pkg.name).not.toBe("descent");
    expect(Object.keys(pkg.bin)).toEqual(["descent"]);
    expect(pkg.license).toBe("MIT");
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "bin/descent.js", "dist/src/cli/main.js", "dist/src/index.js", "package.json", "README.md"]));
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    expect(files.filter((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("runs/"))).toEqual([]);
  });

  it("the README's commands run through npx descent: train, evaluate, predict, report", () => {
    expect(inUser("npx", ["descent", "--version"]).stdout.trim()).toBe(pkg.version);
    writeFileSync(join(user, "exp.json"), JSON.stringify({ split: { train: 300, dev: 100, test: 100 }, model: "mlp", epochs: 1 }));
    const trained = inUser("npx", ["descent", "train", "--config", "exp.json", "--out", "runs/exp1"]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(lines(trained.stdout).at(-1)).toMatch(/^test accuracy: \d+\.\d%$/);
    const evaluated = inUser("npx", ["descent", "evaluate", "runs/exp1", "--split", "test"]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(lines(evaluated.stdout).at(-1)).toMatch(/^test accuracy: /);
    writeFileSync(join(user, "samples.json"), JSON.stringify([[Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => 0))]]));
    const predicted = inUser("npx", ["descent", "predict", "runs/exp1", "samples.json"]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(lines(predicted.stdout)).toEqual([expect.stringMatching(/^0: \d \(\d+\.\d%\)$/)]);
    const report = inUser("npx", ["descent", "report", "runs/exp1"]);
    expect(report.code, report.stderr).toBe(0);
  }, 180_000);

  it(`imports from "${pkg.name}" in the user's own module`, () => {
    writeFileSync(join(user, "use.mjs"), `import { tensor, matmul } from "${pkg.name}";\nconsole.log(matmul(tensor([[1, 2]]), tensor([[3], [4]])).dataSync()[0]);\n`);
    const r = inUser("node", ["use.mjs"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("11");
  });
});
