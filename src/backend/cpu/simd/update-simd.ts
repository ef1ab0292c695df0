/**
 * The fused optimizer update (../../update.ts) on the WebAssembly SIMD stages of wasm/update.ts,
 * for float32 programs made only of the stages that module has (scale, weightDecay, momentum,
 * adagrad, rms, and Adam with bias correction and without amsgrad: every named optimizer but
 * momentumEma, amsgrad, Adam without bias correction and clipping by value); others run the
 * TypeScript kernel of ../update.ts, which gives the same bits.
 *
 * Memory: this file owns the module's memory from its heap base, laid out per call as
 * [u][θ][slot 0][slot 1]..., each n float32 values rounded up to 16 bytes, grown on demand and
 * never shrunk. A call copies the gradient (as u), θ and the slots in, runs the stages, and copies
 * the slots and θ + u back out: O(n) copies at memcpy speed around an O(n) kernel that runs at
 * four lanes a step.
 */
import { stageSlots, type UpdateStage } from "../../update.js";
import { instantiateSimd } from "./instantiate.js";
import { UPDATE_WASM_BASE64 } from "./update-wasm.generated.js";

interface UpdateExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scale(u: number, n: number, f: number): void;
  weightDecay(u: number, theta: number, n: number, wd: number): void;
  adam(u: number, m: number, v: number, n: number, b1: number, k1: number, b2: number, k2: number, eps: number, bc1: number, bc2: number): void;
  apply(theta: number, u: number, n: number, f: number, scaled: number): void;
  momentum(u: number, b: number, n: number, mu: number, keep: number, dampened: number, nesterov: number, first: number): void;
  adagrad(u: number, s: number, n: number, eps: number, decay: number, decayed: number): void;
  rms(u: number, sq: number, ga: number, b: number, n: number, alpha: number, keep: number, eps: number, mu: number, centered: number, withMomentum: number): void;
}

const PAGE = 65536;
const MAX_BYTES = 2 ** 31;

let wasm: UpdateExports | null | undefined; // undefined: not tried yet; null: unavailable
let heap = new Float32Array(0);

function load(): UpdateExports | null {
  if (wasm === undefined) wasm = instantiateSimd<UpdateExports>(UPDATE_WASM_BASE64);
  return wasm;
}

function simdStage(s: UpdateStage): boolean {
  switch (s.op) {
    case "scale": case "weightDecay": case "momentum": case "adagrad": case "rms": return true;
    case "adam": return !s.amsgrad && s.bc1 !== null && s.bc2Sqrt !== null;
    case "clamp": case "ema": return false;
    default: return s satisfies never;
  }
}

/**
 * Runs the program on the SIMD stages and writes θ + u into `out`; false (nothing written) when
 * the module is unavailable or the program has a stage it lacks.
 */
export function applyUpdateSimd(
  stages: readonly UpdateStage[], theta: Float32Array, grad: Float32Array, slots: readonly Float32Array[], out: Float32Array,
): boolean {
  const ex = load();
  if (!ex || !stages.every(simdStage)) return false;
  const n = theta.length;
  const span = Math.ceil(n / 4) * 16;
  const base = ex.heapBase();
  const bytes = base + span * (2 + slots.length);
  if (bytes > MAX_BYTES) return false;
  const have = ex.memory.buffer.byteLength;
  if (bytes > have) ex.memory.grow(Math.ceil((bytes - have) / PAGE));
  if (heap.buffer !== ex.memory.buffer) heap = new Float32Array(ex.memory.buffer);
  const at = (k: number): number => base + k * span;
  heap.set(grad, at(0) / 4);
  heap.set(theta, at(1) / 4);
  slots.forEach((s, j) => heap.set(s, at(2 + j) / 4));
  const last = stages[stages.length - 1];
  const folded = last?.op === "scale" ? last.factor : null;
  let k = 2;
  stages.forEach((s, j) => {
    if (folded !== null && j === stages.length - 1) return;
    switch (s.op) {
      case "scale":
        ex.scale(at(0), n, s.factor);
        break;
      case "weightDecay":
        ex.weightDecay(at(0), at(1), n, s.wd);
        break;
      case "adam":
        ex.adam(at(0), at(k), at(k + 1), n, s.b1, 1 - s.b1, s.b2, 1 - s.b2, s.eps, s.bc1!, s.bc2Sqrt!);
        k += 2;
        break;
      case "momentum":
        ex.momentum(at(0), at(k), n, s.mu, 1 - s.dampening, s.dampening === 0 ? 0 : 1, s.nesterov ? 1 : 0, s.first ? 1 : 0);
        k += 1;
        break;
      case "adagrad":
        ex.adagrad(at(0), at(k), n, s.eps, s.decay ?? 1, s.decay === null ? 0 : 1);
        k += 1;
        break;
      case "rms": {
        const ga = s.centered ? at(k + 1) : 0;
        const b = s.momentum > 0 ? at(k + (s.centered ? 2 : 1)) : 0;
        ex.rms(at(0), at(k), ga, b, n, s.alpha, 1 - s.alpha, s.eps, s.momentum, s.centered ? 1 : 0, s.momentum > 0 ? 1 : 0);
        k += stageSlots(s);
        break;
      }
      default:
        throw new Error(`applyUpdateSimd: no SIMD stage "${s.op}"`);
    }
  });
  ex.apply(at(1), at(0), n, folded ?? 1, folded === null ? 0 : 1);
  slots.forEach((s, j) => s.set(heap.subarray(at(2 + j) / 4, at(2 + j) / 4 + n)));
  out.set(heap.subarray(at(1) / 4, at(1) / 4 + n));
  return true;
}
