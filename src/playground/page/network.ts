/**
 * "Train a network in the page": small 2-D data sets generated from the library's seeded
 * generator (or a 600-digit sample of MNIST fetched beside the page), a model built from the page's choices (buildSequential), trained by the library's own
 * fit with a callback that reports each epoch, a probe of the per-layer gradient norms (a backward
 * pass over the training set, every few epochs), and a diagnosis from what was measured:
 *
 *   a non-finite loss, or an epoch's loss 1.5x above the best before it -> learning rate too high
 *   the first layer's gradient < 1e-3 x the last layer's               -> vanishing gradients
 *   the first layer's gradient > 1e3 x the last layer's                -> exploding gradients
 *   train accuracy below 90%                                           -> high bias
 *   dev accuracy 10 points below train accuracy                        -> high variance
 */
import {
  Generator, NonFiniteError, buildSequential, createDataset, createOptimizer, crossEntropy, l2Penalty, noGrad,
  randn, softmax, split, tensor, fit, takeRows, predictClasses, type Dataset, type EpochLog, type InitName, type LayerSpec, type OptimizerName, type Sequential, type StepLog, type Tensor,
} from "../../index.js";

export type DataName = "spirals" | "moons" | "circles" | "digits";
export const DATA_NAMES: readonly DataName[] = ["spirals", "moons", "circles", "digits"];
type PlaneName = Exclude<DataName, "digits">;

/**
 * A sample of the digits (digits.json beside the page, written by the build from the mnist
 * package: 600 digits, 14x14): inputs [N, 196] in [0, 1], ten classes.
 */
