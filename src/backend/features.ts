/**
 * What this runtime offers the kernels, probed once by validating tiny WebAssembly modules:
 * SIMD (f32x4 arithmetic), relaxed SIMD (f32x4.relaxed_madd, fused multiply-add where the
 * hardware has it) and threads (shared memory that workers can use). `descent env` prints these
 * beside the backend in use.
 */

/** A module with one function () -> v128 whose body is `instr` (v128.const operands pushed first). */
function v128Module(consts: number, instr: number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00];
  for (let i = 0; i < consts; i++) body.push(0xfd, 0x0c, ...new Array<number>(16).fill(0));
  body.push(...instr, 0x0b);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}

export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  /** shared WebAssembly memory and SharedArrayBuffer: what a worker pool needs */
  sharedMemory: boolean;
}

let probed: WasmFeatures | undefined;

export function wasmFeatures(): WasmFeatures {
  if (probed) return probed;
  const ok = (bytes: Uint8Array<ArrayBuffer>): boolean => {
    try {
      return WebAssembly.validate(bytes);
    } catch {
      return false;
    }
  };
  let sharedMemory = false;
  try {
    sharedMemory = typeof SharedArrayBuffer !== "undefined" && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    sharedMemory = false;
  }
  probed = {
    simd: ok(v128Module(2, [0xfd, 0xe4, 0x01])), // f32x4.add
    relaxedSimd: ok(v128Module(3, [0xfd, 0x85, 0x02])), // f32x4.relaxed_madd
    sharedMemory,
  };
  return probed;
}
