/**
 * fit: the training loop. One epoch = the loader's batches: forward, loss (+ regularization),
 * a finite-loss check, backward, optional gradient clipping, optimizer step. Then the dev set is
 * evaluated and callbacks run (early stopping, checkpoints, logs, progress).
 *
 * Everything that decides what happens next is state that a checkpoint saves: model and optimizer
 * tensors, the schedule, the loader position and its generators, the generator the model's dropout
 * draws from, the step counters, the partial sums of the epoch in progress, and each callback's
 * state. So `resume` continues bit-identically, also from the middle of an epoch (Ctrl-C).
 *
 * The loop is async only so that a signal (Ctrl-C) can be noticed between batches.
 */
import { ConfigError, FileFormatError, NonFiniteError, withContext } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Generator, GeneratorState } from "../tensor/random.js";
import type { Parameter } from "../nn/parameter.js";
import { noGrad } from "../autograd/mode.js";
import { withBackend } from "../backend/registry.js";
import { add, square } from "../ops/elementwise.js";
import { stack } from "../ops/movement.js";
import { sum } from "../ops/reduce.js";
import { DataLoader, type Batch, type LoaderState } from "../data/loader.js";
import type { AugmentSpec } from "../data/augment.js";
import type { Dataset } from "../data/dataset.js";
import type { Optimizer, OptimizerMeta } from "../optim/optimizer.js";
import { clipGradNormAsync } from "../optim/clip.js";
import type { Schedule, ScheduleStateDict, ScheduledLearningRate } from "../schedules/schedules.js";
import { ReduceOnPlateau } from "../schedules/plateau.js";
import type { CheckpointStore } from "../io/checkpoint.js";
import { checkTrainCheckpoint } from "./state.js";
import { ConfusionMatrix, countCorrect, readPredictedClasses } from "./metrics.js";
import { EarlyStopping, type Callback, type JsonObject } from "./callback.js";
import { yieldToEventLoop } from "./yield.js";

/** What fit needs of a model (src/nn's Module has all of it). */
export interface TrainableModel {
  forward(x: Tensor): Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
  namedParameters(): [string, Parameter][];
  stateDict(): Record<string, Tensor>;
  loadStateDict(dict: Record<string, Tensor>): void;
}

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** A penalty added to the loss each step (L1/L2 regularization); m is the batch size. */
export type Penalty = (model: TrainableModel, m: number) => Tensor | null;

export interface FitOptions {
  train: Dataset;
  dev?: Dataset | undefined;
  loss: LossFn;
  optimizer: Optimizer;
  /**
   * The schedule the optimizer's learning rate follows (fed into it with learningRateOf): fit steps
   * reduceOnPlateau with each epoch's metric and keeps the schedule's state in checkpoints.
   */
  schedule?: Schedule | undefined;
  epochs: number;
  batchSize: number;
  /** seed of the loader's shuffles and augmentations */
  seed?: number;
  augment?: readonly AugmentSpec[];
  regularization?: Penalty | undefined;
  /** clip the global gradient norm to this value (none when absent) */
  clipGradNorm?: number | undefined;
  callbacks?: readonly Callback[];
  /** the generator the model's dropout layers draw from (saved in checkpoints) */
  modelRng?: Generator | undefined;
  /** a checkpoint to continue from, by its name in `checkpoints` */
  resumeFrom?: string | undefined;
  /** where checkpoints are written and read (descent/node's fit: files; in a page: memoryCheckpoints) */
  checkpoints?: CheckpointStore | undefined;
  /** stop between batches when aborted (Ctrl-C); the run saves a checkpoint there */
  signal?: AbortSignal | undefined;
  /** where fit writes the checkpoint when interrupted (default: none) */
  interruptCheckpoint?: string | undefined;
  /** more tensors stored in every checkpoint, by namespace (e.g. the standardizer's statistics) */
  checkpointExtras?: Record<string, Record<string, Tensor>> | undefined;
  /** evaluation batch size (default 500) */
  evalBatchSize?: number;
  /** messages for the user (default: console.log) */
  log?: (line: string) => void;
}

export interface StepLog {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  batchSize: number;
}

