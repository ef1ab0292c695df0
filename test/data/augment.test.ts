import { describe, expect, it } from "vitest";
import { fromValues } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { augment, elasticDistortion, parseAugmentSpecs, randomCrop, randomFlip, randomRotation } from "../../src/data/augment.js";
import { loadMnist } from "../../src/data/mnist.js";
import { takeRows } from "../../src/data/dataset.js";
import { ConfigError } from "../../src/errors/errors.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** A batch [n, c, h, w] of random values in [0, 1). */
function noise(n: number, c: number, h: number, w: number, seed = 1): Tensor {
  const rng = new Generator(seed);
  const v = new Float32Array(n * c * h * w);
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform();
  return fromValues(v, [n, c, h, w]);
}
const vals = (t: Tensor): Float32Array => t.dataSync() as Float32Array;
const sum = (a: ArrayLike<number>, from = 0, to = a.length): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
};
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const ma = sum(a) / n;
  const mb = sum(b) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
/** 300 MNIST digits (every 33rd) with their labels, and the ten class-mean images of all 10,000. */
const mnist = (() => {
  let cache: { x: Tensor; y: Int32Array; centroids: Float64Array } | undefined;
  return () => {
    if (cache) return cache;
    const ds = loadMnist();
    const all = ds.inputs.dataSync();
    const labels = ds.labels.dataSync();
    const centroids = new Float64Array(10 * 784);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < ds.length; i++) {
      const c = labels[i]!;
      counts[c]! += 1;
      for (let p = 0; p < 784; p++) centroids[c * 784 + p]! += all[i * 784 + p]!;
    }
    for (let i = 0; i < centroids.length; i++) centroids[i]! /= counts[Math.floor(i / 784)]!;
    const rows = Array.from({ length: 300 }, (_, i) => i * 33);
    cache = { x: takeRows(ds.inputs, rows), y: Int32Array.from(rows, (r) => labels[r]!), centroids };
    return cache;
  };
})();
const digits = (): Tensor => mnist().x;

/** Accuracy of the nearest class-mean classifier: a crude reader that checks a digit still looks like its class. */
function centroidAccuracy(x: ArrayLike<number>): number {
  const { y, centroids } = mnist();
  let right = 0;
  for (let s = 0; s < y.length; s++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < 10; c++) {
      let d = 0;
      for (let p = 0; p < 784; p++) d += (x[s * 784 + p]! - centroids[c * 784 + p]!) ** 2;
      if (d < bestD) [best, bestD] = [c, d];
    }
    if (best === y[s]) right++;
  }
  return right / y.length;
}

describe("randomFlip", () => {
  it("flipped twice is the same image; flipped once mirrors left-right", () => {
    const x = noise(3, 2, 4, 5);
    const once = randomFlip(x, new Generator(0), { p: 1 });
    expect(vals(randomFlip(once, new Generator(9), { p: 1 }))).toEqual(vals(x));
    const a = vals(x);
    const b = vals(once);
    expect(b[(1 * 2 + 1) * 20 + 2 * 5 + 0]).toBe(a[(1 * 2 + 1) * 20 + 2 * 5 + 4]);
    expect(vals(randomFlip(x, new Generator(0), { p: 0 }))).toEqual(a);
  });

  it("flips vertically only when asked", () => {
    const x = noise(1, 1, 3, 3);
    const a = vals(x);
    const h = vals(randomFlip(x, new Generator(0), { p: 1 }));
    expect(h[0]).toBe(a[2]); // same row, mirrored
    const v = vals(randomFlip(x, new Generator(0), { p: 1, horizontal: false, vertical: true }));
    expect(Array.from(v.subarray(0, 3))).toEqual(Array.from(a.subarray(6, 9)));
  });

  it("flips about half the samples with p = 0.5, seeded", () => {
    const x = noise(200, 1, 2, 2);
    const f = vals(randomFlip(x, new Generator(4)));
    const a = vals(x);
    let flipped = 0;
    for (let s = 0; s < 200; s++) if (f[4 * s] !== a[4 * s]) flipped++;
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
    expect(vals(randomFlip(x, new Generator(4)))).toEqual(f);
  });
});

describe("randomCrop", () => {
  it("a crop with padding p is the image shifted by at most p: shifted back, it equals the original interior", () => {
    const p = 2;
    const [n, c, h, w] = [6, 2, 8, 7];
    const x = noise(n, c, h, w);
    const a = vals(x);
    const out = vals(randomCrop(x, new Generator(3), { padding: p }));
    const shifts = new Set<string>();
    for (let s = 0; s < n; s++) {
      // find the shift (oy, ox) with out(y, x) = in(y + oy, x + ox) wherever y + oy, x + ox lie inside
      const matches: string[] = [];
      for (let oy = -p; oy <= p; oy++) {
        for (let ox = -p; ox <= p; ox++) {
          let ok = true;
          for (let ch = 0; ch < c && ok; ch++) {
            const base = (s * c + ch) * h * w;
            for (let y = 0; y < h && ok; y++) {
              for (let xx = 0; xx < w && ok; xx++) {
                const sy = y + oy;
                const sx = xx + ox;
                const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                ok = out[base + y * w + xx] === (inside ? a[base + sy * w + sx] : 0);
              }
            }
          }
          if (ok) matches.push(`${oy},${ox}`);
        }
      }
      expect(matches.length).toBe(1);
      shifts.add(matches[0]!);
    }
    expect(shifts.size).toBeGreaterThan(1);
    expect(vals(randomCrop(x, new Generator(0), { padding: 0 }))).toEqual(a);
  });
});

