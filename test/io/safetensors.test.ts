/**
 * safetensors: bytes the reference writer produces (built by hand from the spec), round trips of
 * every dtype, conversion of PyTorch's other dtypes, and every kind of damaged file.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError, FileFormatError, Tensor, decodeSafetensors, encodeSafetensors, fromValues, readSafetensors, tensor,
  writeSafetensors,
} from "../../src/node.js";

const dir = mkdtempSync(join(tmpdir(), "descent-safetensors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string): number[] => [...Buffer.from(s, "utf8")];
const values = (t: Tensor | undefined): number[] => Array.from(t!.dataSync());
const decode = (bytes: Uint8Array | number[]) => decodeSafetensors(Uint8Array.from(bytes), { source: "test.safetensors" });

/** Assembles a file: the 8-byte little-endian length, the header text as given, the data. */
function file(headerText: string, data: number[] | Uint8Array): Uint8Array {
  const h = Buffer.from(headerText, "utf8");
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A header object serialized compactly and padded to 8 bytes like the reference writer. */
function headerOf(h: object): string {
  const s = JSON.stringify(h);
  return s + " ".repeat((8 - (Buffer.byteLength(s) % 8)) % 8);
}

function expectFormatError(fn: () => unknown, ...fragments: (string | RegExp)[]): FileFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FileFormatError);
  const msg = (caught as Error).message;
  expect(msg).toContain("test.safetensors");
  for (const f of fragments) {
    if (typeof f === "string") expect(msg).toContain(f);
    else expect(msg).toMatch(f);
  }
  return caught as FileFormatError;
}

// safetensors.torch.save_file({"a": torch.tensor([[1., 2.], [3., 4.]]), "b": torch.tensor([1, 2, 3], dtype=torch.int32)})
// The writer sorts by dtype (F32 ranks above I32), then name; offsets run contiguously from 0.
// The compact header is 112 bytes, already a multiple of 8, so it gets no padding spaces.
const TORCH_HEADER = `{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I32","shape":[3],"data_offsets":[16,28]}}`;
const TORCH_DATA = [
  0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, // 1.0f 2.0f 3.0f 4.0f
  0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, // 1 2 3 (int32)
];
const TORCH_FILE = Uint8Array.from([112, 0, 0, 0, 0, 0, 0, 0, ...ascii(TORCH_HEADER), ...TORCH_DATA]);

// The same with metadata={"format": "pt"} (what transformers passes): "__metadata__" comes first,
// and the 143-byte header is padded with one space to 144.
const TORCH_META_HEADER = `{"__metadata__":{"format":"pt"},${TORCH_HEADER.slice(1)} `;
const TORCH_META_FILE = Uint8Array.from([144, 0, 0, 0, 0, 0, 0, 0, ...ascii(TORCH_META_HEADER), ...TORCH_DATA]);

const torchTensors = () => ({ a: tensor([[1, 2], [3, 4]]), b: tensor([1, 2, 3], { dtype: "int32" }) });

