/**
 * Data augmentation for image batches [N, C, H, W], applied on the fly to training batches.
 *
 * Each transform draws its parameters per sample from the Generator it is handed (the same seed
 * gives the same batch) and applies them to every channel of that sample. Transforms are named by
 * plain JSON specs, so a config file can list them, and `augment` applies a list in order:
 *
 *   augment(x, [{ type: "randomCrop", padding: 2 }, { type: "randomRotation", degrees: 10 }], rng)
 *
 * Geometric transforms map each output pixel p back to a source point s(p) in the input and read
 * it with bilinear interpolation; source points outside the image read `fill` (default 0):
 *
 *   I(sx, sy) = (1-fx)(1-fy) I[y0][x0] + fx(1-fy) I[y0][x0+1] + (1-fx)fy I[y0+1][x0] + fx fy I[y0+1][x0+1]
 *   with x0 = floor(sx), fx = sx - x0 (likewise y).
 *
 * At integer source points the weights are exactly 1 and 0, so rotation by 0 and elastic
 * distortion with alpha 0 return the input bit for bit.
 *
 * Work is done on host typed arrays (one pass per transform), never per-element tensor ops.
 */
import { ConfigError, DTypeError, ShapeError, fmtShape } from "../errors/errors.js";
import type { Generator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { hostTensor, hostValues } from "./dataset.js";
import { preview } from "../errors/values.js";

/** Random flips: each axis asked for flips with probability p (default 0.5). */
export interface RandomFlipSpec {
  type: "randomFlip";
  /** Flip left-right (default true). */
  horizontal?: boolean;
  /** Flip upside down (default false: it changes the meaning of digits and most objects). */
  vertical?: boolean;
  p?: number;
}

/** Pad by `padding` pixels of `fill` on every side, then crop H x W at a uniform random offset. */
export interface RandomCropSpec {
  type: "randomCrop";
  padding: number;
  fill?: number;
}

/** Rotate about the image centre by an angle uniform in [-degrees, degrees] (or [min, max]); positive turns counter-clockwise. */
export interface RandomRotationSpec {
  type: "randomRotation";
  degrees: number | readonly [number, number];
  fill?: number;
}

/**
 * Elastic distortion (Simard, Steinkraus & Platt 2003): displacement fields dx, dy with values
 * uniform in [-1, 1] per pixel, each convolved with a normalized Gaussian of std `sigma` pixels and
 * scaled by `alpha`; output(x, y) = input(x + dx(x, y), y + dy(x, y)), bilinear. For 28x28 digits
 * the paper uses sigma = 4 and alpha = 34 (displacements of a few pixels that bend the strokes).
 */
export interface ElasticSpec {
  type: "elastic";
  alpha: number;
  sigma: number;
  fill?: number;
}

export type AugmentSpec = RandomFlipSpec | RandomCropSpec | RandomRotationSpec | ElasticSpec;

type FloatArray = Float32Array | Float64Array;
type Dims = { n: number; c: number; h: number; w: number };

/** Validates JSON augmentation specs (from a config file), naming the bad entry and field. */
export function parseAugmentSpecs(value: unknown, where = "augment"): AugmentSpec[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where}: expected an array of augmentation specs, got ${typeof value}`);
  return value.map((raw, i) => parseSpec(raw, `${where}[${i}]`));
}

function parseSpec(raw: unknown, where: string): AugmentSpec {
  if (raw === null || typeof raw !== "object") throw new ConfigError(`${where}: expected an object like { "type": "randomCrop", "padding": 2 }`);
  const s = raw as Record<string, unknown>;
  const num = (key: string, check: (v: number) => boolean, expect: string, optional: boolean): number | undefined => {
    const v = s[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) throw new ConfigError(`${where}: invalid ${key} ${preview(v) ?? "undefined"} (expected ${expect})`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = s[key];
    if (v !== undefined && typeof v !== "boolean") throw new ConfigError(`${where}: invalid ${key} ${preview(v)} (expected true or false)`);
    return v;
  };
  const allow = (keys: string[]): void => {
    for (const k of Object.keys(s)) {
      if (k !== "type" && !keys.includes(k)) throw new ConfigError(`${where}: unknown field "${k}" for ${String(s["type"])} (fields: ${keys.join(", ")})`);
    }
  };
  const withFill = <T extends object>(spec: T): T & { fill?: number } => {
    const fill = num("fill", () => true, "a number", true);
    return fill === undefined ? spec : { ...spec, fill };
  };
  const type = s["type"];
  switch (type) {
    case "randomFlip": {
      allow(["horizontal", "vertical", "p"]);
      const spec: RandomFlipSpec = { type };
      const h = bool("horizontal");
      const v = bool("vertical");
      const p = num("p", (x) => x >= 0 && x <= 1, "a probability in [0, 1]", true);
      if (h !== undefined) spec.horizontal = h;
      if (v !== undefined) spec.vertical = v;
      if (p !== undefined) spec.p = p;
      return spec;
    }
    case "randomCrop":
      allow(["padding", "fill"]);
      return withFill({ type, padding: num("padding", (x) => Number.isInteger(x) && x >= 0, "an integer >= 0", false)! });
    case "randomRotation": {
      allow(["degrees", "fill"]);
      const d = s["degrees"];
      if (Array.isArray(d)) {
        if (d.length !== 2 || !d.every((x) => typeof x === "number" && Number.isFinite(x)) || d[0] > d[1]) {
          throw new ConfigError(`${where}: invalid degrees ${preview(d)} (expected a number >= 0 or [min, max])`);
        }
        return withFill({ type, degrees: [d[0] as number, d[1] as number] as const });
      }
      return withFill({ type, degrees: num("degrees", (x) => x >= 0, "a number >= 0 or [min, max]", false)! });
    }
    case "elastic":
      allow(["alpha", "sigma", "fill"]);
      return withFill({
        type,
        alpha: num("alpha", (x) => x >= 0, "a number >= 0", false)!,
        sigma: num("sigma", (x) => x >= 0, "a number >= 0 (pixels)", false)!,
      });
    default:
      throw new ConfigError(`${where}: unknown augmentation type ${preview(type)} (expected randomFlip, randomCrop, randomRotation or elastic)`);
  }
}

/** Refuses augmentation of samples that are not images [C, H, W]; `where` starts the message. */
export function checkAugmentable(featureShape: readonly number[], where: string): void {
  if (featureShape.length !== 3) {
    throw new ConfigError(`${where}: needs image samples [C, H, W], the data's samples are [${featureShape.join(",")}]`);
  }
}

