/**
 * Damaged input, one failure class at a time (issue 9, item 14): each case is a valid file with one
 * hostile change, and each must be refused by the library's own error naming the file: never a
 * RangeError from deep JSON, a TypeError from a mistyped train state, gigabytes allocated for a size
 * the file claims, an unbounded inflate, or a silent Infinity or NaN.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescentError } from "../../src/errors/errors.js";
import { encodeSafetensors } from "../../src/io/safetensors.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors-file.js";
import { readCheckpoint, writeCheckpoint } from "../../src/io/checkpoint-file.js";
import { parseJson } from "../../src/io/json.js";
import { resolveConfig } from "../../src/train/config.js";
import { parseTrainState } from "../../src/train/state.js";
import { buildSequential } from "../../src/nn/index.js";
import { Generator } from "../../src/tensor/random.js";
import { Standardizer } from "../../src/data/standardize.js";
import { tensor } from "../../src/tensor/creation.js";
import { LOADERS, makeFixtures, type Fixtures, type Format } from "../fuzz/fixtures.js";

let fx: Fixtures;
const root = mkdtempSync(join(tmpdir(), "descent-hardening-"));
beforeAll(async () => {
  fx = await makeFixtures(join(root, "fixtures"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
let counter = 0;

/** A copy of `source` (its whole folder for model files) whose bytes are `edit`ed; returns the copy's path. */
function damaged(source: string, edit: (bytes: Buffer) => string | Uint8Array, folder = false): string {
  const dir = join(root, `case-${counter++}`);
  const name = source.slice(source.lastIndexOf("/") + 1);
  if (folder) cpSync(source.slice(0, source.lastIndexOf("/")), dir, { recursive: true });
  else cpSync(source, join(dir, name), { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, edit(readFileSync(path)));
  return path;
}

/** Loads through the format's loader and returns the refusal, asserting it is ours and names `file`. */
async function refusal(format: Format, path: string, file = path): Promise<string> {
  let caught: unknown;
  try {
    await LOADERS[format](path, fx);
  } catch (e) {
    caught = e;
  }
  expect(caught, `${format} ${path} was accepted`).toBeInstanceOf(DescentError);
  const message = (caught as Error).message;
  expect(message).toContain(file);
  return message;
}

const editJson = (edit: (j: Record<string, unknown>) => void, placeholder?: string) => (bytes: Buffer): string => {
  const j = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  edit(j);
  const text = JSON.stringify(j);
  return placeholder === undefined ? text : text.replace(`"${placeholder}"`, deep(20_000));
};

/** Rewrites a checkpoint with its train state edited (the safetensors around it stays valid). */
function editState(edit: (state: Record<string, unknown>) => void): string {
  return damaged(fx.checkpoint, () => {
    const ckpt = readCheckpoint(fx.checkpoint);
    const state = structuredClone(ckpt.state) as Record<string, unknown>;
    edit(state);
    const out = join(root, `state-${counter++}.ckpt`);
    writeCheckpoint(out, { tensors: ckpt.tensors, state });
    return readFileSync(out);
  });
}

describe("deeply nested JSON is refused before anything recurses into it", () => {
  it("in a model file, a layer spec, a config and a checkpoint's metadata", async () => {
    const model = join(fx.modelDir, "model.json");
    expect(await refusal("model", damaged(model, () => `{"format":"descent-model/1","layers":${deep(20_000)}}`, true))).toMatch(/nested deeper than 64 levels/);
    expect(await refusal("model", damaged(model, editJson((j) => ((j.layers as unknown[])[0] = "DEEP"), "DEEP"), true))).toMatch(/nested deeper/);
    expect(await refusal("config", damaged(fx.config, editJson((j) => (j.optimizer = { name: "adam", betas: "DEEP" }), "DEEP")))).toMatch(/nested deeper/);
    const ckpt = damaged(fx.checkpoint, () => {
      const { tensors, metadata } = readSafetensors(fx.checkpoint);
      const descent = metadata.descent!.replace(/"stopReason":null/, `"stopReason":${deep(20_000)}`);
      return encodeSafetensors(tensors, { descent });
    });
    expect(await refusal("checkpoint", ckpt)).toMatch(/checkpoint metadata "descent": JSON nested deeper than 64 levels/);
  });

  it("in a safetensors header, with the file byte", () => {
    const header = `{"a":${deep(20_000)}}`;
    const bytes = new Uint8Array(8 + header.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(Buffer.from(header), 8);
    const path = join(root, "deep.safetensors");
    writeFileSync(path, bytes);
    expect(() => readSafetensors(path)).toThrow(/deep\.safetensors: header \(bytes 8\.\.\d+\): JSON nested deeper than 64 levels \(at file byte 76\)/);
  });

  it("in a value handed to the API, and a number too large for JSON", () => {
    let v: unknown = 1;
    for (let i = 0; i < 20_000; i++) v = [v];
    expect(() => resolveConfig({ model: { layers: v } })).toThrow(/config: nested deeper than 64 levels/);
    expect(() => parseJson(`{"optimizer":{"lr":1e999}}`, { source: "c.json" })).toThrow(/c\.json: optimizer\.lr: a number too large/);
  });
});

describe("the train state of a checkpoint is validated with a schema", () => {
  const cases: [string, (s: Record<string, unknown>) => void, RegExp][] = [
    ["no callbacks", (s) => delete s.callbacks, /train state: callbacks: .*found nothing/],
    ["history a string", (s) => (s.history = "x"), /train state: history: /],
    ["epoch 1.5", (s) => (s.epoch = 1.5), /train state: epoch: .*int/i],
    ["epoch \"x\"", (s) => (s.epoch = "x"), /train state: epoch: /],
    ["epoch 0 with a history", (s) => ((s.epoch = 0), (s.lastEpoch = -1)), /train state: history: has 2 epochs, but 0 have finished/],
    ["step -1", (s) => (s.step = -1), /train state: step: /],
    ["step \"1\"", (s) => (s.step = "1"), /train state: step: /],
    ["no stopReason", (s) => delete s.stopReason, /train state: stopReason: /],
    ["a format tag", (s) => (s.format = "descent-train/9"), /train state: format: /],
    ["no sums", (s) => delete s.sums, /train state: sums: /],
    ["no orderRng", (s) => delete (s.loader as Record<string, unknown>).orderRng, /train state: loader\.orderRng: /],
    ["an all-zero generator", (s) => ((s.modelRng as { s: number[] }).s = [0, 0, 0, 0]), /train state: modelRng: an all-zero generator state/],
    ["optimizer counts missing", (s) => delete (((s.optimizer as { state: { inner: Record<string, { counts?: unknown }> } }).state.inner["0.scaleByAdam"]!).counts), /train state: optimizer\.state\.inner\.0\.scaleByAdam\.counts: /],
    ["a learning-rate step counter of -1", (s) => (((s.optimizer as { state: { inner: Record<string, { scalars: Record<string, number> }> } }).state.inner["1.scaleByLearningRate"]!).scalars.count = -1), /at 1\.scaleByLearningRate: a step counter -1/],
    ["an epoch of -1e9", (s) => ((s.epoch = -1e9), (s.lastEpoch = -1e9 - 1)), /train state: epoch: /],
  ];
  for (const [what, edit, pattern] of cases) {
    it(`refuses ${what}, naming the file and the field`, async () => {
      const path = editState(edit);
      const message = await refusal("checkpoint", path);
      expect(message).toMatch(pattern);
      expect(message).not.toMatch(/TypeError|cosine\.lrAt/);
    });
  }

  it("accepts the states fit writes", () => {
    expect(parseTrainState(readCheckpoint(fx.checkpoint).state, "x").epoch).toBe(2);
  });

  it("names the file when a part of the state refuses it (a callback, the loader, the model)", async () => {
    const cb = await refusal("checkpoint", editState((s) => ((s.callbacks as Record<string, Record<string, unknown>>).earlyStopping!.wait = "3")));
    expect(cb).toMatch(/earlyStopping\.loadStateDict: wait/);
    const loader = await refusal("checkpoint", editState((s) => ((s.loader as Record<string, unknown>).batchSize = 7)));
    expect(loader).toMatch(/DataLoader\.setState: the state was saved with batchSize 7/);
  });
});

describe("sizes read from a file are bounded before anything is allocated", () => {
  const model = () => join(fx.modelDir, "model.json");
  const layer = (i: number, field: string, value: number) => editJson((j) => (((j.layers as Record<string, unknown>[])[i]![field] = value)));

  it("a model file whose layer claims 2^28 outputs, or 4,000,000 channels", async () => {
    expect(await refusal("model", damaged(model(), layer(0, "outFeatures", 2 ** 28), true))).toMatch(/outFeatures is 268435456, over the limit of 1048576/);
    const wide = await refusal("model", damaged(model(), layer(0, "outFeatures", 1_000_000), true));
    expect(wide).toMatch(/layer 0 \(linear\): needs 5000000 weight values, .* more than the \d+ values .*model\.safetensors holds/);
  });

  it("a config whose conv claims 4,000,000 channels, or whose model allocates past the library's bound", () => {
    expect(() => resolveConfig({ model: { layers: [{ type: "conv2d", outChannels: 4_000_000, kernelSize: 3 }] } })).toThrow(/outChannels is 4000000, over the limit/);
    const specs = [{ type: "flatten" as const }, { type: "linear" as const, outFeatures: 1_000_000 }, { type: "linear" as const, outFeatures: 1_000_000 }];
    expect(() => buildSequential(specs, { inputShape: [1, 8, 8], rng: new Generator(0) })).toThrow(/layer 2 \(linear\): needs 1000001000000 weight values/);
  });

  it("a CSV with an integer label of 2^31 builds no class table", async () => {
    const path = damaged(fx.csv.integer, (b) => b.toString().replace(/,3\n/, `,${2 ** 31}\n`));
    expect(await refusal("csvInteger", path)).toMatch(/label 2147483648 is out of range \(class ids must lie in \[0, 65536\)\)/);
  });
});

describe("compressed input is inflated with a bound", () => {
  it("an IDX .gz inflates to no more than its header declares", async () => {
    const images = readFileSync(fx.idx.images);
    const big = Buffer.concat([images, Buffer.alloc(32 << 20)]);
    const path = damaged(fx.idx.imagesGz, () => gzipSync(big));
    expect(await refusal("idxGz", path)).toMatch(/decompresses to more than the 112 bytes its IDX header declares/);
  });

  it("an IDX .gz whose header declares more than its compressed bytes can hold is refused before inflating", async () => {
    const images = Buffer.from(readFileSync(fx.idx.images));
    images.writeUInt32BE(60_000, 4);
    const path = damaged(fx.idx.imagesGz, () => gzipSync(images));
    expect(await refusal("idxGz", path)).toMatch(/declares 960016 bytes, more than \d+ compressed bytes can hold/);
  });

  it("a CSV .gz that inflates past the maximum", async () => {
    const text = readFileSync(fx.csv.categorical, "utf8");
    const path = damaged(fx.csv.gz, () => gzipSync(text + "1,2,3,red\n".repeat(200_000)));
    expect(await refusal("csvGz", path)).toMatch(/decompresses to more than 1048576 bytes, the most descent reads as CSV text/);
  });
});

describe("values that are not finite float32 are refused with their position", () => {
  it("a CSV cell or target of 1e39", async () => {
    const cell = damaged(fx.csv.categorical, (b) => b.toString().replace("1.5,", "1e39,"));
    expect(await refusal("csv", cell)).toMatch(/data\.csv:5: column "a" \(1\): 1e39 is beyond the range of float32/);
    const target = damaged(fx.csv.float, (b) => b.toString().replace(/,2\.5\n/, ",1e39\n"));
    expect(await refusal("csvFloat", target)).toMatch(/float\.csv:4: column "target" \(4\): 1e39 is beyond the range of float32/);
  });

  it("NaN, infinite or float64-overflowing pixels of an IDX file", async () => {
    const nan = damaged(fx.idx.floatImages, (b) => {
      const out = Buffer.from(b);
      out.writeFloatBE(NaN, 16 + 4 * 5);
      return out;
    });
    expect(await refusal("idxFloat", nan)).toMatch(/byte offset 36: pixel 5 is NaN/);
    const f64 = join(root, "f64.idx");
    const buf = Buffer.alloc(16 + 8 * 96);
    buf.set([0, 0, 0x0e, 3]);
    [6, 4, 4].forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
    buf.writeDoubleBE(1e39, 16 + 8 * 2);
    writeFileSync(f64, buf);
    expect(await refusal("idx", f64)).toMatch(/byte offset 32: pixel 2 is 1e\+39, not a finite float32 value/);
  });

  it("NaN weights of a model file, naming the tensor and the element", async () => {
    const weights = join(fx.modelDir, "model.safetensors");
    const path = damaged(weights, () => {
      const { tensors } = readSafetensors(weights);
      const w = Float32Array.from(tensors["0.weight"]!.dataSync());
      w[3] = NaN;
      const out = join(root, `nan-${counter++}.safetensors`);
      writeSafetensors(out, { ...tensors, "0.weight": tensor(Array.from(w), { dtype: "float32" }).reshape([6, 4]) });
      return readFileSync(out);
    }, true);
    expect(await refusal("modelWeights", path)).toMatch(/tensor "0\.weight" element 3 is NaN/);
  });

  it("a standardizer with a mean of 1e39 or a std of 1e-45", async () => {
    const model = join(fx.modelDir, "model.json");
    const set = (field: "mean" | "std", v: number) => editJson((j) => (((j.standardizer as Record<string, number[]>)[field]![1] = v)));
    expect(await refusal("model", damaged(model, set("mean", 1e39), true))).toMatch(/mean\[1\] is 1e\+39, not a float32 number/);
    expect(await refusal("model", damaged(model, set("std", 1e-45), true))).toMatch(/std\[1\] is 1\.4\d*e-45; std values must be finite and at least/);
    expect(() => Standardizer.fromJSON({ type: "standardizer", featureShape: [2], perChannel: false, mean: [0, 0], std: [1, 1e-45] })).toThrow(/std\[1\]/);
  });
});

describe("a model file's classes and shapes are checked against the model", () => {
  const model = () => join(fx.modelDir, "model.json");
  it("too few or too many class names, numeric or repeated ones", async () => {
    const classes = (c: unknown[]) => editJson((j) => (j.classes = c));
    expect(await refusal("model", damaged(model(), classes(["a", "b"]), true))).toMatch(/"classes" names 2 classes, but the model outputs \[3\] per sample/);
    expect(await refusal("model", damaged(model(), classes(["a", "b", "c", "d"]), true))).toMatch(/names 4 classes/);
    expect(await refusal("model", damaged(model(), classes(["a", 1, "c"]), true))).toMatch(/"classes"\[1\] is 1; class names must be strings/);
    expect(await refusal("model", damaged(model(), classes(["a", "a", "c"]), true))).toMatch(/"classes" repeats a name/);
  });

  it("an inputShape the standardizer was not fitted on", async () => {
    const path = damaged(model(), editJson((j) => (((j.standardizer as Record<string, unknown>).featureShape = [2]), ((j.standardizer as Record<string, unknown>).mean = [0, 0]), ((j.standardizer as Record<string, unknown>).std = [1, 1]))), true);
    expect(await refusal("model", path)).toMatch(/the standardizer was fitted on samples of \[2\], but "inputShape" is \[4\]/);
  });

  it("weights of another shape name the weights file", async () => {
    const path = damaged(model(), editJson((j) => ((j.layers as Record<string, unknown>[])[4]!.outFeatures = 2)), true);
    const message = await refusal("model", path, path.replace(/json$/, "safetensors"));
    expect(message).toMatch(/"4\.weight" has shape \[3,6\], the model expects \[2,6\]/);
  });
});
