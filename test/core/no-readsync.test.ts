/**
 * The library on a backend without synchronous reads (asyncCpu: the cpu kernels behind an
 * interface with no readSync, as a GPU backend offers). Each path gives the numbers the cpu
 * backend gives, bit for bit (the same kernels run in the same order), and a value check that
 * needs index values (a label or index out of range, a probability outside [0, 1]) is an error
 * at the next read, never a wrong number. The op table itself, forward, backward and gradcheck,
 * runs on asyncCpu in ops-gradcheck.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  binaryCrossEntropy, buildSequential, MemoryCheckpoints, decodeCheckpoint, decodeSafetensors, encodeSafetensors, encodeSafetensorsAsync, FileFormatError, createDataset, createOptimizer, crossEntropy, evaluate, fit, focal, fromValues,
  gather, Generator, gradcheck, gradgradcheck, hessianOf, indexSelect, lanczos, lossFunctionOf, mse, oneHot, ShapeError, ConfigError,
  softmax, sum, TrainingRecorder, withBackend, createBackend, type Backend, type CrossEntropyOptions, type Dataset, type Tensor, type TrainingRecord,
} from "../../src/index.js";
import { refuseNonFinite } from "../../src/io/finite.js";
import type { TrainableModel, TrainContext } from "../../src/train/fit.js";
import type { LayerSpec } from "../../src/nn/specs.js";
import { asyncCpu } from "./helpers.js";

/** The backend whose kernels asyncCpu runs, reading synchronously. */
const cpu = createBackend("cpu");

/** A tensor of the given values on `backend`. */
function on(backend: Backend, values: number[], shape: number[], dtype: "float64" | "int32" = "float64"): Tensor {
  return fromValues(dtype === "int32" ? Int32Array.from(values) : Float64Array.from(values), shape, { backend });
}

const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

/** f evaluated with tensors made on each backend; the values read back with await. */
async function both(f: (backend: Backend) => Tensor | Tensor[]): Promise<{ slow: number[][]; fast: number[][] }> {
  const slowBackend = asyncCpu();
  const run = async (b: Backend) => {
    const out = f(b);
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) expect(t.backend).toBe(b);
    return Promise.all(list.map(read));
  };
  return { slow: await run(slowBackend), fast: await run(cpu) };
}

const logits = [1, 2, 0.5, 0.1, -1, 2, 3, 0, -2, 0.7, 0.2, -0.4];