function dimsOf(shape: readonly number[], where: string): Dims {
  if (shape.length !== 4) throw new ShapeError(`${where}: expected an image batch [N, C, H, W], got ${fmtShape(shape)}`);
  const [n, c, h, w] = shape as [number, number, number, number];
  return { n, c, h, w };
}

/**
 * Applies `specs` in order to the image batch `x` [N, C, H, W] (float32 or float64), drawing from
 * `rng`; returns a new tensor of the same shape and dtype.
 */
export function augment(x: Tensor, specs: readonly AugmentSpec[], rng: Generator): Tensor {
  if (x.dtype === "int32") throw new DTypeError("augment: expected a float32 or float64 image batch, got int32");
  const valid = parseAugmentSpecs(specs);
  const out = augmentValues(hostValues(x) as FloatArray, x.shape, valid, rng);
  return hostTensor(out, x.shape, x.backend);
}

/** @internal augment on a host array; never writes to `values`. Used by the DataLoader. */
export function augmentValues(values: FloatArray, shape: readonly number[], specs: readonly AugmentSpec[], rng: Generator): FloatArray {
  const d = dimsOf(shape, "augment");
  let cur = values;
  for (const spec of specs) {
    switch (spec.type) {
      case "randomFlip":
        cur = flip(cur, d, spec, rng);
        break;
      case "randomCrop":
        cur = crop(cur, d, spec, rng);
        break;
      case "randomRotation":
        cur = rotate(cur, d, spec, rng);
        break;
      case "elastic":
        cur = elastic(cur, d, spec, rng);
        break;
      default:
        spec satisfies never;
    }
  }
  return cur === values ? values.slice() : cur;
}

