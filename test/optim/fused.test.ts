/**
 * The fused optimizer step equals the step as separate ops bit for bit, for every named optimizer
 * and the variants of its options, in float32 and float64, on the wasm and native backends, over several steps (so bias
 * corrections, first momentum steps and accumulators all move), with parameter groups and clipping;
 * and the in-place slots never leak: snapshots and loaded tensors stay as they were.
 */
import { describe, expect, it, vi } from "vitest";
import { currentBackend } from "../../src/backend/registry.js";
import type { CpuBackend } from "../../src/backend/cpu/cpu.js";
import { isResident } from "../../src/backend/cpu/simd/update-simd.js";
import {
  createBackend, createOptimizer, Optimizer, OPTIMIZER_NAMES, Parameter, tensor, withBackend, type OptimizerName, type Tensor,
} from "../../src/index.js";
import { nativeAddon } from "../../src/backend/native/native.js";
import type { DType } from "../../src/tensor/dtype.js";

const VARIANTS: Record<OptimizerName, Record<string, unknown>[]> = {
  sgd: [{}, { weightDecay: 0.1 }, { momentum: 0.8, dampening: 0.3 }, { clipValue: 0.5 }],
  momentum: [{}, { nesterov: true, weightDecay: 0.01 }],
  nesterov: [{}],
  momentumEma: [{}, { biasCorrection: true, weightDecay: 0.05 }],
  adagrad: [{}, { lrDecay: 0.1, initialAccumulatorValue: 0.2, weightDecay: 0.01 }],
  rmsprop: [{}, { centered: true }, { momentum: 0.9 }, { centered: true, momentum: 0.5, weightDecay: 0.02 }],
  adam: [{}, { amsgrad: true }, { biasCorrection: false, weightDecay: 0.1 }, { clipValue: 0.3, lr: (t: number) => 1e-2 / (1 + t) }],
  adamw: [{}, { amsgrad: true, weightDecay: 0.5, decoupledWeightDecay: true }, { clipNorm: 0.7 }, { groups: [{ select: "biasAndNorm", weightDecay: 0 }] }],
};

// 2,202 and 9 values: whole SIMD lanes (4 in WebAssembly, 8 in the native kernel), a tail, and
// more than two of the native kernel's blocks of 1,024
const COLS = 1101;
function params(dtype: DType): [string, Parameter][] {
  const w = tensor(Array.from({ length: 2 * COLS }, (_, i) => [0.5, -1, 2, 0.25, 1e-3, -7][i % 6]! * (1 + (i % 97) / 10)), { dtype, shape: [2, COLS] });
  const b = tensor(Array.from({ length: 9 }, (_, i) => 0.1 - 0.03 * i), { dtype });
  return [["fc.weight", new Parameter(w)], ["fc.bias", new Parameter(b)]];
}

function grads(t: number, dtype: DType): Record<string, Tensor> {
  return {
    "fc.weight": tensor(Array.from({ length: 2 * COLS }, (_, i) => [Math.sin(t + 1), Math.cos(2 * t), 0.3 - 0.1 * t, Math.sin(3 * t) * 2, 1e-4 * t, -0.9][i % 6]! + 0.01 * (i % 89)), { dtype, shape: [2, COLS] }),
    "fc.bias": tensor(Array.from({ length: 9 }, (_, i) => 0.5 * Math.cos(t + i) - 0.05 * i), { dtype }),
  };
}

const bits = (t: Tensor): number[] => Array.from(t.dataSync());

function slotsOf(opt: Optimizer): Record<string, number[]> {
  return Object.fromEntries(Object.entries(opt.stateDict().tensors).map(([k, t]) => [k, bits(t)]));
}

/** The backends whose fused kernels differ: wasm (WebAssembly SIMD) and native where its addon runs. */
const BACKEND_NAMES = nativeAddon() ? ["wasm", "native"] : ["wasm"];