describe("losses without readSync", () => {
  it("crossEntropy with ignoreIndex, weights, smoothing and K-dim inputs: cpu's values and gradients, and a bad label is an error at the next read", async () => {
    const cases: [number[], CrossEntropyOptions][] = [
      [[2, -100, 0, 1], {}], [[2, -100, 0, 1], { reduction: "sum" }], [[2, -100, 0, 1], { reduction: "none" }],
      [[2, -100, 0, 1], { labelSmoothing: 0.1 }], [[2, 1, 0, 1], { ignoreIndex: 1 }], [[2, 1, 0, 1], { labelSmoothing: 0.2, reduction: "sum" }],
    ];
    for (const [labels, options] of cases) {
      const { slow, fast } = await both((b) => {
        const x = on(b, logits, [4, 3]).requireGrad();
        const loss = crossEntropy(x, on(b, labels, [4], "int32"), { ...options, weight: on(b, [0.5, 2, 1], [3]) });
        sum(loss).backward();
        return [loss, x.grad!];
      });
      expect(slow, JSON.stringify({ labels, options })).toEqual(fast);
    }
    // [N, C, d]: labels per position, one ignored
    const { slow: kSlow, fast: kFast } = await both((b) => crossEntropy(on(b, logits, [2, 3, 2]), on(b, [0, 2, -100, 1], [2, 2], "int32")));
    expect(kSlow).toEqual(kFast);
    // a class label out of range, in labels computed on the backend, is an error at the next read,
    // naming it (not a number from another row); labels made from a typed array are checked at once
    const slow = asyncCpu();
    const computed = (values: number[]) => on(slow, values, [values.length], "int32").add(0);
    const loss = crossEntropy(on(slow, logits, [4, 3]), computed([0, 5, 2, -100]));
    await expect(loss.data()).rejects.toThrow(new ShapeError("crossEntropy: class label 5 at index 1 is outside [0, 3) (input has 3 classes)"));
    expect(() => crossEntropy(on(slow, logits, [4, 3]), on(slow, [0, 5, 2, -100], [4], "int32"))).toThrow(/class label 5 at index 1/);
    // the failure is reported once; later work on the backend reads normally
    expect(await read(crossEntropy(on(slow, logits, [4, 3]), on(slow, [0, 1, 2, -100], [4], "int32")))).toEqual(
      await read(crossEntropy(on(cpu, logits, [4, 3]), on(cpu, [0, 1, 2, -100], [4], "int32"))),
    );
    // a negative label that is not ignoreIndex, in the softmax focal form too
    await expect(crossEntropy(on(slow, logits, [4, 3]), computed([0, -3, 2, 1])).data()).rejects.toThrow(/class label -3 at index 1/);
    await expect(focal(on(slow, logits, [4, 3]), computed([0, 1, 3, 1])).data()).rejects.toThrow(/focal: class label 3 at index 2/);
  });

  it("the sigmoid focal loss takes its stable form for 0/1 targets as on cpu, and binaryCrossEntropy reports a bad probability", async () => {
    // all targets 0 or 1, and soft targets mixed in (those elements take (1 − p_t)^γ directly)
    for (const targets of [[0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0], [0, 1, 1, 0, 0.3, 1, 0, 1, 0, 1, 0.5, 0]]) {
      const { slow, fast } = await both((b) => {
        const x = on(b, logits.map((v) => 8 * v), [4, 3]).requireGrad();
        const loss = focal(x, on(b, targets, [4, 3]), { gamma: 1.5, reduction: "none" });
        sum(loss).backward();
        return [loss, x.grad!];
      });
      expect(slow).toEqual(fast);
    }
    const s = asyncCpu();
    const bad = binaryCrossEntropy(on(s, [0.2, 1.5], [2]).mul(1), on(s, [0, 1], [2]));
    await expect(bad.data()).rejects.toThrow(new ConfigError("binaryCrossEntropy: input 1.5 at index 1 is outside [0, 1] (pass probabilities, e.g. sigmoid(logits), or use binaryCrossEntropyWithLogits)"));
  });
});

describe("index ops without readSync", () => {
  it("oneHot, indexSelect and gather: cpu's values and gradients, and an index out of range is an error at the next read", async () => {
    const { slow, fast } = await both((b) => {
      const x = on(b, logits, [4, 3]).requireGrad();
      const picked = gather(x, 1, on(b, [2, 0, 1, 1, 0, 2, 2, 2], [4, 2], "int32"));
      const rows = indexSelect(x, 0, on(b, [3, 0, 3], [3], "int32"));
      const hot = oneHot(on(b, [2, 0, 1, 2], [4], "int32"), 3, "float64");
      sum(picked).add(sum(rows.square())).add(sum(hot.mul(x))).backward();
      return [picked, rows, hot, x.grad!];
    });
    expect(slow).toEqual(fast);
    // an index out of range, computed on the backend, is an error at the next read of any tensor
    // there; indices made from a typed array are checked at once
    const slowBackend = asyncCpu();
    const x = on(slowBackend, logits, [4, 3]);
    const cases: [(made: (v: number[], shape: number[]) => Tensor) => Tensor, string][] = [
      [(made) => oneHot(made([0, 3], [2]), 3), "oneHot: label 3 at index 1 is outside [0, 3)"],
      [(made) => indexSelect(x, 0, made([1, -1], [2])), "indexSelect: index -1 at index 1 is outside [0, 4)"],
      [(made) => gather(x, 1, made([0, 1, 2, 7], [4, 1])), "gather: index 7 at index 3 is outside [0, 3)"],
    ];
    for (const [make, message] of cases) {
      make((v, shape) => on(slowBackend, v, shape, "int32").add(0));
      // another tensor's read reports it first: nothing computed after the bad op is seen
      await expect(softmax(x, 1).data()).rejects.toThrow(message);
      expect(() => make((v, shape) => on(slowBackend, v, shape, "int32"))).toThrow(message);
    }
  });
});