describe("randomRotation", () => {
  it("rotation by 0 is the identity", () => {
    const x = noise(2, 3, 6, 5);
    expect(vals(randomRotation(x, new Generator(0), { degrees: 0 }))).toEqual(vals(x));
    expect(vals(randomRotation(x, new Generator(0), { degrees: [0, 0] }))).toEqual(vals(x));
  });

  it("rotation by 90 degrees turns the image counter-clockwise: out[y][x] = in[x][w-1-y]", () => {
    const x = noise(1, 1, 5, 5);
    const a = vals(x);
    const r = vals(randomRotation(x, new Generator(0), { degrees: [90, 90] }));
    for (let y = 0; y < 5; y++) for (let xx = 0; xx < 5; xx++) expect(r[y * 5 + xx]).toBeCloseTo(a[xx * 5 + (4 - y)]!, 5);
  });

  it("small rotations keep most of a digit's mass and its class", () => {
    const x = digits();
    const out = vals(randomRotation(x, new Generator(5), { degrees: 15 }));
    const a = vals(x);
    for (let s = 0; s < 300; s++) {
      const m0 = sum(a, s * 784, (s + 1) * 784);
      const m1 = sum(out, s * 784, (s + 1) * 784);
      expect(Math.abs(m1 - m0) / m0).toBeLessThan(0.1);
    }
    expect(centroidAccuracy(out)).toBeGreaterThan(centroidAccuracy(a) - 0.08);
  });
});

describe("elasticDistortion", () => {
  it("alpha 0 is the identity", () => {
    const x = noise(2, 2, 7, 6);
    expect(vals(elasticDistortion(x, new Generator(1), { alpha: 0, sigma: 4 }))).toEqual(vals(x));
  });

  it("Simard's alpha 34, sigma 4 bends digits but keeps their ink and their class; seeded", () => {
    const x = digits();
    const out = vals(elasticDistortion(x, new Generator(8), { alpha: 34, sigma: 4 }));
    const a = vals(x);
    expect(out).not.toEqual(a);
    // strokes get locally thinner or thicker; on average the ink changes little (it grows a few
    // percent: sampling through a random warp weights the ink by 1/det(Jacobian), whose mean is > 1)
    expect(Math.abs(sum(out) / sum(a) - 1)).toBeLessThan(0.1);
    // a nearest-class-mean reader (a crude one, sensitive to position) still recognizes the distorted
    // digits far above chance, and about as often as digits moved by up to 2 pixels, a change
    // everyone accepts as keeping the label
    const before = centroidAccuracy(a);
    const shifted = centroidAccuracy(vals(randomCrop(x, new Generator(8), { padding: 2 })));
    const after = centroidAccuracy(out);
    expect(before).toBeGreaterThan(0.7);
    expect(after).toBeGreaterThan(0.5);
    expect(after).toBeGreaterThan(shifted - 0.05);
    expect(vals(elasticDistortion(x, new Generator(8), { alpha: 34, sigma: 4 }))).toEqual(out);
  });

  it("a gentler field (alpha 8) keeps each digit's mass within 15% and its shape closely", () => {
    const x = digits();
    const out = vals(elasticDistortion(x, new Generator(3), { alpha: 8, sigma: 4 }));
    const a = vals(x);
    for (let s = 0; s < 300; s++) {
      const m0 = sum(a, s * 784, (s + 1) * 784);
      expect(Math.abs(sum(out, s * 784, (s + 1) * 784) - m0) / m0).toBeLessThan(0.15);
      expect(correlation(a.subarray(s * 784, (s + 1) * 784), out.subarray(s * 784, (s + 1) * 784))).toBeGreaterThan(0.7);
    }
  });
});

describe("augment", () => {
  it("composes JSON specs in order, seeded, as the individual transforms would", () => {
    const x = noise(4, 1, 6, 6);
    const specs = parseAugmentSpecs(JSON.parse('[{ "type": "randomCrop", "padding": 2 }, { "type": "randomFlip", "p": 1 }]'));
    const both = vals(augment(x, specs, new Generator(2)));
    const rng = new Generator(2);
    const stepwise = vals(randomFlip(randomCrop(x, rng, { padding: 2 }), rng, { p: 1 }));
    expect(both).toEqual(stepwise);
    expect(vals(augment(x, [], new Generator(0)))).toEqual(vals(x));
    expect(augment(x, specs, new Generator(0)).shape).toEqual([4, 1, 6, 6]);
  });

  it("refuses bad specs and inputs, naming the entry and field", () => {
    expect(() => parseAugmentSpecs([{ type: "randomCrop", padding: 2 }, { type: "blur" }])).toThrow(/augment\[1\]: unknown augmentation type "blur"/);
    expect(() => parseAugmentSpecs([{ type: "randomCrop" }])).toThrow(/augment\[0\]: invalid padding undefined/);
    expect(() => parseAugmentSpecs([{ type: "elastic", alpha: 34, sigma: 4, scale: 2 }])).toThrow(/unknown field "scale"/);
    expect(() => parseAugmentSpecs([{ type: "randomRotation", degrees: [10, -10] }])).toThrow(ConfigError);
    expect(() => parseAugmentSpecs({})).toThrow(/expected an array/);
    expect(() => augment(fromValues(new Float32Array(4), [2, 2]), [], new Generator(0))).toThrow(/expected an image batch \[N, C, H, W\], got \[2,2\]/);
  });
});