describe("fused optimizer step", () => {
  for (const backendName of BACKEND_NAMES) for (const dtype of ["float32", "float64"] as const) {
    for (const name of OPTIMIZER_NAMES) {
      VARIANTS[name].forEach((options, v) => {
        it(`${name} variant ${v} (${dtype}, ${backendName}) equals the unfused step bit for bit`, () => withBackend(createBackend(backendName), () => {
          const pf = params(dtype), pu = params(dtype);
          const fused = createOptimizer(name, pf, options as never);
          const plain = new Optimizer(pu, fused.transformation, { name, hyperparameters: fused.hyperparameters, fused: false });
          for (let t = 0; t < 6; t++) {
            // step 3 updates only the weight: the bias's state and step count must stay put
            const g = grads(t, dtype);
            if (t === 3) delete g["fc.bias"];
            fused.step(g);
            plain.step(g);
            for (let i = 0; i < pf.length; i++) expect(bits(pf[i]![1]), `${pf[i]![0]} after step ${t + 1}`).toEqual(bits(pu[i]![1]));
            expect(slotsOf(fused)).toEqual(slotsOf(plain));
            expect(fused.stateDict().meta).toEqual(plain.stateDict().meta);
          }
        }));
      });
    }
  }

  for (const backendName of BACKEND_NAMES) {
    it(`adam equals the unfused step bit for bit once its bias corrections round to 1 (${backendName})`, () => withBackend(createBackend(backendName), () => {
      // with betas of 0.5, 1 - 0.5^t is 1 in float32 from step 25 on: the kernel may skip dividing by it
      const pf = params("float32"), pu = params("float32");
      const fused = createOptimizer("adam", pf, { lr: 1e-2, betas: [0.5, 0.5] });
      const plain = new Optimizer(pu, fused.transformation, { name: "adam", hyperparameters: fused.hyperparameters, fused: false });
      for (let t = 0; t < 32; t++) {
        fused.step(grads(t, "float32"));
        plain.step(grads(t, "float32"));
      }
      for (let i = 0; i < pf.length; i++) expect(bits(pf[i]![1]), pf[i]![0]).toEqual(bits(pu[i]![1]));
      expect(slotsOf(fused)).toEqual(slotsOf(plain));
    }));
  }

  it("runs on the backend's fused kernel (one call per parameter) for a fusable chain", () => withBackend(createBackend("wasm"), () => {
    const spy = vi.spyOn(currentBackend(), "applyUpdate");
    const opt = createOptimizer("adamw", params("float32"), { lr: 1e-3 });
    opt.step(grads(0, "float32"));
    expect(spy).toHaveBeenCalledTimes(2);
    // its Adam moments live in the update kernel's memory (where it is shared: Node), not copied per step
    const backend = currentBackend() as CpuBackend;
    for (const call of spy.mock.calls) {
      const slots = call[3].map((id) => backend.view(id) as Float32Array);
      expect(slots).toHaveLength(2);
      for (const slot of slots) expect(isResident(slot)).toBe(typeof SharedArrayBuffer !== "undefined");
    }
    spy.mockClear();
    createOptimizer("adam", params("float32"), { clipNorm: 1 }).step(grads(0, "float32"));
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  }));

  it("a snapshot (stateDict, state) and the tensors given to loadStateDict never change afterwards", () => {
    const opt = createOptimizer("adam", params("float64"), { lr: 0.1 });
    opt.step(grads(0, "float64"));
    const snap = opt.stateDict();
    const before = Object.fromEntries(Object.entries(snap.tensors).map(([k, t]) => [k, bits(t)]));
    const mu = opt.state.inner["0.scaleByAdam"]!.slots.mu!["fc.weight"]!;
    const muBefore = bits(mu);
    opt.step(grads(1, "float64"));
    expect(Object.fromEntries(Object.entries(snap.tensors).map(([k, t]) => [k, bits(t)]))).toEqual(before);
    expect(bits(mu)).toEqual(muBefore);
    const other = createOptimizer("adam", params("float64"), { lr: 0.1 });
    other.loadStateDict(snap);
    other.step(grads(1, "float64"));
    expect(Object.fromEntries(Object.entries(snap.tensors).map(([k, t]) => [k, bits(t)]))).toEqual(before);
  });
});
