import { describe, expect, it } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { createDataset, type Dataset } from "../../src/data/dataset.js";
import { DataLoader, type Batch, type LoaderState } from "../../src/data/loader.js";
import { split } from "../../src/data/split.js";
import { ConfigError } from "../../src/errors/errors.js";

/** n images [1, 2, 2] whose pixels all equal the sample index; label = index % 3. */
function images(n: number): Dataset {
  const x = new Float32Array(n * 4);
  for (let i = 0; i < x.length; i++) x[i] = Math.floor(i / 4);
  const y = new Int32Array(n).map((_, i) => i % 3);
  return createDataset(fromValues(x, [n, 1, 2, 2]), fromValues(y, [n]));
}
const rows = (b: Batch): number[] => Array.from(b.indices);
const snapshot = (b: Batch) => ({ x: Array.from(b.x.dataSync()), y: Array.from(b.y.dataSync()) });

describe("DataLoader", () => {
  it("yields batches of the dataset's dtypes covering every sample once per epoch, reshuffled each epoch", () => {
    const ds = images(10);
    const loader = new DataLoader(ds, { batchSize: 4, seed: 5 });
    expect(loader.numBatches).toBe(3);
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const seen: number[] = [];
      const sizes: number[] = [];
      for (const b of loader) {
        expect(b.x.dtype).toBe("float32");
        expect(b.y.dtype).toBe("int32");
        expect(b.x.shape.slice(1)).toEqual([1, 2, 2]);
        const x = b.x.dataSync();
        rows(b).forEach((r, i) => {
          expect(x[4 * i]).toBe(r);
          expect(b.y.dataSync()[i]).toBe(r % 3);
        });
        sizes.push(b.x.shape[0]!);
        seen.push(...rows(b));
      }
      expect(sizes).toEqual([4, 4, 2]);
      expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      epochs.push(seen);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(loader.epoch).toBe(3);
    // the same seed gives the same order
    const again = new DataLoader(ds, { batchSize: 4, seed: 5 });
    expect([...again].flatMap(rows)).toEqual(epochs[0]);
  });

  it("drops the last short batch when asked; batch GD, mini-batch and SGD are the same loop", () => {
    const ds = images(10);
    expect([...new DataLoader(ds, { batchSize: 4, dropLast: true })].map((b) => b.x.shape[0])).toEqual([4, 4]);
    expect([...new DataLoader(ds, { batchSize: 10 })].map((b) => b.x.shape[0])).toEqual([10]);
    expect([...new DataLoader(ds, { batchSize: 1 })].length).toBe(10);
    const ordered = [...new DataLoader(ds, { batchSize: 3, shuffle: false })].flatMap(rows);
    expect(ordered).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/invalid batchSize 0/);
    expect(() => new DataLoader(ds, { batchSize: 11, dropLast: true })).toThrow(ConfigError);
  });

  function run(loader: DataLoader, epochs: number, stopAt?: { epoch: number; batch: number }): { batches: ReturnType<typeof snapshot>[]; state?: LoaderState } {
    const batches: ReturnType<typeof snapshot>[] = [];
    while (loader.epoch < epochs) {
      for (const b of loader) {
        batches.push(snapshot(b));
        if (stopAt && loader.epoch === stopAt.epoch && loader.batchIndex === stopAt.batch) {
          return { batches, state: JSON.parse(JSON.stringify(loader.state())) as LoaderState };
        }
      }
    }
    return { batches };
  }

  it("resumes from a saved state mid-epoch or at an epoch boundary with exactly the remaining batches", () => {
    const ds = images(23);
    const augment = [{ type: "randomCrop" as const, padding: 1 }, { type: "randomFlip" as const }];
    const options = { batchSize: 5, seed: 42, augment };
    const full = run(new DataLoader(ds, options), 4).batches;
    expect(full.length).toBe(20);
    for (const stopAt of [{ epoch: 1, batch: 2 }, { epoch: 2, batch: 5 }, { epoch: 0, batch: 1 }]) {
      const first = run(new DataLoader(ds, options), 4, stopAt);
      expect(first.state).toBeDefined();
      const resumed = new DataLoader(ds, options);
      resumed.setState(first.state!);
      const rest = run(resumed, 4).batches;
      expect([...first.batches, ...rest]).toEqual(full);
    }
    // a state taken after a loop ran to its end resumes at the next epoch
    const loader = new DataLoader(ds, options);
    for (const _ of loader) void _;
    const state = JSON.parse(JSON.stringify(loader.state())) as LoaderState;
    expect(state.epoch).toBe(1);
    expect(state.batchIndex).toBe(0);
    const fresh = new DataLoader(ds, options);
    fresh.setState(state);
    expect(run(fresh, 4).batches).toEqual(full.slice(5));
  });

  it("continues the same epoch after a break, and refuses a state from other settings", () => {
    const ds = images(12);
    const a = new DataLoader(ds, { batchSize: 4, seed: 1 });
    const whole = [...new DataLoader(ds, { batchSize: 4, seed: 1 })].flatMap(rows);
    const got: number[] = [];
    for (const b of a) {
      got.push(...rows(b));
      break;
    }
    for (const b of a) got.push(...rows(b));
    expect(got).toEqual(whole);
    const b = new DataLoader(ds, { batchSize: 3, seed: 1 });
    expect(() => b.setState(a.state())).toThrow(/saved with batchSize 4, this loader has 3/);
    expect(() => b.setState({} as LoaderState)).toThrow(/not a DataLoader state/);
  });

  it("augments on the fly for training sets only", () => {
    const ds = images(30);
    const s = split(ds, { seed: 0 });
    expect(() => new DataLoader(s.dev, { batchSize: 4, augment: [{ type: "randomFlip" }] })).toThrow(
      /augmentation is for training only; this is the dev set/,
    );
    expect(() => new DataLoader(s.train, { batchSize: 4, augment: [{ type: "randomCrop", padding: -1 }] })).toThrow(/invalid padding -1/);
    const plain = [...new DataLoader(s.train, { batchSize: 4, seed: 2 })].map(snapshot);
    const aug = [...new DataLoader(s.train, { batchSize: 4, seed: 2, augment: [{ type: "randomCrop", padding: 2 }] })].map(snapshot);
    // the order is the same with or without augmentation; crops replace some pixels by the fill 0
    expect(aug.map((b) => b.y)).toEqual(plain.map((b) => b.y));
    expect(aug.map((b) => b.x)).not.toEqual(plain.map((b) => b.x));
  });
});