/** Random flips of x [N, C, H, W]; see RandomFlipSpec. */
export function randomFlip(x: Tensor, rng: Generator, options: Omit<RandomFlipSpec, "type"> = {}): Tensor {
  return augment(x, [{ type: "randomFlip", ...options }], rng);
}

/** Random crop of x [N, C, H, W] after padding; see RandomCropSpec. */
export function randomCrop(x: Tensor, rng: Generator, options: Omit<RandomCropSpec, "type">): Tensor {
  return augment(x, [{ type: "randomCrop", ...options }], rng);
}

/** Random rotation of x [N, C, H, W]; see RandomRotationSpec. */
export function randomRotation(x: Tensor, rng: Generator, options: Omit<RandomRotationSpec, "type">): Tensor {
  return augment(x, [{ type: "randomRotation", ...options }], rng);
}

/** Elastic distortion of x [N, C, H, W]; see ElasticSpec. */
export function elasticDistortion(x: Tensor, rng: Generator, options: Omit<ElasticSpec, "type">): Tensor {
  return augment(x, [{ type: "elastic", ...options }], rng);
}

function flip(src: FloatArray, { n, c, h, w }: Dims, spec: RandomFlipSpec, rng: Generator): FloatArray {
  const p = spec.p ?? 0.5;
  const horizontal = spec.horizontal ?? true;
  const vertical = spec.vertical ?? false;
  const out = src.slice();
  const plane = h * w;
  for (let s = 0; s < n; s++) {
    // both draws happen whatever the outcome, so the stream does not depend on the data
    const fh = horizontal && rng.uniform() < p;
    const fv = vertical && rng.uniform() < p;
    if (!fh && !fv) continue;
    for (let ch = 0; ch < c; ch++) {
      const base = (s * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const sy = fv ? h - 1 - y : y;
        for (let x = 0; x < w; x++) out[base + y * w + x] = src[base + sy * w + (fh ? w - 1 - x : x)]!;
      }
    }
  }
  return out;
}

function crop(src: FloatArray, { n, c, h, w }: Dims, spec: RandomCropSpec, rng: Generator): FloatArray {
  const pad = spec.padding;
  const fill = spec.fill ?? 0;
  const out = src.slice();
  const plane = h * w;
  for (let s = 0; s < n; s++) {
    // the crop window starts at (dy, dx) in the padded image: output(y, x) = input(y + oy, x + ox)
    // with (oy, ox) = (dy - pad, dx - pad); each output row is one copied span plus fill at its ends
    const oy = rng.int(2 * pad + 1) - pad;
    const ox = rng.int(2 * pad + 1) - pad;
    const x0 = Math.max(0, -ox);
    const x1 = Math.min(w, w - ox);
    for (let ch = 0; ch < c; ch++) {
      const base = (s * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const row = base + y * w;
        const sy = y + oy;
        if (sy < 0 || sy >= h || x1 <= x0) {
          out.fill(fill, row, row + w);
          continue;
        }
        out.fill(fill, row, row + x0);
        out.set(src.subarray(base + sy * w + x0 + ox, base + sy * w + x1 + ox), row + x0);
        out.fill(fill, row + x1, row + w);
      }
    }
  }
  return out;
}

/** Bilinear read of one plane at (sx, sy); points outside the plane read `fill`. */
function bilinear(src: FloatArray, base: number, h: number, w: number, sx: number, sy: number, fill: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
    // the common case, all four neighbours inside: no bounds checks
    const i = base + y0 * w + x0;
    const top = fx === 0 ? src[i]! : (1 - fx) * src[i]! + fx * src[i + 1]!;
    if (fy === 0) return top;
    const bottom = fx === 0 ? src[i + w]! : (1 - fx) * src[i + w]! + fx * src[i + w + 1]!;
    return (1 - fy) * top + fy * bottom;
  }
  const v00 = pixel(src, base, h, w, y0, x0, fill);
  const top = fx === 0 ? v00 : (1 - fx) * v00 + fx * pixel(src, base, h, w, y0, x0 + 1, fill);
  if (fy === 0) return top;
  const v10 = pixel(src, base, h, w, y0 + 1, x0, fill);
  const bottom = fx === 0 ? v10 : (1 - fx) * v10 + fx * pixel(src, base, h, w, y0 + 1, x0 + 1, fill);
  return (1 - fy) * top + fy * bottom;
}

