/**
 * Loads one of the embedded WebAssembly SIMD modules (base64 in a *-wasm.generated.ts file,
 * written by scripts/build-wasm.mjs) synchronously. Null where the module does not validate
 * (a runtime without SIMD) or fails to instantiate: callers then run their TypeScript kernels.
 * `growMemory` is how the drivers make room in a module's memory.
 */

/** The most memory a driver lays out in one module (wasm32 addresses, int32 offsets). */
export const MAX_WASM_BYTES = 2 ** 31;
const PAGE = 65536;

/**
 * Grows `memory` to hold at least `bytes` bytes; false past MAX_WASM_BYTES or where the engine
 * refuses the pages (a RangeError), so that the caller can run its TypeScript kernel instead.
 */
export function growMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  if (bytes > MAX_WASM_BYTES) return false;
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / PAGE));
    return true;
  } catch {
    return false;
  }
}

export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function instantiateSimd<T>(base64: string): T | null {
  try {
    const bytes = decodeBase64(base64);
    if (bytes.length === 0 || !WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as T;
  } catch {
    return null;
  }
}
