/**
 * Grad mode: whether ops record the graph. It is scoped, never set: `noGrad(fn)` and
 * `enableGrad(fn)` change it for the duration of fn and restore it in `finally`.
 */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(mode: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = mode;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

/** Runs fn without recording: results carry no graph (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with recording on, even inside a noGrad scope. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

/** Runs fn with recording set to `mode`. */
export function setGradModeFor<T>(mode: boolean, fn: () => T): T {
  return withGradMode(mode, fn);
}