describe("gradcheck and the Hessian tools without readSync", () => {
  const f = (a: Tensor, b: Tensor) => softmax(a.matmul(b), 1).square();

  it("gradcheck and gradgradcheck give cpu's report", async () => {
    const reports = async (b: Backend) => {
      const rng = new Generator(3);
      const inputs = [on(b, Array.from({ length: 6 }, () => rng.normal()), [2, 3]), on(b, Array.from({ length: 6 }, () => rng.normal()), [3, 2])];
      return [await gradcheck(f, inputs), await gradgradcheck(f, inputs)];
    };
    const slow = await reports(asyncCpu());
    expect(slow[0]!.ok && slow[1]!.ok).toBe(true);
    expect(slow).toEqual(await reports(cpu));
  });

  it("hessianOf, a model's Hessian-vector product, its loss elsewhere and Lanczos's extreme eigenvalues equal cpu's", async () => {
    const specs: LayerSpec[] = [{ type: "linear", outFeatures: 4 }, { type: "tanh" }, { type: "linear", outFeatures: 3 }];
    const analyse = async (b: Backend) => {
      const model = withBackend(b, () => buildSequential(specs, { inputShape: [2], rng: new Generator(5), dtype: "float64" }));
      const rng = new Generator(6);
      const x = on(b, Array.from({ length: 12 }, () => rng.normal()), [6, 2]);
      const y = on(b, [0, 1, 2, 2, 1, 0], [6], "int32");
      const op = await lossFunctionOf(model, crossEntropy, x, y);
      const v = Float64Array.from({ length: op.size }, (_, i) => Math.cos(i));
      const ext = await lanczos(op.hvp, op.size, { k: 2, tol: 1e-10 });
      const full = await hessianOf((w, c) => mse(x.matmul(w).add(c), on(b, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0], [6, 2])), [on(b, [0.5, -1, 2, 0.1], [2, 2]), on(b, [0.3, -0.2], [2])]);
      return {
        value: op.value, gradient: Array.from(op.gradient), hv: Array.from(await op.hvp(v)), lossAt: await op.lossAt(op.point.map((p, i) => p + 0.1 * v[i]!)),
        smallest: ext.smallest.map((p) => p.value), largest: ext.largest.map((p) => p.value), steps: ext.steps,
        hessian: Array.from(full.hessian), fullGradient: Array.from(full.gradient), fullValue: full.value,
      };
    };
    const slow = await analyse(asyncCpu());
    expect(slow.largest[0]!).toBeGreaterThan(slow.smallest[0]!);
    expect(slow).toEqual(await analyse(cpu));
  });
});

