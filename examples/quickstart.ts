// A tour of the API: tensors and autodiff, then a small model trained by hand.
// Run with: npm run build && node dist/examples/quickstart.js
import {
  tensor, grad, hvp, mean, mul, sum, tanh, matmul, Generator, buildSequential, createOptimizer, crossEntropy,
  loadMnist, split, DataLoader, noGrad, argmax, eq, cast, type Tensor,
} from "../src/node.js";

// 1. Tensors record what they were computed from; backward() fills .grad of the leaves.
const x = tensor([[0.5, -1.0], [1.5, 2.0]]);
const w = tensor([[0.1], [0.2]], { requiresGrad: true });
const loss = mean(mul(tanh(matmul(x, w)), 2));
loss.backward();
console.log("dloss/dw =", w.grad!.toString());

// 2. Gradients as functions, and exact Hessian-vector products (double backward).
const cube = (p: Tensor) => sum(mul(mul(p, p), p));
console.log("grad of sum(p^3) at [1, 2] =", grad(cube)(tensor([1, 2]))[0]!.toString());
const p = tensor([1, 2], { dtype: "float64" });
console.log("H·[1, 0] =", hvp(cube, [p], [tensor([1, 0], { dtype: "float64" })]).hvp[0]!.toString());

// 3. A model from layer specs, trained for one epoch on 2,000 digits.
const rng = new Generator(0);
const { train, test } = split(loadMnist(), { train: 2000, dev: 0, test: 500, seed: 0 });
const model = buildSequential(
  [{ type: "flatten" }, { type: "linear", outFeatures: 128 }, { type: "relu" }, { type: "linear", outFeatures: 10 }],
  { inputShape: [1, 28, 28], rng },
);
const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
for (const batch of new DataLoader(train, { batchSize: 64, seed: 0 })) {
  const l = crossEntropy(model.forward(batch.x), batch.y);
  l.backward();
  optimizer.step();
  optimizer.zeroGrad();
}
model.eval();
const accuracy = noGrad(() => mean(cast(eq(argmax(model.forward(test.inputs), 1), test.labels), "float32")).item());
console.log(`test accuracy after one epoch: ${(100 * accuracy).toFixed(1)}%`);
