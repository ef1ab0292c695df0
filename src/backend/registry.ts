/**
 * Which backend new tensors are made on. The default is `cpu`; `withBackend(b, fn)` scopes another
 * one for the duration of fn and restores the previous one in `finally`. Ops run on the backend of
 * their inputs, so only creation functions consult this.
 */
import type { Backend } from "./backend.js";
import { cpu } from "./cpu/cpu.js";

let current: Backend = cpu;

export function currentBackend(): Backend {
  return current;
}

export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