describe("training and evaluation without readSync", () => {
  /** Three well separated blobs, made from typed arrays on `backend` (the public way: fromValues). */
  function blobsOn(backend: Backend, n: number, seed: number): Dataset {
    const rng = new Generator(seed);
    const x = Float32Array.from({ length: n * 4 }, (_, i) => rng.normal() + (i % 4 === Math.floor(i / 4) % 3 ? 2.5 : 0));
    const y = Int32Array.from({ length: n }, (_, i) => i % 3);
    return createDataset(fromValues(x, [n, 4], { backend }), fromValues(y, [n], { backend }), { numClasses: 3 });
  }
  const specs: LayerSpec[] = [{ type: "linear", outFeatures: 6 }, { type: "relu" }, { type: "linear", outFeatures: 5 }, { type: "sigmoid" }, { type: "linear", outFeatures: 3 }];

  it("one epoch of fit with a dev set, the training recorder and a checkpoint, then evaluate(), give cpu's numbers and checkpoint tensors", async () => {
    const trainOn = async (b: Backend) => {
      const train = blobsOn(b, 64, 1), dev = blobsOn(b, 30, 2);
      const model = withBackend(b, () => buildSequential(specs, { inputShape: [4], rng: new Generator(3) }));
      const records: TrainingRecord[] = [];
      const recorder = new TrainingRecorder(model, (r) => records.push(r), { every: 2, probe: dev.inputs });
      const checkpoints = new MemoryCheckpoints();
      const saver = { name: "saver", onEpochEnd: (ctx: TrainContext) => ctx.saveCheckpoint("epoch-1.ckpt") };
      const history = await fit(model as TrainableModel, {
        train, dev, loss: crossEntropy, optimizer: createOptimizer("adam", model, { lr: 1e-2 }), epochs: 1, batchSize: 16, seed: 4,
        clipGradNorm: 1, callbacks: [recorder, saver], checkpoints, log: () => {},
      });
      const ev = await evaluate(model as TrainableModel, dev, { loss: crossEntropy, confusion: true, batchSize: 7 });
      for (const [, p] of model.namedParameters()) expect(p.backend).toBe(b);
      const { seconds: _s, samplesPerSecond: _r, ...epoch } = history.epochs[0]!;
      // the checkpoint's tensors and step (its state also holds wall-clock seconds, which differ)
      const saved = decodeCheckpoint(checkpoints.bytes("epoch-1.ckpt")!, "epoch-1.ckpt");
      const checkpoint = {
        step: (saved.state as { step: number }).step,
        tensors: Object.fromEntries(Object.entries(saved.tensors).flatMap(([ns, ts]) => Object.entries(ts).map(([k, t]) => [`${ns}.${k}`, Array.from(t.dataSync())]))),
      };
      return { epoch, records, loss: ev.loss, accuracy: ev.accuracy, confusion: ev.confusion!.counts, predictions: Array.from(ev.predictions!), checkpoint };
    };
    const slow = await trainOn(asyncCpu());
    expect(slow.records.map((r) => r.step)).toEqual([0, 2]);
    expect(Object.keys(slow.records[0]!.activations)).toEqual(["1", "3"]);
    expect(slow.epoch.devAccuracy).toBe(slow.accuracy);
    expect(slow.predictions).toHaveLength(30);
    expect(slow.checkpoint.step).toBe(4);
    expect(Object.keys(slow.checkpoint.tensors)).toContain("model.0.weight");
    expect(slow).toEqual(await trainOn(cpu));
  });

});

describe("files without readSync", () => {
  it("safetensors bytes encoded with await from an asynchronous backend equal cpu's", async () => {
    const values = { w: Float32Array.from([1, -2.5, 3]), i: Int32Array.from([4, 5]), d: Float64Array.from([Math.PI]) };
    const make = (backend: Backend) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, fromValues(v.slice(), [v.length], { backend })]));
    const slow = make(asyncCpu());
    expect(await encodeSafetensorsAsync(slow, { note: "x" })).toEqual(encodeSafetensors(make(cpu), { note: "x" }));
    expect(() => encodeSafetensors(slow)).toThrow(/reads asynchronously; use encodeSafetensorsAsync/);
  });

  it("weights decoded onto an asynchronous backend are checked for non-finite values from the file's bytes", () => {
    const bytes = encodeSafetensors({ w: fromValues(Float32Array.from([1, NaN, 2]), [3]), b: fromValues(Float32Array.from([0.5]), [1]) });
    const { tensors } = decodeSafetensors(bytes, { source: "w.safetensors", backend: asyncCpu() });
    expect(tensors.w!.backend.readSync).toBeUndefined();
    expect(() => refuseNonFinite(tensors, "w.safetensors", "model.")).toThrow(
      new FileFormatError('w.safetensors: tensor "model.w" element 1 is NaN: the file holds a non-finite weight'),
    );
    expect(() => refuseNonFinite({ b: tensors.b! }, "w.safetensors")).not.toThrow();
  });
});
