/**
 * The conformance runner on the shared PyTorch reference cases (every line must be ok), and on
 * damaged cases: a wrong expected value, a broken file, an unknown kind, a bad input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { evaluateCase, formatCheckLine, runConformance } from "../../src/conformance/runner.js";

const CASES = fileURLToPath(new URL("../../../shared/conformance/cases/op", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "descent-conformance-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a case (a modified copy of a shared one) to the temp folder and returns its path. */
function writeCase(name: string, c: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, typeof c === "string" ? c : JSON.stringify(c));
  return file;
}

function sharedCase(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(CASES, name), "utf8")) as Record<string, unknown>;
}

describe("conformance runner", () => {
  it("passes every shared op case", async () => {
    const { lines, results } = await runConformance(CASES, { check: true });
    expect(lines.length).toBeGreaterThanOrEqual(60);
    const failed = lines.filter((l) => !l.ok).map(formatCheckLine);
    expect(failed, failed.join("\n")).toEqual([]);
    expect(Object.keys(results).length).toBe(lines.length);
  });

  it("a damaged expected value gives a FAIL line naming the field", async () => {
    const c = sharedCase("op__add__0.json");
    const expected = c.expected as { output: { data: number[] } };
    expected.output.data[1] = expected.output.data[1]! + 1e-3;
    const { lines } = await runConformance(writeCase("damaged.json", c), { check: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.ok).toBe(false);
    const text = formatCheckLine(lines[0]!);
    expect(text).toMatch(/^FAIL op\/add\/0: output max abs 1\.000e-3/);
    // within the 1e-6 tolerance it still passes
    expected.output.data[1] = expected.output.data[1]! - 1e-3 + 1e-9;
    expect((await runConformance(writeCase("close.json", c), { check: true })).lines[0]!.ok).toBe(true);
  });

  it("a wrong gradient is caught too", async () => {
    const c = sharedCase("op__conv2d__0.json");
    const grads = (c.expected as { grads: Record<string, { data: number[] }> }).grads;
    const name = Object.keys(grads)[0]!;
    grads[name]!.data[0] = -grads[name]!.data[0]! + 1;
    const { lines } = await runConformance(writeCase("grad.json", c), { check: true });
    expect(formatCheckLine(lines[0]!)).toMatch(new RegExp(`^FAIL op/conv2d/0: grads\\.${name}`));
  });

  it("a broken file or inconsistent input is reported, not thrown", async () => {
    const broken = await runConformance(writeCase("broken.json", "{ not json"), { check: true });
    expect(broken.lines[0]!.ok).toBe(false);
    expect(formatCheckLine(broken.lines[0]!)).toMatch(/not valid JSON/);

    const c = sharedCase("op__add__0.json");
    (c.inputs as { a: { shape: number[] } }).a.shape = [7, 3];
    const { lines, results } = await runConformance(writeCase("badshape.json", c), { check: true });
    expect(lines[0]!.ok).toBe(false);
    expect((results["op/add/0"] as { error: string }).error).toMatch(/inputs\.a: shape \[7,3\] needs 21 values, data has 6/);

    const wrongFormat = { ...sharedCase("op__add__0.json"), format: "other/2" };
    const r = await runConformance(writeCase("format.json", wrongFormat), { check: true });
    expect(formatCheckLine(r.lines[0]!)).toMatch(/format is "other\/2", expected "descent-conformance\/1"/);
  });

  it("an unknown kind or op yields { error }", async () => {
    const base = sharedCase("op__add__0.json");
    expect(await evaluateCase({ ...base, kind: "teleport" } as never)).toEqual({ error: 'unknown or unsupported kind "teleport"' });
    expect(await evaluateCase({ ...base, op: "frobnicate" } as never)).toEqual({ error: 'unsupported op "frobnicate"' });
    const { results, lines } = await runConformance(writeCase("kind.json", { ...base, kind: "teleport" }), { check: true });
    expect(results["op/add/0"]).toEqual({ error: 'unknown or unsupported kind "teleport"' });
    expect(lines[0]!.ok).toBe(false);
  });
});
