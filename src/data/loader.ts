/**
 * The batch iterator. Each epoch visits every sample once, in an order reshuffled from the seed;
 * batches are built by copying rows with typed-array `subarray`/`set` into fresh arrays, and are
 * augmented on the fly when the loader is given augmentation specs (training sets only).
 *
 * Batch, mini-batch and stochastic gradient descent are the same loop:
 *   batchSize = N          batch gradient descent (one step per epoch)
 *   batchSize = 32..512    mini-batch gradient descent
 *   batchSize = 1          stochastic gradient descent
 *
 * Position as checkpoint state: the loader is an iterator over the *rest* of the current epoch.
 * `state()` returns { epoch, batchIndex, the generator state from which this epoch's order was
 * drawn, the augmentation generator's state, ... } as plain JSON; `setState` on a loader over the
 * same data redraws the same order and skips to the same batch, so a run stopped mid-epoch or at an
 * epoch boundary resumes with exactly the batches it would have seen.
 *
 *     for (let e = 0; e < epochs; e++) for (const { x, y } of loader) step(x, y);
 */
import { ConfigError } from "../errors/errors.js";
import { Generator, type GeneratorState } from "../tensor/random.js";
import { sizeOf } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { augmentValues, checkAugmentable, parseAugmentSpecs, type AugmentSpec } from "./augment.js";
import { copyRows, hostTensor, hostValues, type Dataset } from "./dataset.js";

export interface LoaderOptions {
  /** Samples per batch: N for batch GD, 32..512 for mini-batch GD, 1 for SGD. */
  batchSize: number;
  /** Reshuffle every epoch (default true); false visits samples in dataset order. */
  shuffle?: boolean | undefined;
  /** Seed of the shuffles and augmentations (default 0). */
  seed?: number | undefined;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean | undefined;
  /** Augmentations applied to each batch's images [B, C, H, W] (training sets only). */
  augment?: readonly AugmentSpec[] | undefined;
}

export interface Batch {
  /** Inputs [B, ...featureShape], the dataset's dtype. */
  readonly x: Tensor;
  /** Labels [B] (or [B, k]), the dataset's dtype. */
  readonly y: Tensor;
  /** The dataset rows in this batch. */
  readonly indices: Int32Array;
}

/** A loader's position, plain JSON: save it in a checkpoint, give it to setState to resume. */
export interface LoaderState {
  readonly type: "dataLoader";
  /** The epoch in progress (0-based). */
  readonly epoch: number;
  /** How many batches of this epoch have been handed out. */
  readonly batchIndex: number;
  readonly seed: number;
  /** The order generator's state before it drew this epoch's permutation. */
  readonly orderRng: GeneratorState;
  /** The augmentation generator's state now. */
  readonly augmentRng: GeneratorState;
  /** What the state is valid for: resuming on other data or settings is refused. */
  readonly length: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly augmentations: readonly AugmentSpec[];
  private epochIndex = 0;
  private batchIdx = 0;
  private orderRng: Generator;
  private augmentRng: Generator;
  private epochStart: GeneratorState;
  private order: Int32Array | null = null;

  constructor(dataset: Dataset, options: LoaderOptions) {
    const { batchSize, shuffle = true, dropLast = false, seed = 0 } = options;
    if (dataset.length === 0) throw new ConfigError("DataLoader: the dataset is empty");
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`DataLoader: invalid batchSize ${batchSize} (expected an integer >= 1)`);
    if (dropLast && batchSize > dataset.length) {
      throw new ConfigError(`DataLoader: batchSize ${batchSize} with dropLast leaves no batch from ${dataset.length} samples`);
    }
    if (!Number.isInteger(seed)) throw new ConfigError(`DataLoader: invalid seed ${seed} (expected an integer)`);
    const specs = parseAugmentSpecs(options.augment ?? [], "DataLoader augment");
    if (specs.length > 0) {
      if (dataset.role === "dev" || dataset.role === "test") {
        throw new ConfigError(`DataLoader: augmentation is for training only; this is the ${dataset.role} set`);
      }
      checkAugmentable(dataset.featureShape, "DataLoader: augmentation");
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.seed = seed;
    this.augmentations = specs;
    // two independent streams: the order does not depend on whether batches are augmented
    const root = new Generator(seed);
    this.orderRng = root.fork();
    this.augmentRng = root.fork();
    this.epochStart = this.orderRng.getState();
  }

