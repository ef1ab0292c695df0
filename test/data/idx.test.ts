import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { loadIdx, parseIdx, readIdx } from "../../src/data/idx.js";
import { FileFormatError } from "../../src/errors/errors.js";

/** The bytes of an IDX file: magic 00 00 type ndims, big-endian dims, then the data. */
function idx(type: number, shape: number[], data: number[], width = 1): Uint8Array {
  const head = 4 + 4 * shape.length;
  const bytes = new Uint8Array(head + data.length * width);
  const view = new DataView(bytes.buffer);
  bytes[2] = type;
  bytes[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  data.forEach((v, i) => {
    if (type === 0x08 || type === 0x09) view.setInt8(head + i, v);
    else if (type === 0x0b) view.setInt16(head + 2 * i, v, false);
    else if (type === 0x0c) view.setInt32(head + 4 * i, v, false);
    else if (type === 0x0d) view.setFloat32(head + 4 * i, v, false);
    else view.setFloat64(head + 8 * i, v, false);
  });
  return bytes;
}

const dir = mkdtempSync(join(tmpdir(), "descent-idx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

// three 2x3 images with pixels 0..17 scaled by 15, labels 2, 0, 9
const pixels = Array.from({ length: 18 }, (_, i) => i * 15);
const images = idx(0x08, [3, 2, 3], pixels);
const labels = idx(0x08, [3], [2, 0, 9]);

describe("IDX files", () => {
  it("loads images [N,1,H,W] scaled to [0,1] and int32 labels, plain and gzipped", () => {
    for (const gz of [false, true]) {
      const ds = loadIdx({
        images: file(`img${gz}.idx${gz ? ".gz" : ""}`, gz ? gzipSync(images) : images),
        labels: file(`lab${gz}.idx${gz ? ".gz" : ""}`, gz ? gzipSync(labels) : labels),
      });
      expect(ds.inputs.shape).toEqual([3, 1, 2, 3]);
      expect(ds.inputs.dtype).toBe("float32");
      expect(ds.labels.toArray()).toEqual([2, 0, 9]);
      expect(ds.numClasses).toBe(10);
      expect(ds.classNames?.[9]).toBe("9");
      const x = ds.inputs.dataSync();
      expect(x[1]).toBeCloseTo(15 / 255, 7);
      expect(x[17]).toBe(1);
    }
  });

  it("parses the wider types big-endian", () => {
    expect(Array.from(parseIdx(idx(0x0b, [2], [-300, 7], 2), "a").values)).toEqual([-300, 7]);
    expect(Array.from(parseIdx(idx(0x0c, [1, 2], [70000, -1], 4), "a").values)).toEqual([70000, -1]);
    expect(Array.from(parseIdx(idx(0x0d, [1], [1.5], 4), "a").values)).toEqual([1.5]);
    expect(Array.from(parseIdx(idx(0x0e, [1], [0.1], 8), "a").values)).toEqual([0.1]);
    expect(Array.from(parseIdx(idx(0x09, [2], [-2, 5]), "a").values)).toEqual([-2, 5]);
  });

  it("refuses a bad magic number with the file and byte offset 0", () => {
    const bad = images.slice();
    bad[0] = 0x1a;
    const p = file("badmagic.idx", bad);
    expect(() => readIdx(p)).toThrow(FileFormatError);
    expect(() => readIdx(p)).toThrow(new RegExp(`${p}: byte offset 0: bad magic number 0x1A000803`));
    const t = images.slice();
    t[2] = 0x07;
    expect(() => parseIdx(t, "t.idx")).toThrow(/t\.idx: byte offset 2: unknown IDX type code 0x07/);
  });

  it("refuses truncated data and headers with the offset where the file ends", () => {
    const p = file("trunc.idx.gz", gzipSync(images.subarray(0, images.length - 5)));
    expect(() => readIdx(p)).toThrow(/trunc\.idx\.gz \(decompressed\): byte offset 29: truncated data: shape \[3,2,3\] of uint8 needs 34 bytes/);
    expect(() => parseIdx(images.subarray(0, 9), "h.idx")).toThrow(/h\.idx: byte offset 9: truncated IDX header/);
    expect(() => parseIdx(Uint8Array.of(0, 0), "e.idx")).toThrow(/e\.idx: byte offset 2: truncated IDX header/);
    const extra = new Uint8Array(images.length + 2);
    extra.set(images);
    expect(() => parseIdx(extra, "x.idx")).toThrow(/x\.idx: byte offset 34: 2 unexpected bytes after the data/);
  });

  it("refuses damaged gzip data", () => {
    const gz = gzipSync(images);
    const p = file("damaged.idx.gz", gz.subarray(0, 12));
    expect(() => readIdx(p)).toThrow(/damaged\.idx\.gz: damaged gzip data/);
  });

  it("refuses wrong dimensions, a count mismatch and labels out of range", () => {
    const img = file("i.idx", images);
    const lab = file("l.idx", labels);
    const flat = file("flat.idx", idx(0x08, [18], pixels));
    expect(() => loadIdx({ images: flat, labels: lab })).toThrow(/flat\.idx: byte offset 3: wrong dimensions: images must be \[N, H, W\] or \[N, C, H, W\], the file holds \[18\]/);
    const lab2d = file("lab2d.idx", idx(0x08, [3, 1], [1, 2, 3]));
    expect(() => loadIdx({ images: img, labels: lab2d })).toThrow(/lab2d\.idx: byte offset 3: wrong dimensions: labels must be \[N\]/);
    const four = file("four.idx", idx(0x08, [4], [1, 2, 3, 4]));
    expect(() => loadIdx({ images: img, labels: four })).toThrow(/four\.idx: byte offset 4: 4 labels, but .*i\.idx \(byte offset 4\) holds 3 images/);
    const high = file("high.idx", idx(0x08, [3], [1, 12, 3]));
    expect(() => loadIdx({ images: img, labels: high })).toThrow(/high\.idx: byte offset 9: label 1 is 12, out of range for 10 classes/);
    expect(() => loadIdx({ images: img, labels: lab, numClasses: 5 })).toThrow(/byte offset 10: label 2 is 9, out of range for 5 classes/);
  });

  it("names a missing file", () => {
    expect(() => loadIdx({ images: join(dir, "nope.idx"), labels: join(dir, "nope2.idx") })).toThrow(/nope\.idx: cannot read the file/);
  });
});