describe("the reference format", () => {
  it("reads the bytes safetensors.torch.save_file writes", () => {
    expect(TORCH_HEADER.length).toBe(112);
    const { tensors, metadata } = decode(TORCH_FILE);
    expect(Object.keys(tensors)).toEqual(["a", "b"]);
    expect(tensors["a"]!.dtype).toBe("float32");
    expect([...tensors["a"]!.shape]).toEqual([2, 2]);
    expect(values(tensors["a"])).toEqual([1, 2, 3, 4]);
    expect(tensors["b"]!.dtype).toBe("int32");
    expect([...tensors["b"]!.shape]).toEqual([3]);
    expect(values(tensors["b"])).toEqual([1, 2, 3]);
    expect(metadata).toEqual({});
  });

  it("writes those same bytes, whatever order the tensors are given in", () => {
    expect(encodeSafetensors(torchTensors())).toEqual(TORCH_FILE);
    const { a, b } = torchTensors();
    expect(encodeSafetensors({ b, a })).toEqual(TORCH_FILE);
  });

  it("reads and writes __metadata__ first, padding the header with spaces to a multiple of 8", () => {
    expect(TORCH_META_HEADER.length).toBe(144);
    const { tensors, metadata } = decode(TORCH_META_FILE);
    expect(metadata).toEqual({ format: "pt" });
    expect(values(tensors["a"])).toEqual([1, 2, 3, 4]);
    expect(encodeSafetensors(torchTensors(), { format: "pt" })).toEqual(TORCH_META_FILE);
  });

  it("pads like the reference's own serialization tests", () => {
    // safetensors' test_serialization_forced_alignement: "attn0", F32 [1,1,2,3] = 0..5: 65 header bytes + 7 spaces
    const bytes = encodeSafetensors({ attn0: tensor([0, 1, 2, 3, 4, 5], { shape: [1, 1, 2, 3] }) });
    const header = `{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}`;
    expect([...bytes.subarray(0, 8)]).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(Buffer.from(bytes.subarray(8, 80)).toString("utf8")).toBe(header + " ".repeat(7));
    expect([...bytes.subarray(80, 88)]).toEqual([0, 0, 0, 0, 0, 0, 0x80, 0x3f]);
    expect(bytes.length).toBe(8 + 72 + 24);
    // test_empty: no tensors, with and without metadata
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii("{}      ")]);
    expect([...encodeSafetensors({}, { framework: "pt" })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, ...ascii(`{"__metadata__":{"framework":"pt"}}     `),
    ]);
    expect(decode(encodeSafetensors({}, { framework: "pt" }))).toEqual({ tensors: {}, metadata: { framework: "pt" } });
  });

  it("orders tensors by dtype (F64, F32, I32) and then by name bytes, as the reference writer does", () => {
    const bytes = encodeSafetensors({
      i: tensor([7], { dtype: "int32" }),
      f: tensor([1, 2]),
      d: tensor([3], { dtype: "float64" }),
      Z: tensor([4]),
      "é": tensor([5]),
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Record<string, { data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual(["d", "Z", "f", "é", "i"]);
    expect(Object.values(header).map((e) => e.data_offsets)).toEqual([[0, 8], [8, 12], [12, 20], [20, 24], [24, 28]]);
    expect(n % 8).toBe(0);
  });

  it("accepts tensors listed in any order in the header, as the reference reader does", () => {
    const h = `{"b":{"dtype":"I32","shape":[3],"data_offsets":[16,28]},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`;
    const { tensors } = decode(file(h, TORCH_DATA));
    expect(values(tensors["a"])).toEqual([1, 2, 3, 4]);
    expect(values(tensors["b"])).toEqual([1, 2, 3]);
  });
});

describe("round trips", () => {
  it("float32 keeps every bit: NaN, -0, infinities, subnormals, extremes", () => {
    const v = new Float32Array([NaN, -0, 0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, -1.5, 0.1]);
    const t = fromValues(v, [3, 3]);
    const back = decode(encodeSafetensors({ w: t })).tensors["w"]!;
    expect(back.dtype).toBe("float32");
    expect([...back.shape]).toEqual([3, 3]);
    expect(new Uint8Array((back.dataSync() as Float32Array).buffer)).toEqual(new Uint8Array(v.buffer));
  });

  it("float64 keeps values float32 cannot hold", () => {
    const v = new Float64Array([0.1, Math.PI, -1e300, 5e-324, NaN, -0]);
    const back = decode(encodeSafetensors({ x: fromValues(v, [2, 3]) })).tensors["x"]!;
    expect(back.dtype).toBe("float64");
    expect(Object.is(back.dataSync()[5], -0)).toBe(true);
    expect(new Uint8Array((back.dataSync() as Float64Array).buffer)).toEqual(new Uint8Array(v.buffer));
  });

  it("int32 keeps the extremes", () => {
    const v = new Int32Array([-2147483648, 2147483647, 0, -1, 42]);
    const back = decode(encodeSafetensors({ y: fromValues(v, [5]) })).tensors["y"]!;
    expect(back.dtype).toBe("int32");
    expect(values(back)).toEqual([...v]);
  });

  it("scalars, empty tensors, odd names and a large tensor, through a file", () => {
    const big = new Float32Array(100_003).map((_, i) => Math.sin(i) * i);
    const tensors = {
      "layers.0.weight": fromValues(big, [100_003]),
      scalar: tensor(2.5),
      empty: fromValues(new Float32Array(0), [0, 3]),
      emptyInt: fromValues(new Int32Array(0), [2, 0]),
      "ünï cødé ✓": tensor([1], { dtype: "float64" }),
      ["__proto__"]: tensor([9], { dtype: "int32" }),
    } as Record<string, Tensor>;
    const path = join(dir, "mixed.safetensors");
    writeSafetensors(path, tensors, { note: "hello", json: '{"nested": [1, 2]}', empty: "" });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const { tensors: back, metadata } = readSafetensors(path);
    expect(metadata).toEqual({ note: "hello", json: '{"nested": [1, 2]}', empty: "" });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    expect(new Float32Array(back["layers.0.weight"]!.dataSync())).toEqual(big);
    expect([...back["scalar"]!.shape]).toEqual([]);
    expect(values(back["scalar"])).toEqual([2.5]);
    expect([...back["empty"]!.shape]).toEqual([0, 3]);
    expect(back["emptyInt"]!.dtype).toBe("int32");
    expect(values(back["ünï cødé ✓"])).toEqual([1]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")!.value).toBeInstanceOf(Tensor);
  });

  it("refuses what it cannot write, before writing anything", () => {
    const path = join(dir, "refused.safetensors");
    expect(() => writeSafetensors(path, { __metadata__: tensor([1]) })).toThrow(ConfigError);
    expect(() => writeSafetensors(path, { a: tensor([1]) }, { n: 1 as unknown as string })).toThrow(/metadata "n" is number/);
    expect(() => writeSafetensors(path, { a: [1, 2] as unknown as Tensor })).toThrow(/"a" is not a Tensor/);
    expect(readdirSync(dir).includes("refused.safetensors")).toBe(false);
  });
});

describe("PyTorch's other dtypes", () => {
  const one = (dtype: string, shape: number[], data: number[]) => {
    const bytes = file(headerOf({ t: { dtype, shape, data_offsets: [0, data.length] } }), data);
    return decode(bytes).tensors["t"]!;
  };
  const le = (n: number, bytes: number): number[] => {
    const out: number[] = [];
    let v = BigInt.asUintN(bytes * 8, BigInt(n));
    for (let i = 0; i < bytes; i++) {
      out.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return out;
  };

  it("F16 converts exactly to float32", () => {
    // 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal), inf, -inf, NaN, -0
    const halves = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000];
    const t = one("F16", [10], halves.flatMap((h) => le(h, 2)));
    expect(t.dtype).toBe("float32");
    const v = values(t);
    expect(v.slice(0, 8)).toEqual([1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity]);
    expect(Number.isNaN(v[8])).toBe(true);
    expect(Object.is(v[9], -0)).toBe(true);
  });

  it("BF16 converts exactly to float32", () => {
    // 1, -2, 3.140625, 1e38 rounded (0x7e97 -> 1.0043e38), smallest subnormal 0x0001
    const t = one("BF16", [5], [0x3f80, 0xc000, 0x4049, 0x7e97, 0x0001].flatMap((h) => le(h, 2)));
    expect(t.dtype).toBe("float32");
    const f = new Float32Array(new Uint32Array([0x7e970000, 0x00010000]).buffer);
    expect(values(t)).toEqual([1, -2, 3.140625, f[0], f[1]]);
  });

  it("integer dtypes convert to int32 by value", () => {
    expect(values(one("U8", [3], [0, 128, 255]))).toEqual([0, 128, 255]);
    expect(values(one("I8", [3], [0, 0x80, 0xff]))).toEqual([0, -128, -1]);
    expect(values(one("I16", [2], [...le(-32768, 2), ...le(1234, 2)]))).toEqual([-32768, 1234]);
    expect(values(one("U16", [1], le(65535, 2)))).toEqual([65535]);
    expect(values(one("U32", [1], le(2147483647, 4)))).toEqual([2147483647]);
    expect(values(one("BOOL", [3], [1, 0, 1]))).toEqual([1, 0, 1]);
    const labels = one("I64", [4], [3, -2147483648, 2147483647, -1].flatMap((x) => le(x, 8)));
    expect(labels.dtype).toBe("int32");
    expect(values(labels)).toEqual([3, -2147483648, 2147483647, -1]);
    expect(values(one("U64", [1], le(7, 8)))).toEqual([7]);
  });

  it("refuses integers that int32 cannot hold, naming the tensor and element", () => {
    expectFormatError(() => one("I64", [2], [...le(1, 8), ...le(2 ** 31, 8)]), `tensor "t" (I64): element 1 is 2147483648`, "int32");
    expectFormatError(() => one("I64", [1], le(-(2 ** 31) - 1, 8)), "element 0 is -2147483649");
    expectFormatError(() => one("U32", [1], le(2 ** 32 - 1, 4)), "element 0 is 4294967295");
    expectFormatError(() => one("U64", [1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "18446744073709551615");
    expectFormatError(() => one("BOOL", [2], [1, 2]), "element 1 is the byte 2");
  });
});

describe("damaged files", () => {
  const header = (h: object, data: number[] = []) => decode(file(headerOf(h), data));
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: "F32", shape, data_offsets: offsets });

  it("a file shorter than 8 bytes", () => {
    for (const n of [0, 1, 7]) expectFormatError(() => decode(TORCH_FILE.subarray(0, n)), `${n} bytes`, "8-byte");
  });

  it("a header length larger than the file", () => {
    const bytes = TORCH_FILE.slice();
    bytes[0] = 0;
    bytes[1] = 1; // 256 > 140
    expectFormatError(() => decode(bytes), "header length 256", "larger than the rest of the file (140 bytes)");
    const huge = TORCH_FILE.slice();
    huge[7] = 0xff; // about 1.8e19: must not be read as a small or negative number
    expectFormatError(() => decode(huge), "larger than the rest of the file");
  });

  it("a header that is not UTF-8 JSON, or not an object", () => {
    expectFormatError(() => decode(file("{]      ", [])), "not valid JSON", /at file byte 9|\{\]/);
    expectFormatError(() => decode(file(`{"a":1,}`, [])), "not valid JSON");
    const bad = file("{}      ", []);
    bad[8] = 0xff;
    expectFormatError(() => decode(bad), "not valid UTF-8");
    expectFormatError(() => decode(file("[1,2]   ", [])), "not an object", "an array");
    expectFormatError(() => decode(file("", [])), "header length 0");
  });

  it("unknown and unsupported dtypes", () => {
    expectFormatError(() => header({ w: { dtype: "F17", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), `tensor "w"`, `unknown dtype "F17"`);
    expectFormatError(() => header({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, [0]), "F8_E4M3 is not supported");
    expectFormatError(() => header({ w: { dtype: 3, shape: [1], data_offsets: [0, 4] } }), `"dtype" is number 3`);
  });

  it("shapes and offsets that disagree or are malformed", () => {
    expectFormatError(() => header({ w: f32([2, 2], [0, 12]) }, Array(12).fill(0)), "shape [2,2] of F32 needs 16 bytes", "[0,12] hold 12");
    expectFormatError(() => header({ w: f32([-1], [0, 4]) }), `"shape" must be an array of non-negative integers`);
    expectFormatError(() => header({ w: f32([1.5], [0, 4]) }), `"shape"`);
    expectFormatError(() => header({ w: { dtype: "F32", data_offsets: [0, 4] } }), `"shape"`);
    expectFormatError(() => header({ w: f32([1], [0]) }), `"data_offsets" must be [begin, end]`);
    expectFormatError(() => header({ w: f32([1], [0, "4"] as unknown as number[]) }), `"data_offsets"`);
    expectFormatError(() => header({ w: f32([0], [4, 0]) }), "end before they begin");
    expectFormatError(() => header({ w: [1, 2] }), `tensor "w": expected {dtype, shape, data_offsets}, found an array`);
    expectFormatError(() => header({ w: f32([2 ** 30, 2 ** 30], [0, 4]) }), "too large");
  });

  it("overlapping data, holes, out-of-bounds offsets and extra bytes", () => {
    const data8 = Array(8).fill(0);
    expectFormatError(() => header({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, data8), `tensor "b" data_offsets [4,8] overlap tensor "a"`);
    expectFormatError(() => header({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, Array(12).fill(0)), "data bytes 4..8", "hole before \"b\"");
    expectFormatError(() => header({ a: f32([1], [4, 8]) }, data8), "data bytes 0..4", "hole");
    expectFormatError(() => header({ a: f32([4], [0, 16]) }, data8), "run past the end of the file", "has 8 bytes", "truncated");
    expectFormatError(() => header({ a: f32([1], [0, 4]) }, data8), "4 bytes after the last tensor's data");
  });

  it("metadata that is not a map of strings", () => {
    expectFormatError(() => header({ __metadata__: { epoch: 3 } }), `"__metadata__" value "epoch" is number 3`, "must be strings");
    expectFormatError(() => header({ __metadata__: "pt" }), `"__metadata__" must be an object of strings`);
    expectFormatError(() => header({ __metadata__: ["pt"] }), "found an array");
  });

  it("truncated at every byte: always a FileFormatError, never a crash", () => {
    for (const bytes of [TORCH_FILE, TORCH_META_FILE]) {
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decode(bytes.subarray(0, n)), `cut at ${n}`).toThrow(FileFormatError);
      }
    }
    const err = expectFormatError(() => decode(TORCH_FILE.subarray(0, TORCH_FILE.length - 5)), "truncated");
    expect(err.message).toContain(`tensor "b"`);
  });

  it("flipped header bytes: a FileFormatError, or (a harmless flip such as a renamed tensor) the true values", () => {
    const originals = [JSON.stringify([1, 2, 3, 4]), JSON.stringify([1, 2, 3])];
    let refused = 0;
    for (let pos = 0; pos < 8 + 112; pos++) {
      for (const mask of [0x01, 0x02, 0x10, 0x20, 0x80, 0xff]) {
        const bytes = TORCH_FILE.slice();
        bytes[pos]! ^= mask;
        let result: ReturnType<typeof decode> | undefined;
        try {
          result = decode(bytes);
        } catch (e) {
          expect(e, `byte ${pos} ^ ${mask}`).toBeInstanceOf(FileFormatError);
          refused++;
          continue;
        }
        for (const t of Object.values(result.tensors)) expect(originals).toContain(JSON.stringify(values(t)));
      }
    }
    expect(refused).toBeGreaterThan(500);
  });

  it("names the file when reading from disk, including a missing one", () => {
    const path = join(dir, "cut.safetensors");
    writeFileSync(path, TORCH_FILE.subarray(0, 100));
    expect(() => readSafetensors(path)).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
    expect(() => readSafetensors(join(dir, "missing.safetensors"))).toThrow(FileFormatError);
    expect(() => readSafetensors(join(dir, "missing.safetensors"))).toThrow(/missing\.safetensors: cannot read the file/);
  });
});
