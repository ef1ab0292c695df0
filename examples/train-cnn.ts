// The W2 CNN trained with the library's fit loop, as in the README.
// Run with: npm run build && node dist/examples/train-cnn.js
import { buildSequential, presetSpecs, createOptimizer, crossEntropy, loadMnist, split, fit, evaluate, EarlyStopping, Generator } from "../src/node.js";

const { train, dev, test } = split(loadMnist(), { train: 8000, dev: 1000, test: 1000, seed: 1, stratify: true });
const rng = new Generator(1);
const model = buildSequential(presetSpecs("cnn"), { inputShape: [1, 28, 28], rng });
const optimizer = createOptimizer("adam", model, { lr: 1e-3 });
const history = await fit(model, {
  train, dev, loss: crossEntropy, optimizer, epochs: 10, batchSize: 64, modelRng: rng,
  callbacks: [new EarlyStopping({ monitor: "devLoss", patience: 3 })],
});
const { accuracy } = await evaluate(model, test);
console.log(`${history.epochs.length} epochs; test accuracy ${(100 * accuracy!).toFixed(1)}%`);
