/**
 * The fused optimizer update (../../update.ts) on the WebAssembly SIMD stages of wasm/update.ts,
 * for float32 programs made only of the stages that module has (scale, weightDecay, momentum,
 * adagrad, rms, and Adam with bias correction and without amsgrad: every named optimizer but
 * momentumEma, amsgrad, Adam without bias correction and clipping by value); others run the
 * TypeScript kernel of ../update.ts, which gives the same bits.
 *
 * Memory: this file owns the module's memory from its heap base, cut into blocks (reused by
 * size, never shrunk): one per-call block laid out as [u][θ][slot]..., each n float32 values
 * rounded up to 16 bytes, and the resident slots. A call copies the gradient (as u), θ and the
 * slots in, runs the stages, and copies the slots and θ + u back out: O(n) copies at memcpy
 * speed around an O(n) kernel that runs at four lanes a step. Where the memory is shared
 * (the update-shared build over a SharedArrayBuffer, which growing never detaches), an optimizer
 * keeps its slots in it (`residentCopy`, through Backend.updateSlot): those are neither copied in
 * nor out, and a step of Adam copies 3 arrays instead of 7. Elsewhere the module owns its memory.
 */
import { stageSlots, type UpdateStage } from "../../update.js";
import { decodeBase64, growMemory, instantiateSimd, MAX_WASM_BYTES } from "./instantiate.js";
import { UPDATE_SHARED_WASM_BASE64 } from "./update-shared-wasm.generated.js";
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

/** The module instance and its memory: shared (resident slots possible) or its own. */
interface Engine {
  readonly ex: UpdateExports;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
}

let engine: Engine | null | undefined; // undefined: not tried yet; null: unavailable
let heap = new Float32Array(0);

function load(): Engine | null {
  if (engine === undefined) {
    engine = sharedEngine();
    if (!engine) {
      const ex = instantiateSimd<UpdateExports>(UPDATE_WASM_BASE64);
      engine = ex && { ex, memory: ex.memory, shared: false };
    }
    if (engine) top = Math.ceil(engine.ex.heapBase() / 16) * 16;
  }
  return engine;
}

/** The build over a shared memory, where SharedArrayBuffer exists (Node; cross-origin-isolated pages). */
function sharedEngine(): Engine | null {
  if (typeof SharedArrayBuffer === "undefined") return null;
  try {
    const bytes = decodeBase64(UPDATE_SHARED_WASM_BASE64);
    if (bytes.length === 0 || !WebAssembly.validate(bytes)) return null;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_WASM_BYTES / 65536, shared: true });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as UpdateExports;
    return { ex, memory, shared: true };
  } catch {
    return null;
  }
}

/** The module's memory from its heap base is cut into blocks: freed ones are kept by size. */
let top = 0;
const freeBlocks = new Map<number, number[]>();
/** The per-call block: [u][θ][the slots not resident]. */
let scratch = { at: 0, bytes: 0 };

/** A block of `bytes` (a multiple of 16), reused or cut from the top of the memory; null past MAX_WASM_BYTES. */
function takeBlock(e: Engine, bytes: number): number | null {
  const reused = freeBlocks.get(bytes)?.pop();
  if (reused !== undefined) return reused;
  if (!growMemory(e.memory, top + bytes)) return null;
  const at = top;
  top += bytes;
  return at;
}

function giveBlock(at: number, bytes: number): void {
  const list = freeBlocks.get(bytes);
  if (list) list.push(at);
  else freeBlocks.set(bytes, [at]);
}

const blockBytes = (n: number): number => Math.max(16, Math.ceil(n / 4) * 16);

/** Slot arrays that live in the module's memory (`residentCopy`), rewritten there by each call. */
const residents = new WeakSet<Float32Array>();
const release = new FinalizationRegistry<[number, number]>(([at, bytes]) => giveBlock(at, bytes));

/**
 * A copy of `values` that lives in the module's shared memory, for an optimizer slot that only
 * the update rewrites: a call takes it where it is, with no copy in or out (4 of the 7 copies a
 * step of Adam makes). Its block is reused once the array is collected. Null where the memory is
 * not shared (SharedArrayBuffer missing: a page that is not cross-origin isolated) or full; the
 * slot is then an ordinary array, copied per call.
 */
export function residentCopy(values: Float32Array): Float32Array | null {
  const e = load();
  if (!e?.shared) return null;
  const bytes = blockBytes(values.length);
  const at = takeBlock(e, bytes);
  if (at === null) return null;
  const view = new Float32Array(e.memory.buffer, at, values.length);
  view.set(values);
  residents.add(view);
  release.register(view, [at, bytes]);
  return view;
}

/** Whether `values` is a resident slot (`residentCopy`). */
export function isResident(values: Float32Array): boolean {
  return residents.has(values);
}

/** Whether the SIMD update (and the native one, which has the same stages) runs a stage: no clamp or ema; Adam bias-corrected, without AMSGrad. */
export function simdStage(s: UpdateStage): boolean {
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
  const e = load();
  if (!e || !stages.every(simdStage)) return false;
  const { ex } = e;
  const n = theta.length;
  const span = blockBytes(n);
  const resident = slots.map((slot) => residents.has(slot));
  const bytes = span * (2 + resident.filter((r) => !r).length);
  if (scratch.bytes < bytes) {
    const at = takeBlock(e, bytes);
    if (at === null) return false;
    if (scratch.bytes > 0) giveBlock(scratch.at, scratch.bytes);
    scratch = { at, bytes };
  }
  if (heap.length * 4 !== e.memory.buffer.byteLength) heap = new Float32Array(e.memory.buffer);
  let next = 2;
  const slotAt = slots.map((slot, j) => (resident[j] ? slot.byteOffset : scratch.at + span * next++));
  const at = (k: number): number => (k < 2 ? scratch.at + k * span : slotAt[k - 2]!);
  heap.set(grad, at(0) / 4);
  heap.set(theta, at(1) / 4);
  slots.forEach((slot, j) => resident[j] || heap.set(slot, at(2 + j) / 4));
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
  slots.forEach((slot, j) => resident[j] || slot.set(heap.subarray(at(2 + j) / 4, at(2 + j) / 4 + n)));
  out.set(heap.subarray(at(1) / 4, at(1) / 4 + n));
  return true;
}