  /** Batches per epoch: ceil(N / batchSize), or floor with dropLast. */
  get numBatches(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch in progress (or about to start), 0-based. */
  get epoch(): number {
    return this.epochIndex;
  }

  /** Batches of the current epoch already handed out. */
  get batchIndex(): number {
    return this.batchIdx;
  }

  /**
   * The remaining batches of the current epoch; when they run out the loader moves to the next
   * epoch, so `for (const b of loader)` once per epoch visits every epoch in turn.
   */
  *[Symbol.iterator](): Iterator<Batch> {
    if (this.batchIdx >= this.numBatches) this.nextEpoch();
    const order = this.epochOrder();
    while (this.batchIdx < this.numBatches) {
      const start = this.batchIdx * this.batchSize;
      const indices = order.slice(start, Math.min(start + this.batchSize, order.length));
      // counted before it is handed out: state() taken while the caller trains on it points past it
      this.batchIdx += 1;
      yield this.makeBatch(indices);
    }
    this.nextEpoch();
  }

  /** Builds the batch of the given dataset rows (augmented when the loader augments). */
  private makeBatch(indices: Int32Array): Batch {
    const ds = this.dataset;
    const n = ds.length;
    let x = copyRows(hostValues(ds.inputs), sizeOf(ds.featureShape), indices, n, "DataLoader");
    const y = copyRows(hostValues(ds.labels), sizeOf(ds.labels.shape.slice(1)), indices, n, "DataLoader");
    const xShape = [indices.length, ...ds.featureShape];
    if (this.augmentations.length > 0 && !(x instanceof Int32Array)) {
      x = augmentValues(x, xShape, this.augmentations, this.augmentRng);
    }
    return {
      x: hostTensor(x, xShape, ds.inputs.backend),
      y: hostTensor(y, [indices.length, ...ds.labels.shape.slice(1)], ds.labels.backend),
      indices,
    };
  }

  /** The loader's position as plain JSON (see LoaderState). */
  state(): LoaderState {
    return {
      type: "dataLoader",
      epoch: this.epochIndex,
      batchIndex: this.batchIdx,
      seed: this.seed,
      orderRng: this.order === null ? this.orderRng.getState() : this.epochStart,
      augmentRng: this.augmentRng.getState(),
      length: this.dataset.length,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
    };
  }

  /** Moves to a position saved by state(); refuses a state from other data or settings. */
  setState(state: LoaderState): void {
    const s = state as Partial<LoaderState> | null;
    if (s === null || typeof s !== "object" || s.type !== "dataLoader" || s.orderRng === undefined || s.augmentRng === undefined) {
      throw new ConfigError("DataLoader.setState: not a DataLoader state (expected the object state() returned)");
    }
    const mine = this.state();
    for (const key of ["length", "batchSize", "shuffle", "dropLast", "seed"] as const) {
      if (s[key] !== mine[key]) {
        throw new ConfigError(`DataLoader.setState: the state was saved with ${key} ${String(s[key])}, this loader has ${String(mine[key])}`);
      }
    }
    const { epoch, batchIndex } = s;
    if (!Number.isInteger(epoch) || epoch! < 0) throw new ConfigError(`DataLoader.setState: invalid epoch ${String(epoch)}`);
    if (!Number.isInteger(batchIndex) || batchIndex! < 0 || batchIndex! > this.numBatches) {
      throw new ConfigError(`DataLoader.setState: invalid batchIndex ${String(batchIndex)} (the epoch has ${this.numBatches} batches)`);
    }
    this.orderRng.setState(s.orderRng);
    this.augmentRng.setState(s.augmentRng);
    this.epochStart = this.orderRng.getState();
    this.epochIndex = epoch!;
    this.batchIdx = batchIndex!;
    this.order = null;
  }

  private nextEpoch(): void {
    this.epochOrder(); // an epoch that was skipped over still consumes its draw
    this.epochIndex += 1;
    this.batchIdx = 0;
    this.order = null;
    this.epochStart = this.orderRng.getState();
  }

  /** This epoch's sample order, drawn on first use from the order generator. */
  private epochOrder(): Int32Array {
    if (this.order === null) {
      this.epochStart = this.orderRng.getState();
      if (this.shuffle) {
        this.order = this.orderRng.permutation(this.dataset.length);
      } else {
        this.order = new Int32Array(this.dataset.length);
        for (let i = 0; i < this.order.length; i++) this.order[i] = i;
      }
    }
    return this.order;
  }
}
