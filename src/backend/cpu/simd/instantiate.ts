/**
 * Loads one of the embedded WebAssembly SIMD modules (base64 in a *-wasm.generated.ts file,
 * written by scripts/build-wasm.mjs) synchronously. Null where the module does not validate
 * (a runtime without SIMD) or fails to instantiate: callers then run their TypeScript kernels.
 */

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
