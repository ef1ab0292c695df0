/**
 * Model files: <name>.json (architecture) beside <name>.safetensors (state dict); round trips and
 * clear refusals of older, newer, unknown and damaged files.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError, DESCENT_VERSION, FileFormatError, MODEL_FORMAT, Tensor, loadModelFiles, readArchitecture, saveModelFiles,
  tensor,
} from "../../src/node.js";

const root = mkdtempSync(join(tmpdir(), "descent-modelfile-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const values = (t: Tensor | undefined): number[] => Array.from(t!.dataSync());

const architecture = {
  layers: [
    { type: "linear", inFeatures: 4, outFeatures: 3 },
    { type: "relu" },
    { type: "linear", inFeatures: 3, outFeatures: 2 },
  ],
  inputShape: [4],
  classes: ["cat", "dog"],
  standardizer: { mean: [0, 1, 2, 3], std: [1, 1, 1, 1] },
};
const stateDict = () => ({
  "layers.0.weight": tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]),
  "layers.0.bias": tensor([0.5, -0.5, 0]),
  "layers.2.weight": tensor([[1, 0, -1], [0.25, 0.5, 0.75]]),
  "layers.2.bias": tensor([0, 0]),
  "bn.numBatchesTracked": tensor([3], { dtype: "int32" }),
});

describe("saveModelFiles / loadModelFiles", () => {
  it("round-trips the architecture and the state dict, filling in format and createdBy", async () => {
    const dir = join(root, "run1");
    const paths = await saveModelFiles(dir, { architecture, stateDict: stateDict() });
    expect(paths).toEqual({ architecturePath: join(dir, "model.json"), weightsPath: join(dir, "model.safetensors") });
    expect(readdirSync(dir).sort()).toEqual(["model.json", "model.safetensors"]);
    const { architecture: arch, stateDict: sd } = loadModelFiles(dir);
    expect(arch).toEqual({ format: MODEL_FORMAT, ...architecture, createdBy: `descent ${DESCENT_VERSION}` });
    expect(Object.keys(sd).sort()).toEqual(Object.keys(stateDict()).sort());
    for (const [name, t] of Object.entries(stateDict())) {
      expect(sd[name]!.dtype).toBe(t.dtype);
      expect([...sd[name]!.shape]).toEqual([...t.shape]);
      expect(values(sd[name])).toEqual(values(t));
    }
    const text = readFileSync(join(dir, "model.json"), "utf8");
    expect(text.startsWith(`{\n  "format": "descent-model/1",`)).toBe(true);
  });

  it("uses another name, keeps a given createdBy, and overwrites in place", async () => {
    const dir = join(root, "run2");
    await saveModelFiles(dir, { architecture: { layers: [], createdBy: "tests" }, stateDict: {} }, "best");
    await saveModelFiles(dir, { architecture: { ...architecture, createdBy: "tests" }, stateDict: stateDict() }, "best");
    const loaded = loadModelFiles(dir, "best");
    expect(loaded.architecture.createdBy).toBe("tests");
    expect(loaded.architecture.layers).toHaveLength(3);
    expect(readdirSync(dir).sort()).toEqual(["best.json", "best.safetensors"]);
  });

  it("refuses to write an architecture without a layers array or with a foreign format", async () => {
    const dir = join(root, "refused");
    const save = (a: unknown) => saveModelFiles(dir, { architecture: a as object, stateDict: {} });
    await expect(save({ inputShape: [1] })).rejects.toThrow(ConfigError);
    await expect(save({ layers: {} })).rejects.toThrow(/no "layers" array/);
    await expect(save([1])).rejects.toThrow(/must be an object, got an array/);
    await expect(save({ layers: [], format: "descent-model/2" })).rejects.toThrow(/format "descent-model\/2"; this descent writes "descent-model\/1"/);
    expect(existsSync(dir)).toBe(false);
  });

  it("the version constant matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(DESCENT_VERSION).toBe(pkg.version);
  });
});

describe("refused model files", () => {
  const withJson = async (name: string, json: string) => {
    const dir = join(root, name);
    await saveModelFiles(dir, { architecture, stateDict: stateDict() });
    writeFileSync(join(dir, "model.json"), json);
    return dir;
  };
  const refuse = (dir: string, ...fragments: string[]) => {
    let caught: unknown;
    try {
      loadModelFiles(dir);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FileFormatError);
    const msg = (caught as Error).message;
    for (const f of fragments) expect(msg).toContain(f);
  };

  it("older, newer and unknown formats name the file, the found and the supported version", async () => {
    const file = (d: string) => join(root, d, "model.json");
    refuse(await withJson("old", JSON.stringify({ format: "descent-model/0", layers: [] })), file("old"), `"descent-model/0" is from an older descent`, `reads "descent-model/1"`);
    refuse(await withJson("new", JSON.stringify({ format: "descent-model/7", layers: [] })), file("new"), `"descent-model/7" is newer`, `("descent-model/1")`, "upgrade");
    refuse(await withJson("keras", JSON.stringify({ format: "layers-model", layers: [] })), `unknown model format "layers-model"`);
    refuse(await withJson("noformat", JSON.stringify({ layers: [] })), file("noformat"), `not a descent model file: no "format"`);
  });

  it("damaged or malformed architecture JSON", async () => {
    const full = JSON.stringify({ format: MODEL_FORMAT, ...architecture });
    refuse(await withJson("cut", full.slice(0, 40)), join(root, "cut", "model.json"), "not valid JSON");
    refuse(await withJson("array", "[]"), "expected a JSON object", "an array");
    refuse(await withJson("nolayers", JSON.stringify({ format: MODEL_FORMAT, layers: "dense" })), `no "layers" array`);
    refuse(await withJson("shape", JSON.stringify({ format: MODEL_FORMAT, layers: [], inputShape: [28, -1] })), `"inputShape" must be an array of non-negative integers`);
    refuse(await withJson("classes", JSON.stringify({ format: MODEL_FORMAT, layers: [], classes: "abc" })), `"classes" must be an array`);
  });

  it("missing or damaged weights name the weights file", async () => {
    const dir = join(root, "weights");
    await saveModelFiles(dir, { architecture, stateDict: stateDict() });
    const weights = join(dir, "model.safetensors");
    const bytes = readFileSync(weights);
    writeFileSync(weights, bytes.subarray(0, bytes.length - 3));
    refuse(dir, weights, "truncated");
    rmSync(weights);
    refuse(dir, weights, "cannot read");
    refuse(join(root, "nothing-here"), join(root, "nothing-here", "model.json"), "cannot read the model architecture");
  });

  it("readArchitecture reads the JSON alone", async () => {
    const dir = join(root, "alone");
    await saveModelFiles(dir, { architecture, stateDict: {} });
    expect(readArchitecture(join(dir, "model.json")).inputShape).toEqual([4]);
  });
});