function pixel(src: FloatArray, base: number, h: number, w: number, y: number, x: number, fill: number): number {
  return y >= 0 && y < h && x >= 0 && x < w ? src[base + y * w + x]! : fill;
}

function rotate(src: FloatArray, { n, c, h, w }: Dims, spec: RandomRotationSpec, rng: Generator): FloatArray {
  const [lo, hi] = typeof spec.degrees === "number" ? [-spec.degrees, spec.degrees] : spec.degrees;
  const fill = spec.fill ?? 0;
  const out = src.slice();
  const plane = h * w;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let s = 0; s < n; s++) {
    const theta = ((lo + (hi - lo) * rng.uniform()) * Math.PI) / 180;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    // image rows grow downwards, so a counter-clockwise turn on screen sends the source point
    // (cx + dx cos - dy sin, cy + dx sin + dy cos) to the output point (cx + dx, cy + dy)
    for (let ch = 0; ch < c; ch++) {
      const base = (s * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const dy = y - cy;
        for (let x = 0; x < w; x++) {
          const dx = x - cx;
          out[base + y * w + x] = bilinear(src, base, h, w, cx + dx * cos - dy * sin, cy + dx * sin + dy * cos, fill);
        }
      }
    }
  }
  return out;
}

/** The normalized Gaussian kernel of std sigma, radius ceil(3 sigma) (sigma 0: the identity). */
function gaussianKernel(sigma: number): Float64Array {
  if (sigma === 0) return Float64Array.of(1);
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  let total = 0;
  for (let i = -r; i <= r; i++) total += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= total;
  return k;
}

/** Separable Gaussian blur of an h x w field, edges extended by their nearest value. */
function blur(field: Float64Array, h: number, w: number, k: Float64Array): Float64Array {
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  // one padded line at a time, so the inner loop needs no clamping
  const line = new Float64Array(Math.max(h, w) + 2 * r);
  for (let y = 0; y < h; y++) {
    for (let i = 0; i < w + 2 * r; i++) line[i] = field[y * w + Math.min(w - 1, Math.max(0, i - r))]!;
    for (let x = 0; x < w; x++) tmp[y * w + x] = convolveAt(line, x + r, k, r);
  }
  for (let x = 0; x < w; x++) {
    for (let i = 0; i < h + 2 * r; i++) line[i] = tmp[Math.min(h - 1, Math.max(0, i - r)) * w + x]!;
    for (let y = 0; y < h; y++) out[y * w + x] = convolveAt(line, y + r, k, r);
  }
  return out;
}

/** sum_t k[t] line[c - r + t], using the kernel's symmetry k[r - j] = k[r + j] to halve the products. */
function convolveAt(line: Float64Array, c: number, k: Float64Array, r: number): number {
  let acc = k[r]! * line[c]!;
  for (let j = 1; j <= r; j++) acc += k[r + j]! * (line[c - j]! + line[c + j]!);
  return acc;
}

function elastic(src: FloatArray, { n, c, h, w }: Dims, spec: ElasticSpec, rng: Generator): FloatArray {
  const fill = spec.fill ?? 0;
  const kernel = gaussianKernel(spec.sigma);
  const out = src.slice();
  const plane = h * w;
  const ux = new Float64Array(plane);
  const uy = new Float64Array(plane);
  for (let s = 0; s < n; s++) {
    // uniform in [-1, 1) from one 32-bit draw each (the fields are smoothed; 32 bits are plenty)
    for (let i = 0; i < plane; i++) ux[i] = rng.nextUint32() / 2147483648 - 1;
    for (let i = 0; i < plane; i++) uy[i] = rng.nextUint32() / 2147483648 - 1;
    const dx = blur(ux, h, w, kernel);
    const dy = blur(uy, h, w, kernel);
    for (let ch = 0; ch < c; ch++) {
      const base = (s * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = y * w + x;
          out[base + i] = bilinear(src, base, h, w, x + spec.alpha * dx[i]!, y + spec.alpha * dy[i]!, fill);
        }
      }
    }
  }
  return out;
}
