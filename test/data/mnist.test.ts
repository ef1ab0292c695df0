import { describe, expect, it } from "vitest";
import { loadMnist, digitsDataset } from "../../src/data/mnist.js";
import { classCounts } from "../../src/data/dataset.js";
import { FileFormatError } from "../../src/errors/errors.js";

describe("loadMnist", () => {
  it("returns the 10,000 digits as [N,1,28,28] float32 in [0,1] with int32 labels 0..9", () => {
    const ds = loadMnist();
    expect(ds.length).toBe(10000);
    expect(ds.inputs.shape).toEqual([10000, 1, 28, 28]);
    expect(ds.featureShape).toEqual([1, 28, 28]);
    expect(ds.inputs.dtype).toBe("float32");
    expect(ds.labels.dtype).toBe("int32");
    expect(ds.numClasses).toBe(10);
    expect(ds.classNames).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const x = ds.inputs.dataSync();
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    expect(lo).toBe(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.9);
    const counts = classCounts(ds);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10000);
    expect(counts.every((c) => c > 800)).toBe(true); // all ten present (5 has the fewest: 863)
    expect(counts[5]).toBe(863);
  });

  it("refuses bad package data with the file and element offset", () => {
    const good = new Array<number>(784).fill(0.5);
    expect(() => digitsDataset([good, good.slice(0, 700)], "mnist")).toThrow(FileFormatError);
    expect(() => digitsDataset([good, good.slice(0, 700)], "mnist")).toThrow(/mnist\/src\/digits\/1\.json: element offset 0: truncated/);
    const bad = [...good, ...good];
    bad[800] = 3;
    expect(() => digitsDataset([good, bad], "mnist")).toThrow(/digits\/1\.json: element offset 800 \(image 1\): pixel 3 is not a number in \[0, 1\]/);
  });
});
