import { describe, expect, it } from "vitest";
import { tensor } from "../../src/tensor/creation.js";
import { classCounts, createDataset, describeDataset, subset, takeRows, withRole } from "../../src/data/dataset.js";
import { ConfigError, ShapeError } from "../../src/errors/errors.js";

function tiny() {
  const x = tensor([[0, 1], [2, 3], [4, 5], [6, 7]]);
  const y = tensor([0, 1, 2, 1], { dtype: "int32" });
  return createDataset(x, y, { classNames: ["a", "b", "c"], source: "tiny" });
}

describe("Dataset", () => {
  it("carries length, featureShape and classes", () => {
    const ds = tiny();
    expect(ds.length).toBe(4);
    expect(ds.featureShape).toEqual([2]);
    expect(ds.numClasses).toBe(3);
    expect(ds.classNames).toEqual(["a", "b", "c"]);
    expect(ds.role).toBeUndefined();
    expect(describeDataset(ds)).toBe("tiny: 4 samples of [2], 3 classes");
    expect(classCounts(ds)).toEqual([1, 2, 1]);
  });

  it("refuses mismatched counts and labels out of range", () => {
    expect(() => createDataset(tensor([[1], [2]]), tensor([0], { dtype: "int32" }))).toThrow(ShapeError);
    expect(() => createDataset(tensor([[1], [2]]), tensor([0, 3], { dtype: "int32" }), { numClasses: 3 })).toThrow(
      /label 1 is 3, out of range for 3 classes/,
    );
    expect(() => createDataset(tensor([[1], [2]]), tensor([0, -1], { dtype: "int32" }))).toThrow(ConfigError);
  });

  it("takes rows by an index array, repeats allowed, as copies", () => {
    const ds = tiny();
    const s = subset(ds, [3, 0, 3], "dev");
    expect(s.inputs.toArray()).toEqual([[6, 7], [0, 1], [6, 7]]);
    expect(s.labels.toArray()).toEqual([1, 0, 1]);
    expect(s.labels.dtype).toBe("int32");
    expect(s.role).toBe("dev");
    expect(s.classNames).toEqual(["a", "b", "c"]);
    expect(takeRows(ds.inputs, Int32Array.of(2)).toArray()).toEqual([[4, 5]]);
    expect(() => takeRows(ds.inputs, [4])).toThrow(/index 0 is 4, out of range for 4 rows/);
    expect(subset(ds, []).inputs.shape).toEqual([0, 2]);
    expect(withRole(ds, "train").role).toBe("train");
  });
});