export async function loadDigits(url = "digits.json"): Promise<Dataset> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: the server answered ${res.status}`);
  const json = (await res.json()) as { side: number; labels: number[]; pixels: string };
  const bytes = Uint8Array.from(atob(json.pixels), (ch) => ch.charCodeAt(0));
  const n = json.labels.length, size = json.side * json.side;
  if (bytes.length !== n * size) throw new Error(`${url}: ${bytes.length} pixels for ${n} digits of ${json.side}x${json.side}`);
  const xs = Float32Array.from(bytes, (b) => b / 255);
  return createDataset(tensor(xs, { shape: [n, size] }), tensor(Int32Array.from(json.labels), { shape: [n], dtype: "int32" }), {
    numClasses: 10, classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], source: url,
  });
}

/** n points of a 2-class problem in [-1.5, 1.5]², with gaussian noise of the given scale. */
export function makeData(name: PlaneName, n: number, noise: number, seed: number): Dataset {
  const rng = new Generator(seed);
  const e = randn([n, 2], { rng }).dataSync();
  const u = randn([n], { rng }).dataSync();
  const xs = new Float32Array(n * 2), ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = (i >> 1) / (n / 2);
    let x: number, y: number;
    if (name === "spirals") {
      const r = 0.15 + 1.2 * t, a = 3.5 * Math.PI * t + c * Math.PI;
      [x, y] = [r * Math.cos(a), r * Math.sin(a)];
    } else if (name === "moons") {
      const a = Math.PI * t;
      [x, y] = c ? [1 - Math.cos(a) - 0.5, 0.25 - Math.sin(a)] : [Math.cos(a) - 0.5, Math.sin(a) - 0.25];
    } else {
      const a = 2 * Math.PI * Math.abs(u[i]! % 1), r = c ? 1.2 : 0.5;
      [x, y] = [r * Math.cos(a), r * Math.sin(a)];
    }
    xs[2 * i] = x + noise * e[2 * i]!;
    xs[2 * i + 1] = y + noise * e[2 * i + 1]!;
    ys[i] = c;
  }
  return createDataset(tensor(xs, { shape: [n, 2] }), tensor(ys, { shape: [n], dtype: "int32" }), { numClasses: 2, source: name });
}

export interface NetworkChoice {
  data: DataName;
  noise: number;
  hiddenLayers: number;
  width: number;
  activation: "relu" | "tanh" | "sigmoid";
  init: InitName;
  optimizer: OptimizerName;
  lr: number;
  l2: number;
  epochs: number;
  batchSize: number;
  seed: number;
}

export function buildNetwork(c: NetworkChoice, inputs: number, classes: number, rng: Generator): Sequential {
  const specs: LayerSpec[] = [];
  for (let i = 0; i < c.hiddenLayers; i++) specs.push({ type: "linear", outFeatures: c.width, weightInit: c.init }, { type: c.activation });
  specs.push({ type: "linear", outFeatures: classes });
  return buildSequential(specs, { inputShape: [inputs], rng });
}

/** L2 norm of each Linear layer's weight gradient over the whole of `ds`, first layer first. */
export function layerGradNorms(model: Sequential, ds: Dataset, l2: number): { name: string; norm: number }[] {
  let loss = crossEntropy(model.forward(ds.inputs), ds.labels);
  if (l2 > 0) loss = loss.add(l2Penalty(model, l2));
  loss.backward();
  const out: { name: string; norm: number }[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!name.endsWith("weight") || !p.grad) continue;
    const g = p.grad.dataSync();
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    out.push({ name, norm: Math.sqrt(s) });
  }
  for (const [, p] of model.namedParameters()) p.grad = null;
  return out;
}

/** The model's output on x in eval mode (dropout and batch norm as at test time), then back to training. */
function evalForward(model: Sequential, x: Tensor): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return model.forward(x);
  } finally {
    if (wasTraining) model.train();
  }
}

/** The model's probability of class 1 on a gw x gh grid over [-2, 2]², top row first. */
export function boundaryGrid(model: Sequential, gw: number, gh: number): Float32Array {
  const xs = new Float32Array(gw * gh * 2);
  for (let j = 0; j < gh; j++) for (let i = 0; i < gw; i++) {
    xs[2 * (j * gw + i)] = -2 + (4 * (i + 0.5)) / gw;
    xs[2 * (j * gw + i) + 1] = 2 - (4 * (j + 0.5)) / gh;
  }
  const p = noGrad(() => softmax(evalForward(model, tensor(xs, { shape: [gw * gh, 2] })), 1).dataSync());
  const out = new Float32Array(gw * gh);
  for (let k = 0; k < out.length; k++) out[k] = p[2 * k + 1]!;
  return out;
}

export interface Diagnosis {
  code: "lrTooHigh" | "vanishingGradients" | "explodingGradients" | "highBias" | "highVariance" | "healthy";
  message: string;
}

/** `initialLoss` is the loss of the first step, before any update. */
export function diagnose(
  initialLoss: number, epochs: readonly EpochLog[], norms: readonly { name: string; norm: number }[], failure: string | null, lr: number,
): Diagnosis {
  if (failure !== null) {
    return { code: "lrTooHigh", message: `learning rate too high: ${failure} Try lr ${lr / 10} (÷10), or clip gradients.` };
  }
  let best = initialLoss, worst = 0;
  for (const e of epochs) {
    if (e.trainLoss > 1.5 * best && e.trainLoss - best > 0.05) worst = Math.max(worst, e.trainLoss);
    best = Math.min(best, e.trainLoss);
  }
  if (worst > 0) {
    return {
      code: "lrTooHigh",
      message: `learning rate too high: the loss started at ${initialLoss.toFixed(3)} and climbed to ${worst.toPrecision(3)} instead of coming down. Try lr ${lr / 10} (÷10).`,
    };
  }
  if (norms.length >= 2) {
    const r = ratio(norms);
    if (r < 1e-3) {
      return {
        code: "vanishingGradients",
        message: `vanishing gradients: the first layer's gradient norm (${norms[0]!.norm.toExponential(1)}) is ${(1 / r).toExponential(1)}x smaller than the last layer's: the early layers barely learn. Use ReLU, He initialization, fewer layers or batch norm.`,
      };
    }
    if (r > 1e3) {
      return { code: "explodingGradients", message: `exploding gradients: the first layer's gradient is ${r.toExponential(1)}x the last layer's. Lower the learning rate, clip gradients, or use Xavier/He initialization.` };
    }
  }
  const last = epochs[epochs.length - 1];
  const train = last?.trainAccuracy ?? 0, dev = last?.devAccuracy ?? train;
  if (train < 0.9) return { code: "highBias", message: `high bias: train accuracy ${(100 * train).toFixed(1)}%. Use a bigger network, or train longer.` };
  if (train - dev > 0.1) return { code: "highVariance", message: `high variance: dev accuracy ${(100 * dev).toFixed(1)}% vs train ${(100 * train).toFixed(1)}%. Add L2 regularization or more data.` };
  return { code: "healthy", message: `learning well: train accuracy ${(100 * train).toFixed(1)}%, dev ${(100 * dev).toFixed(1)}%.` };
}

/** first layer's gradient norm / last layer's */
function ratio(norms: readonly { name: string; norm: number }[]): number {
  return norms[0]!.norm / Math.max(norms[norms.length - 1]!.norm, 1e-300);
}

export interface TrainUpdate {
  epoch: EpochLog;
  norms: { name: string; norm: number }[];
  /** for the 2-D data sets: P(class 1) on a 60 x 60 grid; for the digits, null */
  boundary: Float32Array | null;
  /** for the digits: the model's class for each of the first 40 dev digits */
  predictions: Int32Array | null;
}

/** Trains the chosen network with fit; `onEpoch` sees every epoch (and may return a promise to let the page paint). */
export async function trainNetwork(
  c: NetworkChoice, onEpoch: (u: TrainUpdate, train: Dataset, dev: Dataset) => Promise<void>, signal: AbortSignal,
): Promise<{ epochs: EpochLog[]; norms: { name: string; norm: number }[]; failure: string | null; diagnosis: Diagnosis }> {
  const digits = c.data === "digits";
  const all = c.data === "digits" ? await loadDigits() : makeData(c.data, 400, c.noise, c.seed);
  const { train, dev } = split(all, digits ? { train: 450, dev: 150, test: 0, seed: c.seed, stratify: true } : { train: 300, dev: 100, test: 0, seed: c.seed, stratify: true });
  const rng = new Generator(c.seed);
  const model = buildNetwork(c, all.featureShape[0]!, all.numClasses!, rng);
  const sample = digits ? takeRows(dev.inputs, Array.from({ length: 40 }, (_, i) => i)) : null;
  const optimizer = createOptimizer(c.optimizer, model, { lr: c.lr });
  const epochs: EpochLog[] = [];
  let norms = layerGradNorms(model, train, c.l2);
  let pending: Promise<void> = Promise.resolve();
  let initialLoss = NaN;
  const reporter = {
    name: "playground",
    onEpochEnd: (_ctx: unknown, log: EpochLog) => {
      epochs.push(log);
      if (log.epoch % 5 === 4 || log.epoch === c.epochs - 1) norms = layerGradNorms(model, train, c.l2);
      const predictions = sample ? predictClasses(noGrad(() => evalForward(model, sample))) : null;
      pending = onEpoch({ epoch: log, norms, boundary: digits ? null : boundaryGrid(model, 60, 60), predictions }, train, dev);
    },
    // the page paints between epochs: fit waits for the last epoch's drawing before going on
    onBatchEnd: (_ctx: unknown, log: StepLog) => {
      if (log.step === 0) initialLoss = log.loss;
      return pending.then(() => { pending = Promise.resolve(); });
    },
  };
  let failure: string | null = null;
  try {
    await fit(model, {
      train, dev, loss: crossEntropy, optimizer, epochs: c.epochs, batchSize: c.batchSize, seed: c.seed, signal, modelRng: rng,
      regularization: c.l2 > 0 ? (m) => l2Penalty(m as Sequential, c.l2) : undefined,
      callbacks: [reporter],
      log: () => {},
    });
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    failure = e.message.split("; ")[0] + ".";
  }
  await pending;
  return { epochs, norms, failure, diagnosis: diagnose(initialLoss, epochs, norms, failure, c.lr) };
}
