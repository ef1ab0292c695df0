import { describe, expect, it } from "vitest";
import { fromValues, tensor } from "../../src/tensor/creation.js";
import { createDataset, hostValues } from "../../src/data/dataset.js";
import { split } from "../../src/data/split.js";
import { Standardizer } from "../../src/data/standardize.js";
import { ConfigError } from "../../src/errors/errors.js";
import { Generator } from "../../src/tensor/random.js";

/** 200 rows of 3 features: N(5, 2), N(-1, 0.5), and a constant 4. */
function table() {
  const rng = new Generator(11);
  const x = new Float32Array(600);
  for (let i = 0; i < 200; i++) {
    x[3 * i] = 5 + 2 * rng.normal();
    x[3 * i + 1] = -1 + 0.5 * rng.normal();
    x[3 * i + 2] = 4;
  }
  const y = new Int32Array(200).map((_, i) => i % 2);
  return createDataset(fromValues(x, [200, 3]), fromValues(y, [200]));
}

function columnStats(v: ArrayLike<number>, cols: number, j: number): [number, number] {
  let s = 0;
  const n = v.length / cols;
  for (let i = 0; i < n; i++) s += v[i * cols + j]!;
  const m = s / n;
  let q = 0;
  for (let i = 0; i < n; i++) q += (v[i * cols + j]! - m) ** 2;
  return [m, Math.sqrt(q / n)];
}

describe("Standardizer", () => {
  it("fits on the training set: mean 0 and std 1 per feature there, a zero-std feature centred without NaN", () => {
    const { train, dev } = split(table(), { seed: 1 });
    const st = Standardizer.fit(train);
    const z = hostValues(st.transform(train).inputs);
    for (const j of [0, 1]) {
      const [m, s] = columnStats(z, 3, j);
      expect(Math.abs(m)).toBeLessThan(1e-6);
      expect(s).toBeCloseTo(1, 5);
    }
    expect(Array.from(z).every(Number.isFinite)).toBe(true);
    expect(columnStats(z, 3, 2)).toEqual([0, 0]);
    expect(st.std.dataSync()[2]).toBe(1);
    // dev is transformed with the training statistics, not its own
    const zd = hostValues(st.transform(dev).inputs);
    const xd = hostValues(dev.inputs);
    const mean = st.mean.dataSync();
    const std = st.std.dataSync();
    expect(zd[4]).toBeCloseTo((xd[4]! - mean[1]!) / std[1]!, 5);
    expect(st.transform(dev).role).toBe("dev");
  });

  it("refuses to fit on the dev or test set, naming the role", () => {
    const s = split(table(), { seed: 2 });
    expect(() => Standardizer.fit(s.dev)).toThrow(ConfigError);
    expect(() => Standardizer.fit(s.dev)).toThrow(/refusing to fit on the dev set/);
    expect(() => Standardizer.fit(s.test)).toThrow(/refusing to fit on the test set/);
    expect(() => Standardizer.fit(s.train)).not.toThrow();
  });

  it("saves and restores through stateDict and JSON, giving the same transform bit for bit", () => {
    const { train, test } = split(table(), { seed: 3 });
    const st = Standardizer.fit(train);
    const expected = hostValues(st.transform(test).inputs);
    const fromState = Standardizer.fromStateDict(st.stateDict(), [3]);
    expect(hostValues(fromState.transform(test).inputs)).toEqual(expected);
    const fromJson = Standardizer.fromJSON(JSON.parse(JSON.stringify(st)));
    expect(hostValues(fromJson.transform(test).inputs)).toEqual(expected);
    const other = Standardizer.fit(split(table(), { seed: 4 }).train);
    other.loadStateDict(st.stateDict());
    expect(hostValues(other.transform(test).inputs)).toEqual(expected);
    expect(() => other.loadStateDict({ mean: tensor([0, 0]), std: tensor([1, 1]) })).toThrow(/mean has shape \[2\], expected \[3\]/);
    expect(() => Standardizer.fromJSON({ type: "standardizer", featureShape: [3], mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(/std\[1\] is 0; std values must be finite and at least/);
  });

  it("inverts its transform and refuses inputs of another shape", () => {
    const ds = table();
    const st = Standardizer.fit(ds);
    const back = hostValues(st.inverseTensor(st.transformTensor(ds.inputs)));
    const x = hostValues(ds.inputs);
    for (let i = 0; i < 30; i++) expect(back[i]).toBeCloseTo(x[i]!, 4);
    expect(() => st.transformTensor(tensor([[1, 2]]))).toThrow(/fitted on samples of \[3\], got inputs \[1,2\]/);
  });

  it("fits one mean and std per channel for images", () => {
    const x = new Float32Array(2 * 2 * 2 * 2);
    for (let i = 0; i < 16; i++) x[i] = Math.floor(i / 4) % 2 === 0 ? i : 100 + 2 * i;
    const ds = createDataset(fromValues(x, [2, 2, 2, 2]), fromValues(Int32Array.of(0, 1), [2]));
    const st = Standardizer.fit(ds, { perChannel: true });
    expect(st.mean.shape).toEqual([2]);
    const mean = st.mean.dataSync();
    expect(mean[0]).toBeCloseTo((0 + 1 + 2 + 3 + 8 + 9 + 10 + 11) / 8, 5);
    expect(mean[1]).toBeCloseTo(100 + (2 * (4 + 5 + 6 + 7 + 12 + 13 + 14 + 15)) / 8, 4);
    const restored = Standardizer.fromStateDict(st.stateDict(), [2, 2, 2]);
    expect(restored.perChannel).toBe(true);
    expect(hostValues(restored.transform(ds).inputs)).toEqual(hostValues(st.transform(ds).inputs));
  });
});
