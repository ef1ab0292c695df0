import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { loadCsv, parseCsv } from "../../src/data/csv.js";
import { ConfigError, FileFormatError } from "../../src/errors/errors.js";

const dir = mkdtempSync(join(tmpdir(), "descent-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IRIS = `sepal_length,sepal_width,species,petal_length
5.1,3.5,setosa,1.4
7.0,3.2,versicolor,4.7
6.3,3.3,virginica,6.0
4.9,3.0,setosa,1.4
`;

describe("CSV files", () => {
  it("reads the header, the label column by name, and maps categorical labels to sorted ids", () => {
    const p = join(dir, "iris.csv");
    writeFileSync(p, IRIS);
    const ds = loadCsv(p, { label: "species" });
    expect(ds.inputs.shape).toEqual([4, 3]);
    expect(ds.featureNames).toEqual(["sepal_length", "sepal_width", "petal_length"]);
    expect(ds.classNames).toEqual(["setosa", "versicolor", "virginica"]);
    expect(ds.numClasses).toBe(3);
    expect(ds.labels.dtype).toBe("int32");
    expect(ds.labels.toArray()).toEqual([0, 1, 2, 0]);
    expect(ds.inputs.dataSync()[3]).toBeCloseTo(7.0, 6);
    expect(ds.source).toBe(p);
  });

  it("reads gzipped files, quoted fields, CRLF, a label by index and no header", () => {
    const p = join(dir, "q.csv.gz");
    writeFileSync(p, gzipSync('"1.5",b,"2"\r\n3,"a, with comma",4\r\n'));
    const ds = loadCsv(p, { header: false, label: 1 });
    expect(ds.classNames).toEqual(["a, with comma", "b"]);
    expect(ds.labels.toArray()).toEqual([1, 0]);
    expect(ds.inputs.toArray()).toEqual([[1.5, 2], [3, 4]]);
  });

  it("sorts numeric class names as numbers, takes integer and float labels", () => {
    const text = "x,y\n1,10\n2,2\n3,1\n";
    expect(parseCsv(text).classNames).toEqual(["1", "2", "10"]);
    const int = parseCsv(text.replace("10", "0"), { labelType: "integer", numClasses: 3 });
    expect(int.labels.toArray()).toEqual([0, 2, 1]);
    expect(int.numClasses).toBe(3);
    const reg = parseCsv("a,b,t\n1,2,0.5\n3,4,-1e-3\n", { labelType: "float" });
    expect(reg.labels.dtype).toBe("float32");
    expect(reg.labels.dataSync()[1]).toBeCloseTo(-1e-3, 8);
    expect(reg.numClasses).toBeUndefined();
  });

  it("selects feature columns", () => {
    const ds = parseCsv(IRIS, { label: "species", features: ["petal_length", 0] });
    expect(ds.featureNames).toEqual(["petal_length", "sepal_length"]);
    expect(Array.from(ds.inputs.dataSync().subarray(0, 2))).toEqual([Math.fround(1.4), Math.fround(5.1)]);
    expect(() => parseCsv(IRIS, { label: "kind" })).toThrow(/no label column named "kind"/);
    expect(() => parseCsv(IRIS, { label: "species", features: ["species"] })).toThrow(ConfigError);
  });

  it("refuses a missing value with the file, line and column", () => {
    const p = join(dir, "missing.csv");
    writeFileSync(p, IRIS.replace("7.0,3.2", "7.0,"));
    expect(() => loadCsv(p, { label: "species" })).toThrow(FileFormatError);
    expect(() => loadCsv(p, { label: "species" })).toThrow(new RegExp(`${p}:3: column "sepal_width" \\(2\\): missing value`));
    expect(() => parseCsv(IRIS.replace("4.9", "NA"), { label: "species", file: "f.csv" })).toThrow(/f\.csv:5: column "sepal_length" \(1\): missing value "NA"/);
    expect(() => parseCsv(IRIS.replace("virginica", ""), { label: "species", file: "f.csv" })).toThrow(/f\.csv:4: column "species" \(3\): missing label/);
  });

  it("refuses a non-number with the file and line", () => {
    expect(() => parseCsv(IRIS.replace("3.3", "3.3cm"), { label: "species", file: "f.csv" })).toThrow(/f\.csv:4: column "sepal_width" \(2\): "3\.3cm" is not a number/);
    expect(() => parseCsv("a,b\n0x10,1\n", { file: "g.csv" })).toThrow(/g\.csv:2: column "a" \(1\): "0x10" is not a number/);
  });

  it("refuses a wrong row length with the file and line", () => {
    expect(() => parseCsv(IRIS.replace("6.3,3.3,virginica,6.0", "6.3,3.3,virginica"), { label: "species", file: "f.csv" })).toThrow(
      /f\.csv:4: wrong row length: 3 fields, expected 4 \(as in the header\)/,
    );
    expect(() => parseCsv("1,2\n3,4,5\n", { header: false, file: "h.csv" })).toThrow(/h\.csv:2: wrong row length: 3 fields, expected 2/);
  });

  it("refuses a label out of range with the file and line", () => {
    expect(() => parseCsv(IRIS, { label: "species", classNames: ["setosa", "versicolor"], file: "f.csv" })).toThrow(
      /f\.csv:4: column "species" \(3\): label "virginica" is not one of the 2 classes \(setosa, versicolor\)/,
    );
    expect(() => parseCsv("x,y\n1,0\n2,3\n", { labelType: "integer", numClasses: 3, file: "i.csv" })).toThrow(/i\.csv:3: column "y" \(2\): label 3 is out of range \(expected \[0, 3\)\)/);
    expect(() => parseCsv("x,y\n1,0\n2,1.5\n", { labelType: "integer", file: "i.csv" })).toThrow(/i\.csv:3: .*label "1\.5" is not an integer class id/);
  });

  it("refuses unparseable CSV and empty files with the file and line", () => {
    expect(() => parseCsv('a,b\n1,"2\n3,4\n', { file: "u.csv" })).toThrow(/u\.csv:\d+: Quote Not Closed/);
    expect(() => parseCsv("", { file: "e.csv" })).toThrow(/e\.csv: no rows/);
    expect(() => parseCsv("a,b\n", { file: "e.csv" })).toThrow(/e\.csv: a header but no data rows/);
  });
});
