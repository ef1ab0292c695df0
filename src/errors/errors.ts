/**
 * The error hierarchy of descent. Every user-facing failure is one of these, and its message
 * names what was wrong and where (the op or layer, the shapes, the file and offset), so a person
 * can act on it without reading our code.
 */
export class DescentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together: `matmul: [3,4] @ [5,2]: inner dimensions 4 and 5 differ`. */
export class ShapeError extends DescentError {}

/** A dtype that an op cannot take, or two dtypes that do not match. */
export class DTypeError extends DescentError {}

/** A bad hyperparameter, option or config value, named with what is allowed. */
export class ConfigError extends DescentError {}

/** Misuse of autograd: backward on a non-scalar without a gradient, a tensor outside the graph. */
export class GradError extends DescentError {}

/** A damaged, truncated or foreign file, named with the file and what is wrong. */
export class FileFormatError extends DescentError {}

/** Training produced NaN or infinity; the message carries the step and the likely cause. */
export class NonFiniteError extends DescentError {}

/** Formats a shape the way every message prints it: `[3,4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * A DescentError with `context: ` in front of its message (unless it is there already), of the same
 * class or of `as`, keeping the original stack; anything else is returned as it is.
 */
export function addContext(e: unknown, context: string, as?: new (message: string) => DescentError): unknown {
  if (!(e instanceof DescentError)) return e;
  const Class = as ?? (e.constructor as new (message: string) => DescentError);
  const out = new Class(e.message.startsWith(`${context}: `) ? e.message : `${context}: ${e.message}`);
  if (e.stack) out.stack = `${out.name}: ${out.message}\n${e.stack.split("\n").slice(1).join("\n")}`;
  return out;
}

/**
 * Runs `fn`; a DescentError it throws is thrown again with `where` (a file, a field) in front of
 * its message, so an error from deep inside names what it was reading: of the same class, or of
 * `as` (FileFormatError where the file's content is what does not fit).
 */
export function withContext<T>(where: string, fn: () => T, as?: new (message: string) => DescentError): T {
  try {
    return fn();
  } catch (e) {
    throw addContext(e, where, as);
  }
}
