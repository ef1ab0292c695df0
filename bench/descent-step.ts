/**
 * The descent side of the training benchmarks (train.ts, torch.ts): W1 MLP 784-256-128-10 or W2 CNN
 * (presetSpecs "mlp" / "cnn"), float32, softmax cross-entropy, Adam 1e-3, batch 64, over fixed
 * MNIST batches; one step reads the loss back (`loss.item()`), as a training loop that logs it does.
 */
import {
  buildSequential, createOptimizer, crossEntropy, fromValues, Generator, presetSpecs, withBackend, type Backend, type Tensor,
} from "../src/index.js";

export const BATCH = 64;

export type Workload = "mlp" | "cnn";

/** A model, optimizer and `nBatches` fixed batches on `backend`; `step(i)` trains on batch i (mod count). */
export function setupDescent(preset: Workload, backend: Backend, x: Float32Array, y: Int32Array, nBatches: number): (i: number) => void {
  return withBackend(backend, () => {
    const rng = new Generator(1);
    const model = buildSequential(presetSpecs(preset), { inputShape: [1, 28, 28], rng });
    const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
    const batches: { x: Tensor; y: Tensor }[] = [];
    for (let b = 0; b < nBatches; b++) {
      const xs = x.slice(b * BATCH * 784, (b + 1) * BATCH * 784);
      const ys = y.slice(b * BATCH, (b + 1) * BATCH);
      batches.push({ x: fromValues(xs, [BATCH, 1, 28, 28], { backend }), y: fromValues(ys, [BATCH], { backend }) });
    }
    model.train();
    return (i: number) => {
      const batch = batches[i % nBatches]!;
      const loss = crossEntropy(model.forward(batch.x), batch.y);
      loss.item();
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
    };
  });
}
