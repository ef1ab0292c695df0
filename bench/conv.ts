/**
 * The fused convolution against the composed one: W2 training steps (bench/descent-step.ts's
 * recipe) on the wasm backend as it is, and on the same backend with its fused `conv2d` switched
 * off (the composed path: im2col, matmul, permute as separate ops), alternating in one process,
 * median samples/s of `--rounds` (5) rounds of `--steps` (40) steps after 5 warm-up steps, on
 * `--threads` (1) matmul threads. The two give the same bits (test/backend/conv-fused.test.ts);
 * the ratio is what fusing is worth on this machine.
 *
 *   node --import ./dist/src/backend/relaxed-simd-preload.js dist/bench/conv.js --threads=2
 */
import { Generator } from "../src/index.js";
import { WasmBackend } from "../src/backend/wasm/wasm.js";
import { BATCH, setupDescent } from "./descent-step.js";
import { arg, median, now } from "./util.js";

/** The wasm backend without its fused convolution. */
class ComposedWasm extends WasmBackend {
  override conv2d(): null {
    return null;
  }
}

const rounds = Number(arg("rounds", "5"));
const steps = Number(arg("steps", "40"));
const threads = Number(arg("threads", "1"));
const nBatches = 8;
const g = new Generator(1);
const x = Float32Array.from({ length: nBatches * BATCH * 784 }, () => g.uniform());
const y = Int32Array.from({ length: nBatches * BATCH }, (_, i) => (i * 7) % 10);
const variants = { fused: new WasmBackend({ threads }), composed: new ComposedWasm({ threads }) };
const rates: Record<keyof typeof variants, number[]> = { fused: [], composed: [] };
for (let r = 0; r < rounds; r++) {
  for (const name of ["fused", "composed"] as const) {
    const step = setupDescent("cnn", variants[name], x, y, nBatches);
    for (let i = 0; i < 5; i++) step(i);
    const t = now();
    for (let i = 0; i < steps; i++) step(i);
    rates[name].push((steps * BATCH) / (now() - t));
  }
}
const fused = median(rates.fused), composed = median(rates.composed);
console.log(`RESULT ${JSON.stringify({ kind: "conv-fused-vs-composed", threads, rounds, steps, fused: rates.fused, composed: rates.composed })}`);
console.log(`W2 on wasm, ${threads} thread(s): fused ${fused.toFixed(0)} samples/s, composed ${composed.toFixed(0)}; fused / composed ${(fused / composed).toFixed(2)}x`);
