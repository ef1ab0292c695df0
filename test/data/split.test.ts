import { describe, expect, it } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { classCounts, createDataset, hostValues, type Dataset } from "../../src/data/dataset.js";
import { defaultSplitRatios, split } from "../../src/data/split.js";
import { ConfigError } from "../../src/errors/errors.js";

/** n samples whose single feature is the sample's index; labels cycle through `weights` classes unevenly. */
function indexed(n: number, weights = [5, 3, 2]): Dataset {
  const x = new Float32Array(n);
  const y = new Int32Array(n);
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) {
    x[i] = i;
    let r = i % total;
    let c = 0;
    while (r >= weights[c]!) r -= weights[c++]!;
    y[i] = c;
  }
  return createDataset(fromValues(x, [n, 1]), fromValues(y, [n]), { numClasses: weights.length });
}
const ids = (ds: Dataset): number[] => Array.from(hostValues(ds.inputs));

describe("defaultSplitRatios", () => {
  it("is 60/20/20 up to 10,000 samples and 98/1/1 from a million, shrinking the held-out share between", () => {
    expect(defaultSplitRatios(500)).toEqual({ train: 0.6, dev: 0.2, test: 0.2 });
    expect(defaultSplitRatios(10_000).train).toBeCloseTo(0.6, 12);
    const m = defaultSplitRatios(1_000_000);
    expect(m.train).toBeCloseTo(0.98, 12);
    expect(m.dev).toBeCloseTo(0.01, 12);
    expect(defaultSplitRatios(5e7).test).toBeCloseTo(0.01, 12);
    const mid = defaultSplitRatios(100_000);
    expect(mid.train).toBeCloseTo(1 - Math.sqrt(0.4 * 0.02), 10); // about 91 / 4.5 / 4.5
    let lastShare = 1;
    let lastCount = 0;
    for (const n of [1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6]) {
      const r = defaultSplitRatios(n);
      expect(r.train + r.dev + r.test).toBeCloseTo(1, 12);
      expect(r.dev).toBeLessThanOrEqual(lastShare);
      expect(n * r.dev).toBeGreaterThanOrEqual(lastCount); // the dev set never gets smaller as data grows
      lastShare = r.dev;
      lastCount = n * r.dev;
    }
  });
});

describe("split", () => {
  it("uses the default ratios, sets roles, covers the data once and describes itself", () => {
    const ds = indexed(1000);
    const s = split(ds);
    expect(s.counts).toEqual({ train: 600, dev: 200, test: 200 });
    expect(s.defaulted).toBe(true);
    expect([s.train.role, s.dev.role, s.test.role]).toEqual(["train", "dev", "test"]);
    const all = [...ids(s.train), ...ids(s.dev), ...ids(s.test)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(s.describe).toBe(
      "split 1000 samples (seed 0): train 600 (60.0%), dev 200 (20.0%), test 200 (20.0%); default ratios for 1000 samples (60/20/20 up to 10,000, 98/1/1 from 1,000,000)",
    );
    expect(s.train.numClasses).toBe(3);
  });

  it("is seeded: the same seed gives the same split, another seed another", () => {
    const ds = indexed(300);
    expect(ids(split(ds, { seed: 7 }).dev)).toEqual(ids(split(ds, { seed: 7 }).dev));
    expect(ids(split(ds, { seed: 7 }).dev)).not.toEqual(ids(split(ds, { seed: 8 }).dev));
    expect(ids(split(ds, { seed: 7, stratify: true }).test)).toEqual(ids(split(ds, { seed: 7, stratify: true }).test));
  });

  it("takes fractions or counts, giving what is left to the parts left out", () => {
    const ds = indexed(1000);
    expect(split(ds, { train: 0.8, dev: 0.1, test: 0.1 }).counts).toEqual({ train: 800, dev: 100, test: 100 });
    expect(split(ds, { train: 0.9 }).counts).toEqual({ train: 900, dev: 50, test: 50 });
    expect(split(ds, { train: 0.7, dev: 0.3 }).counts).toEqual({ train: 700, dev: 300, test: 0 });
    expect(split(ds, { train: 700, dev: 150 }).counts).toEqual({ train: 700, dev: 150, test: 150 });
    expect(split(ds, { dev: 101 }).counts).toEqual({ train: 450, dev: 101, test: 449 });
    const sub = split(ds, { train: 100, dev: 20, test: 20 });
    expect(sub.counts).toEqual({ train: 100, dev: 20, test: 20 });
    expect(sub.describe).toMatch(/860 unused/);
    expect(() => split(ds, { train: 900, dev: 200 })).toThrow(/ask for 1100 samples, the dataset has 1000/);
    expect(() => split(ds, { train: -0.1 })).toThrow(ConfigError);
    expect(() => split(ds, { train: 0.5, dev: 2.5 })).toThrow(/neither a fraction/);
  });

  it("stratifies: every part keeps each class's proportion", () => {
    const ds = indexed(1000, [7, 2, 1]); // classes 700 / 200 / 100
    const s = split(ds, { train: 0.6, dev: 0.2, test: 0.2, seed: 3, stratify: true });
    expect(s.describe).toMatch(/stratified by label/);
    const whole = classCounts(ds);
    for (const [part, frac] of [[s.train, 0.6], [s.dev, 0.2], [s.test, 0.2]] as const) {
      const counts = classCounts(part);
      counts.forEach((c, k) => expect(Math.abs(c - whole[k]! * frac)).toBeLessThanOrEqual(1));
    }
    // a small, lopsided set: plain shuffling often misses the rare class in dev; stratifying does not
    const tiny = indexed(40, [36, 4]);
    for (let seed = 0; seed < 10; seed++) {
      const t = split(tiny, { train: 0.5, dev: 0.25, test: 0.25, seed, stratify: true });
      expect(classCounts(t.dev)[1]).toBe(1);
      expect(classCounts(t.train)[1]).toBe(2);
    }
  });

  it("refuses to stratify regression targets", () => {
    const ds = createDataset(fromValues(new Float32Array(4), [4, 1]), fromValues(new Float32Array(4), [4]));
    expect(() => split(ds, { stratify: true })).toThrow(/stratify needs int32 class labels/);
    expect(split(ds, { train: 2, dev: 1, test: 1 }).train.length).toBe(2);
  });
});