export interface EpochLog {
  epoch: number;
  /** optimizer steps taken so far in the run */
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  devLoss?: number;
  devAccuracy?: number;
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface History {
  epochs: EpochLog[];
  /** why training stopped before `epochs`, if it did */
  stopReason: string | null;
  interrupted: boolean;
  /** the epoch whose weights the model holds at the end (after early stopping's restore) */
  finalEpoch: number;
}

/** "running" until the loop ends; then whether it finished (or stopped early), was interrupted, or threw. */
export type TrainOutcome = "running" | "finished" | "interrupted" | "failed";

export interface TrainContext {
  readonly model: TrainableModel;
  readonly optimizer: Optimizer;
  readonly epochs: number;
  /** the epoch in progress */
  readonly epoch: number;
  /** optimizer steps taken */
  readonly step: number;
  readonly batchesPerEpoch: number;
  readonly batchInEpoch: number;
  /** the last epoch that finished (-1 before the first) */
  readonly lastEpoch: number;
  /** how training ended, once it has: onTrainEnd runs for every outcome */
  readonly outcome: TrainOutcome;
  /** per-parameter L2 norms of the last step's gradients, before clipping */
  readonly gradNorms: ReadonlyMap<string, number>;
  stop(reason: string): void;
  log(line: string): void;
  /** writes a checkpoint of the complete training state, atomically (complete when the promise resolves) */
  saveCheckpoint(path: string): Promise<void>;
}

interface EpochSums {
  loss: number;
  correct: number;
  count: number;
  seconds: number;
}

/** The JSON half of a checkpoint (the tensors are the model, optimizer and best weights). */
export interface TrainState {
  format: "descent-train/1";
  epoch: number;
  step: number;
  lastEpoch: number;
  loader: LoaderState;
  optimizer: OptimizerMeta;
  schedule: ScheduleStateDict | null;
  modelRng: GeneratorState | null;
  sums: EpochSums;
  history: EpochLog[];
  callbacks: Record<string, JsonObject>;
  stopReason: string | null;
}

/** Whether a data set's labels are class ids (int32 with a class count). */
export function isClassification(ds: Dataset): boolean {
  return ds.labels.dtype === "int32" && ds.numClasses !== undefined;
}

export interface EvaluateOptions {
  loss?: LossFn;
  batchSize?: number;
  /** also build the confusion matrix (classification only) */
  confusion?: boolean;
}

export interface Evaluation {
  loss: number | undefined;
  accuracy: number | undefined;
  confusion: ConfusionMatrix | undefined;
  /** predicted class per sample (classification only) */
  predictions: Int32Array | undefined;
}

/**
 * Loss and accuracy of a model on a dataset, in eval mode and without recording a graph. Values
 * are read with `await`, once per batch, so it runs on any backend.
 */
export async function evaluate(model: TrainableModel, ds: Dataset, options: EvaluateOptions = {}): Promise<Evaluation> {
  const classes = isClassification(ds);
  const loader = new DataLoader(ds, { batchSize: options.batchSize ?? 500, shuffle: false });
  const confusion = classes && options.confusion ? new ConfusionMatrix(ds.numClasses!) : undefined;
  const predictions = classes ? new Int32Array(ds.length) : undefined;
  let lossSum = 0, correct = 0, count = 0;
  // put back the mode the caller had (a model loaded for inference stays in eval mode)
  const wasTraining = (model as { training?: unknown }).training !== false;
  model.eval();
  try {
    for (const batch of loader) {
      const { out, loss } = noGrad(() => {
        const out = model.forward(batch.x);
        return { out, loss: options.loss ? options.loss(out, batch.y) : null };
      });
      const n = batch.indices.length;
      if (loss) lossSum += (await loss.data())[0]! * n;
      if (classes) {
        const pred = await readPredictedClasses(out);
        const labels = await batch.y.data();
        correct += countCorrect(pred, labels);
        confusion?.add(pred, labels);
        batch.indices.forEach((row, i) => (predictions![row] = pred[i]!));
      }
      count += n;
    }
  } finally {
    if (wasTraining) model.train();
  }
  return {
    loss: options.loss ? lossSum / count : undefined,
    accuracy: classes ? correct / count : undefined,
    confusion,
    predictions,
  };
}

/**
 * Per-parameter gradient L2 norms, and their global norm: each sum of squares runs on the
 * backend (its SIMD kernels on wasm) and all of them come back in one read (`await`: any
 * backend), instead of reading every gradient, whose copy and JavaScript loop took a tenth of a
 * W1 trial's time. The temporaries are freed here.
 */
async function gradNorms(params: readonly [string, Parameter][]): Promise<{ total: number; byName: Map<string, number> }> {
  const byName = new Map<string, number>();
  const named = params.filter(([, p]) => p.grad !== null);
  if (named.length === 0) return { total: 0, byName };
  const temporaries: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (temporaries.push(t), t);
  const squares = noGrad(() => keep(stack(named.map(([, p]) => keep(sum(keep(square(p.grad!))))))));
  const values = await squares.data();
  for (const t of temporaries) t.dispose();
  let sq = 0;
  named.forEach(([name], i) => {
    byName.set(name, Math.sqrt(values[i]!));
    sq += values[i]!;
  });
  return { total: Math.sqrt(sq), byName };
}

function nonFiniteMessage(step: number, epoch: number, loss: number, lastFinite: number | null, lr: number, norms: Map<string, number>, recent: number[]): string {
  const largest = [...norms.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const rising = recent.length >= 3 && recent.slice(-3).every((v, i, a) => i === 0 || v > a[i - 1]!);
  const cause = rising || largest.some(([, n]) => n > 1e3)
    ? "the loss was growing and gradients were large: the learning rate is likely too high (try lr / 10), or clip gradients (clipGradNorm)"
    : "a value overflowed: check the input data for NaN or infinity, and try a lower learning rate (lr / 10) or gradient clipping";
  const norms_ = largest.length ? largest.map(([n, v]) => `${n} ${v.toPrecision(3)}`).join(", ") : "none yet";
  return (
    `the loss became ${loss} at step ${step} (epoch ${epoch + 1}); last finite loss ${lastFinite === null ? "none" : lastFinite.toPrecision(6)}; ` +
    `lr ${lr.toPrecision(3)}; largest gradient norms at the previous step: ${norms_}. Likely cause: ${cause}.`
  );
}

/** Refuses a schedule the optimizer does not follow, so a schedule is never silently ignored. */
function checkScheduleFed(optimizer: Optimizer, schedule: Schedule, batchesPerEpoch: number): void {
  const fed = optimizer.learningRates.filter((f) => (f as Partial<ScheduledLearningRate>).schedule === schedule) as ScheduledLearningRate[];
  if (fed.length === 0) {
    throw new ConfigError(
      `fit: the optimizer's learning rate does not follow the schedule given to fit; feed it in: ` +
        `createOptimizer(name, params, { lr: learningRateOf(schedule, ${batchesPerEpoch}) })`,
    );
  }
  // a per-epoch closed form turns the step count into an epoch; reduceOnPlateau ignores the count
  const other = fed.find((f) => schedule.interval === "epoch" && !(schedule instanceof ReduceOnPlateau) && f.stepsPerEpoch !== batchesPerEpoch);
  if (other) {
    throw new ConfigError(`fit: the schedule was fed to the optimizer with ${other.stepsPerEpoch} steps per epoch, but an epoch here has ${batchesPerEpoch} batches`);
  }
}

export async function fit(model: TrainableModel, options: FitOptions): Promise<History> {
  const { train, dev, loss: lossFn, optimizer, schedule, epochs, batchSize, modelRng } = options;
  // checkpoints are written after every other callback has run for the batch or epoch, so they hold
  // the state those callbacks reached (early stopping's count, its stop), whatever the list's order
  const given = options.callbacks ?? [];
  const callbacks: Callback[] = [...given.filter((c) => !c.runsLast), ...given.filter((c) => c.runsLast)];
  const say = options.log ?? ((line: string) => console.log(line));
  if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError(`fit: epochs must be an integer >= 1, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`fit: batchSize must be an integer >= 1, got ${batchSize}`);
  if (batchSize > train.length) say(`batch size ${batchSize} is more than the ${train.length} training samples: each epoch is one batch of ${train.length}`);
  const params = model.namedParameters();
  const loader = new DataLoader(train, { batchSize, shuffle: true, seed: options.seed ?? 0, augment: options.augment ?? [] });
  const classes = isClassification(train);
  const earlyStopping = callbacks.find((c): c is EarlyStopping => c instanceof EarlyStopping);

  if (schedule) checkScheduleFed(optimizer, schedule, loader.numBatches);

  let epoch = 0, step = 0, lastEpoch = -1;
  let sums: EpochSums = { loss: 0, correct: 0, count: 0, seconds: 0 };
  const history: EpochLog[] = [];
  let stopReason: string | null = null;
  let lastFinite: number | null = null;
  let lastNorms = new Map<string, number>();
  const recentLosses: number[] = [];

  const snapshot = (): { tensors: Record<string, Record<string, Tensor>>; state: TrainState } => {
    const opt = optimizer.stateDict();
    const tensors: Record<string, Record<string, Tensor>> = { ...options.checkpointExtras, model: model.stateDict(), optimizer: opt.tensors };
    if (earlyStopping?.bestState) tensors.best = earlyStopping.bestState;
    const cbs: Record<string, JsonObject> = {};
    for (const c of callbacks) if (c.stateDict) cbs[c.name] = c.stateDict();
    return {
      tensors,
      state: {
        format: "descent-train/1", epoch, step, lastEpoch, loader: loader.state(), optimizer: opt.meta,
        schedule: schedule ? schedule.stateDict() : null, modelRng: modelRng ? modelRng.getState() : null,
        sums: { ...sums }, history: [...history], callbacks: cbs, stopReason,
      },
    };
  };

  const store = (): CheckpointStore => {
    if (!options.checkpoints) throw new ConfigError(`fit: checkpoints need a store (options.checkpoints: memoryCheckpoints(), or fit from descent/node for files)`);
    return options.checkpoints;
  };

  let finishEpoch = false;
  if (options.resumeFrom) {
    // the state is validated as it is read; a checkpoint of another model, optimizer or data set
    // is an error naming the file
    // decoded onto the model's backend, which need not be the default one
    const path = options.resumeFrom;
    const onModel = model.namedParameters()[0]?.[1].backend;
    const read = () => store().read(path);
    const { checkpoint: ckpt, state: st } = checkTrainCheckpoint(onModel ? withBackend(onModel, read) : read(), path);
    withContext(options.resumeFrom, () => {
      model.loadStateDict(ckpt.tensors.model ?? {});
      optimizer.loadStateDict({ tensors: ckpt.tensors.optimizer ?? {}, meta: st.optimizer });
      if (schedule && st.schedule) schedule.loadStateDict(st.schedule);
      if (modelRng && st.modelRng) modelRng.setState(st.modelRng);
      loader.setState(st.loader);
      for (const c of callbacks) if (c.loadStateDict && st.callbacks[c.name]) c.loadStateDict(st.callbacks[c.name]!);
    }, FileFormatError);
    if (earlyStopping && ckpt.tensors.best) earlyStopping.bestState = ckpt.tensors.best;
    ({ epoch, step, lastEpoch, sums } = st);
    history.push(...st.history);
    stopReason = st.stopReason;
    // a checkpoint written after an epoch's last batch but before its end (a step checkpoint, or
    // Ctrl-C there) resumes by ending that epoch (dev evaluation, logs, callbacks) with no batches;
    // one written at the end (the sums reset) goes on with the next epoch's batches
    finishEpoch = loader.batchIndex >= loader.numBatches && sums.count > 0;
  }

  const ctx: TrainContext = {
    model, optimizer, epochs,
    get epoch() { return epoch; },
    get step() { return step; },
    batchesPerEpoch: loader.numBatches,
    get batchInEpoch() { return loader.batchIndex; },
    get lastEpoch() { return lastEpoch; },
    get outcome() { return outcome; },
    get gradNorms() { return lastNorms; },
    stop: (reason) => { stopReason ??= reason; },
    log: say,
    saveCheckpoint: (path) => store().write(path, snapshot()),
  };

  model.train();
  let interrupted = false;
  let outcome: TrainOutcome = "running";
  // onTrainEnd runs however the loop ends (an interrupt, a non-finite loss), so a callback that
  // holds a resource (the progress display's terminal) always lets it go
  try {
    for (const c of callbacks) c.onTrainBegin?.(ctx);
    while (epoch < epochs && stopReason === null) {
      for (const c of callbacks) c.onEpochBegin?.(ctx, epoch);
      const epochStart = performance.now();
      const secondsBefore = sums.seconds;
      const batches: Iterable<Batch> = finishEpoch ? [] : loader;
      finishEpoch = false;
      for (const batch of batches) {
        for (const c of callbacks) c.onBatchBegin?.(ctx);
        const out = model.forward(batch.x);
        let loss = lossFn(out, batch.y);
        const m = batch.indices.length;
        const penalty = options.regularization?.(model, m);
        if (penalty) loss = add(loss, penalty);
        const value = (await loss.data())[0]!;
        if (!Number.isFinite(value)) {
          throw new NonFiniteError(nonFiniteMessage(step, epoch, value, lastFinite, optimizer.lr ?? NaN, lastNorms, recentLosses));
        }
        loss.backward();
        const norms = await gradNorms(params);
        if (options.clipGradNorm !== undefined) await clipGradNormAsync(params.map(([, p]) => p), options.clipGradNorm);
        optimizer.step();
        optimizer.zeroGrad();
        lastFinite = value;
        lastNorms = norms.byName;
        recentLosses.push(value);
        if (recentLosses.length > 20) recentLosses.shift();
        sums.loss += value * m;
        sums.count += m;
        if (classes) sums.correct += countCorrect(await readPredictedClasses(out), await batch.y.data());
        // the rate this step used (a schedule's, when one feeds the optimizer)
        const log: StepLog = { epoch, step, loss: value, lr: optimizer.lr ?? NaN, gradNorm: norms.total, batchSize: m };
        step++;
        for (const c of callbacks) await c.onBatchEnd?.(ctx, log);
        // let signal handlers (Ctrl-C) run between batches
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          sums.seconds = secondsBefore + (performance.now() - epochStart) / 1000;
          if (options.interruptCheckpoint) await ctx.saveCheckpoint(options.interruptCheckpoint);
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;
      const seconds = secondsBefore + (performance.now() - epochStart) / 1000;
      const log: EpochLog = {
        epoch, step, trainLoss: sums.loss / Math.max(sums.count, 1), lr: optimizer.lr ?? NaN, seconds,
        samplesPerSecond: sums.count / Math.max(seconds, 1e-9),
      };
      if (classes) log.trainAccuracy = sums.correct / Math.max(sums.count, 1);
      if (dev) {
        const ev = await evaluate(model, dev, { loss: lossFn, batchSize: options.evalBatchSize ?? 500 });
        if (ev.loss !== undefined) log.devLoss = ev.loss;
        if (ev.accuracy !== undefined) log.devAccuracy = ev.accuracy;
        if (ev.loss !== undefined && !Number.isFinite(ev.loss)) {
          throw new NonFiniteError(
            `the dev loss became ${ev.loss} at the end of epoch ${epoch + 1} (step ${step}; train loss ${log.trainLoss.toPrecision(6)}; lr ${log.lr.toPrecision(3)}). ` +
              `Likely cause: the weights grew too large: try a lower learning rate (lr / 10), or clip gradients (clipGradNorm).`,
          );
        }
      }
      history.push(log);
      lastEpoch = epoch;
      if (schedule instanceof ReduceOnPlateau) {
        const metric = log[dev ? "devLoss" : "trainLoss"];
        if (metric !== undefined) schedule.step(metric);
      }
      sums = { loss: 0, correct: 0, count: 0, seconds: 0 };
      epoch++;
      for (const c of callbacks) await c.onEpochEnd?.(ctx, log);
    }
    outcome = interrupted ? "interrupted" : "finished";
  } catch (e) {
    outcome = "failed";
    throw e;
  } finally {
    for (const c of callbacks) c.onTrainEnd?.(ctx);
  }
  const restored = !interrupted && earlyStopping && earlyStopping.restoreBest && earlyStopping.bestEpoch >= 0 ? earlyStopping.bestEpoch : lastEpoch;
  return { epochs: history, stopReason, interrupted, finalEpoch: restored };
}
