/**
 * What one of the wasm backend's fusions is worth: training steps (bench/descent-step.ts's recipe)
 * on the backend as it is ("on") and on the same backend with that one feature switched off
 * ("off"), alternating in one process, median samples/s of `--rounds` (5) rounds of `--steps`
 * steps after 5 warm-up steps, on `--threads` (1) matmul threads. Both give the same bits (their
 * tests say so); the ratio is what the feature is worth on this machine. `--feature`:
 * - conv (W2, 40 steps): the fused convolution against the composed path (im2col, matmul,
 *   permute as separate ops; test/backend/conv-fused.test.ts);
 * - slots (W1, 300 steps): optimizer slots resident in the update kernel's shared memory against
 *   slots copied in and out of it every step (test/backend/update-simd.test.ts);
 * - threads (W1, 300 steps; `--workload=W2` for W2, 40): the matrix product on 2 threads (the
 *   worker pool) against 1, whose bits are the same (test/backend/wasm-backend.test.ts); here
 *   `--threads` is ignored;
 * - native (W1, 300 steps; `--workload=W2` for W2, 40): the native backend (its AVX2 products
 *   and update, src/backend/native/native.ts) against the wasm backend it extends. Unlike the
 *   others the bits differ where wasm runs its unfused kernel (Node 20 without the relaxed-SIMD
 *   flag); under the flag the products agree (test/backend/gemm-fused.test.ts).
 * - native-conv (W2, 40 steps): the native backend's convolution (native/conv.c, in the tensors'
 *   arrays) against the wasm backend's fused convolution on the same native backend (its columns
 *   in WebAssembly memory, its products on the addon); the same bits (test/backend/native.test.ts).
 *
 *   node --import ./dist/src/backend/relaxed-simd-preload.js dist/bench/fusion.js --feature=conv --threads=2
 */
import { Generator } from "../src/index.js";
import { WasmBackend } from "../src/backend/wasm/wasm.js";
import { nativeAddon, NativeBackend } from "../src/backend/native/native.js";
import { BATCH, setupDescent } from "./descent-step.js";
import { arg, median, now } from "./util.js";

/** The wasm backend without its fused convolution. */
class ComposedConv extends WasmBackend {
  override conv2d(): null {
    return null;
  }
}

/** The native backend with the wasm backend's fused convolution in place of its own. */
class WasmConvNative extends NativeBackend {
  override conv2d(...a: Parameters<WasmBackend["conv2d"]>) {
    return WasmBackend.prototype.conv2d.apply(this, a);
  }

  override conv2dBackward(...a: Parameters<WasmBackend["conv2dBackward"]>) {
    return WasmBackend.prototype.conv2dBackward.apply(this, a);
  }
}

function addon() {
  const found = nativeAddon();
  if (!found) throw new Error(`--feature=${feature}: the native addon is not built here (npm run build:native)`);
  return found;
}

/** The wasm backend whose optimizers keep ordinary slot arrays (no Backend.updateSlot). */
class CopiedSlots extends WasmBackend {}
Object.defineProperty(CopiedSlots.prototype, "updateSlot", { value: undefined });

const feature = arg("feature", "conv");
const threads = Number(arg("threads", "1"));
const w2 = arg("workload", "W1") === "W2";
const FEATURES = {
  conv: { workload: "cnn", steps: 40, on: () => new WasmBackend({ threads }), off: () => new ComposedConv({ threads }) },
  slots: { workload: "mlp", steps: 300, on: () => new WasmBackend({ threads }), off: () => new CopiedSlots({ threads }) },
  threads: { workload: w2 ? "cnn" : "mlp", steps: w2 ? 40 : 300, on: () => new WasmBackend({ threads: 2 }), off: () => new WasmBackend({ threads: 1 }) },
  native: {
    workload: w2 ? "cnn" : "mlp", steps: w2 ? 40 : 300,
    on: () => new NativeBackend(addon(), { threads }),
    off: () => new WasmBackend({ threads }),
  },
  "native-conv": { workload: "cnn", steps: 40, on: () => new NativeBackend(addon(), { threads }), off: () => new WasmConvNative(addon(), { threads }) },
} as const;
if (!(feature in FEATURES)) throw new Error(`--feature: expected one of ${Object.keys(FEATURES).join(", ")}, got "${feature}"`);
const chosen = FEATURES[feature as keyof typeof FEATURES];
const workload = chosen.workload;
const rounds = Number(arg("rounds", "5"));
const steps = Number(arg("steps", String(chosen.steps)));
const nBatches = 8;
const g = new Generator(1);
const x = Float32Array.from({ length: nBatches * BATCH * 784 }, () => g.uniform());
const y = Int32Array.from({ length: nBatches * BATCH }, (_, i) => (i * 7) % 10);
const variants = { on: chosen.on(), off: chosen.off() };
const rates: Record<keyof typeof variants, number[]> = { on: [], off: [] };
for (let r = 0; r < rounds; r++) {
  for (const name of ["on", "off"] as const) {
    const step = setupDescent(workload, variants[name], x, y, nBatches);
    for (let i = 0; i < 5; i++) step(i);
    const t = now();
    for (let i = 0; i < steps; i++) step(i);
    rates[name].push((steps * BATCH) / (now() - t));
  }
}
const on = median(rates.on), off = median(rates.off);
console.log(`RESULT ${JSON.stringify({ kind: "fusion", feature, workload, threads, rounds, steps, on: rates.on, off: rates.off })}`);
const setting = feature === "threads" ? "2 threads against 1" : `${threads} thread(s)`;
const where = feature === "native" ? "native against wasm" : feature === "native-conv" ? "on native" : "on wasm";
console.log(`${feature} (${workload === "cnn" ? "W2" : "W1"} ${where}, ${setting}): on ${on.toFixed(0)} samples/s, off ${off.toFixed(0)}; on / off ${(on / off).toFixed(2)}x`);
