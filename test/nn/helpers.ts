/**
 * Shared by the nn tests: a cpu backend that records the storage handed back to it.
 */
import { vi } from "vitest";
import { CpuBackend } from "../../src/backend/cpu/cpu.js";

/** A fresh cpu backend, and the set of every storage handle it has been asked to dispose. */
export function disposalTracking(): { backend: CpuBackend; disposed: Set<object> } {
  const backend = new CpuBackend();
  const disposed = new Set<object>();
  const dispose = backend.dispose.bind(backend);
  vi.spyOn(backend, "dispose").mockImplementation((id) => {
    disposed.add(id);
    dispose(id);
  });
  return { backend, disposed };
}
