/**
 * Checkpoints: one safetensors file with namespaced tensors and the rest of the state as JSON in
 * its metadata; exact round trips, refusal of foreign, newer and damaged files, keeping the last K.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CHECKPOINT_VERSION, ConfigError, FileFormatError, Generator, Tensor, encodeSafetensors, fromValues, listCheckpoints,
  pruneCheckpoints, readCheckpoint, readSafetensors, tensor, writeCheckpoint, writeSafetensors,
} from "../../src/node.js";
import type { GeneratorState } from "../../src/node.js";

const dir = mkdtempSync(join(tmpdir(), "descent-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const values = (t: Tensor | undefined): number[] => Array.from(t!.dataSync());

function sample() {
  return {
    tensors: {
      model: { "layers.0.weight": tensor([[0.1, -0.2], [0.3, 0.4]]), "layers.0.bias": tensor([0, 1], { dtype: "float64" }) },
      optimizer: { "scaleByAdam.mu.layers.0.weight": tensor([[1e-8, 2], [3, 4]]), "scaleByAdam.count": tensor([17], { dtype: "int32" }) },
      standardizer: { mean: tensor([0.5]), std: tensor([2]) },
      empty: {},
    },
    state: {
      epoch: 3,
      step: 375,
      rng: { trainer: [123456789, 362436069, 521288629, 88675123], dropout: [1, 2, 3, 4] },
      loader: { epoch: 3, position: 128, order: [4, 2, 0, 1, 3] },
      schedule: { name: "exponential", lastLr: 0.000857375 },
      optimizer: { lr: 0.001, beta1: 0.9, eps: 1e-8 },
      config: { model: "mlp", hidden: [256, 128], note: "ünïcode \"quoted\"\n", nothing: null, flag: true },
    },
  };
}

describe("writeCheckpoint / readCheckpoint", () => {
  it("round-trips namespaced tensors and the JSON state exactly", () => {
    const path = join(dir, "epoch-3.ckpt");
    const s = sample();
    writeCheckpoint(path, s);
    const back = readCheckpoint(path);
    expect(back.version).toBe(CHECKPOINT_VERSION);
    expect(back.state).toEqual(s.state);
    expect(Object.keys(back.tensors).sort()).toEqual(["empty", "model", "optimizer", "standardizer"]);
    expect(back.tensors["empty"]).toEqual({});
    expect(Object.keys(back.tensors["model"]!).sort()).toEqual(["layers.0.bias", "layers.0.weight"]);
    expect(values(back.tensors["model"]!["layers.0.weight"])).toEqual(values(s.tensors.model["layers.0.weight"]));
    expect(back.tensors["model"]!["layers.0.bias"]!.dtype).toBe("float64");
    expect(back.tensors["optimizer"]!["scaleByAdam.count"]!.dtype).toBe("int32");
    expect(values(back.tensors["optimizer"]!["scaleByAdam.count"])).toEqual([17]);
    expect(values(back.tensors["standardizer"]!["std"])).toEqual([2]);
  });

  it("keeps a Generator state bit-exact, so the resumed run draws the same numbers", () => {
    const g = new Generator(7);
    g.uniform();
    g.normal(); // leaves a Box-Muller spare in the state
    const path = join(dir, "rng.ckpt");
    writeCheckpoint(path, { tensors: {}, state: { rng: g.getState() } });
    const resumed = new Generator(0);
    resumed.setState((readCheckpoint(path).state as { rng: GeneratorState }).rng);
    const draws = (r: Generator) => [r.normal(), r.uniform(), r.nextUint32(), r.normal()];
    expect(draws(resumed)).toEqual(draws(g));
  });

  it("is a plain safetensors file that other tools can read", () => {
    const path = join(dir, "plain.ckpt");
    writeCheckpoint(path, sample());
    const { tensors, metadata } = readSafetensors(path);
    expect(Object.keys(tensors)).toContain("model.layers.0.weight");
    expect(Object.keys(tensors)).toContain("optimizer.scaleByAdam.count");
    const header = JSON.parse(metadata["descent"]!) as Record<string, unknown>;
    expect(header["format"]).toBe("descent-checkpoint");
    expect(header["version"]).toBe(1);
  });

  it("overwrites atomically and leaves no temporary files", () => {
    const path = join(dir, "again.ckpt");
    writeCheckpoint(path, { tensors: { model: { w: tensor([1]) } }, state: { step: 1 } });
    writeCheckpoint(path, { tensors: { model: { w: tensor([2]) } }, state: { step: 2 } });
    expect(readCheckpoint(path).state).toEqual({ step: 2 });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses state JSON would change, and bad namespaces, naming where", () => {
    const path = join(dir, "bad.ckpt");
    const w = (state: unknown, tensors: Record<string, Record<string, Tensor>> = {}) => () => writeCheckpoint(path, { tensors, state });
    expect(w({ optimizer: { lr: NaN } })).toThrow(/state\.optimizer\.lr is NaN/);
    expect(w({ best: Infinity })).toThrow(/state\.best is Infinity/);
    expect(w({ list: [1, undefined] })).toThrow(/undefined \(at index 1\)/);
    expect(w({ big: 1n })).toThrow(/state\.big is a bigint/);
    expect(w({ t: tensor([1]) })).toThrow(/state\.t is a Tensor instance/);
    expect(w({ f: () => 1 })).toThrow(ConfigError);
    expect(w({}, { "model.sub": { w: tensor([1]) } })).toThrow(/namespace "model\.sub"/);
    expect(w({}, { "": { w: tensor([1]) } })).toThrow(ConfigError);
    expect(readdirSync(dir).includes("bad.ckpt")).toBe(false);
    // undefined object properties are simply absent, as in JSON
    writeCheckpoint(path, { tensors: {}, state: { a: 1, b: undefined } });
    expect(readCheckpoint(path).state).toEqual({ a: 1 });
  });
});

describe("foreign, newer and damaged checkpoints", () => {
  const withDescent = (name: string, descent: string | undefined, tensors: Record<string, Tensor> = { "model.w": tensor([1]) }) => {
    const path = join(dir, name);
    writeSafetensors(path, tensors, descent === undefined ? undefined : { descent });
    return path;
  };

  it("a plain weights file is not a checkpoint", () => {
    const path = withDescent("weights.safetensors", undefined);
    expect(() => readCheckpoint(path)).toThrow(FileFormatError);
    expect(() => readCheckpoint(path)).toThrow(/weights\.safetensors: not a descent checkpoint: .*no "descent" entry/);
  });

  it("a newer format version is refused by number", () => {
    const path = withDescent("newer.ckpt", JSON.stringify({ format: "descent-checkpoint", version: 2, namespaces: ["model"], state: {} }));
    expect(() => readCheckpoint(path)).toThrow(/newer\.ckpt: checkpoint format version 2 was written by a newer descent; this version reads up to 1/);
  });

  it("metadata that is not a descent checkpoint header", () => {
    const bad: [string, string][] = [
      ["{not json", "not valid JSON"],
      ["[1]", "is not a JSON object"],
      [JSON.stringify({ format: "other", version: 1 }), `metadata format is "other"`],
      [JSON.stringify({ format: "descent-checkpoint", version: "1" }), `version "1" is not a version number`],
      [JSON.stringify({ format: "descent-checkpoint", version: 0, namespaces: [], state: {} }), "version 0 is not a version number"],
      [JSON.stringify({ format: "descent-checkpoint", version: 1, namespaces: "model", state: {} }), `"namespaces" must be an array`],
      [JSON.stringify({ format: "descent-checkpoint", version: 1, namespaces: ["model"] }), `no "state"`],
      [JSON.stringify({ format: "descent-checkpoint", version: 1, namespaces: ["optimizer"], state: {} }), `tensor "model.w" is in no namespace`],
    ];
    for (const [i, [descent, message]] of bad.entries()) {
      const path = withDescent(`bad-${i}.ckpt`, descent);
      let caught: unknown;
      try {
        readCheckpoint(path);
      } catch (e) {
        caught = e;
      }
      expect(caught, descent).toBeInstanceOf(FileFormatError);
      expect((caught as Error).message).toContain(`bad-${i}.ckpt: `);
      expect((caught as Error).message).toContain(message);
    }
  });

  it("a truncated or corrupted checkpoint is a FileFormatError naming the file", () => {
    const good = encodeSafetensors(
      { "model.w": fromValues(new Float32Array([1, 2, 3]), [3]) },
      { descent: JSON.stringify({ format: "descent-checkpoint", version: 1, namespaces: ["model"], state: { step: 5 } }) },
    );
    const path = join(dir, "cut.ckpt");
    for (const n of [0, 5, 8, 40, good.length - 1]) {
      writeFileSync(path, good.subarray(0, n));
      expect(() => readCheckpoint(path), `cut at ${n}`).toThrow(FileFormatError);
      expect(() => readCheckpoint(path)).toThrow(/cut\.ckpt: /);
    }
    writeFileSync(path, good);
    expect(readCheckpoint(path).state).toEqual({ step: 5 });
    const flipped = Uint8Array.from(readFileSync(path));
    flipped[20] = 0x7b; // a "{" inside the header JSON
    writeFileSync(path, flipped);
    expect(() => readCheckpoint(path)).toThrow(FileFormatError);
    expect(() => readCheckpoint(join(dir, "absent.ckpt"))).toThrow(/absent\.ckpt: cannot read/);
  });
});

describe("listCheckpoints / pruneCheckpoints", () => {
  it("orders epoch-<E>.ckpt numerically and keeps the last K, leaving other files alone", () => {
    const ckpts = join(dir, "run", "checkpoints");
    mkdirSync(ckpts, { recursive: true });
    for (const e of [1, 2, 10, 9, 3]) writeCheckpoint(join(ckpts, `epoch-${e}.ckpt`), { tensors: {}, state: { epoch: e } });
    writeCheckpoint(join(ckpts, "best.ckpt"), { tensors: {}, state: { epoch: 2 } });
    writeFileSync(join(ckpts, ".epoch-11.ckpt.123.456.tmp"), "partial");
    writeFileSync(join(ckpts, "notes.txt"), "x");
    expect(listCheckpoints(ckpts).map((p) => p.slice(ckpts.length + 1))).toEqual([
      "epoch-1.ckpt", "epoch-2.ckpt", "epoch-3.ckpt", "epoch-9.ckpt", "epoch-10.ckpt",
    ]);
    const deleted = pruneCheckpoints(ckpts, 2);
    expect(deleted.map((p) => p.slice(ckpts.length + 1))).toEqual(["epoch-1.ckpt", "epoch-2.ckpt", "epoch-3.ckpt"]);
    expect(readdirSync(ckpts).sort()).toEqual([".epoch-11.ckpt.123.456.tmp", "best.ckpt", "epoch-10.ckpt", "epoch-9.ckpt", "notes.txt"]);
    expect(pruneCheckpoints(ckpts, 5)).toEqual([]);
    expect((readCheckpoint(listCheckpoints(ckpts).at(-1)!).state as { epoch: number }).epoch).toBe(10);
  });

  it("takes another pattern, orders by name without a capture group, and handles a missing folder", () => {
    const other = join(dir, "other");
    mkdirSync(other);
    for (const n of ["step-0100.bin", "step-0020.bin", "step-0300.bin"]) writeFileSync(join(other, n), "");
    expect(listCheckpoints(other, /^step-\d+\.bin$/).map((p) => p.slice(other.length + 1))).toEqual([
      "step-0020.bin", "step-0100.bin", "step-0300.bin",
    ]);
    expect(pruneCheckpoints(other, 0, /^step-(\d+)\.bin$/g)).toHaveLength(3);
    expect(readdirSync(other)).toEqual([]);
    expect(listCheckpoints(join(dir, "nope"))).toEqual([]);
    expect(pruneCheckpoints(join(dir, "nope"), 1)).toEqual([]);
    expect(() => pruneCheckpoints(other, -1)).toThrow(ConfigError);
    expect(() => pruneCheckpoints(other, 1.5)).toThrow(/keep must be an integer >= 0, got 1.5/);
  });
});
