/**
 * Paths into a train config, as a search space names them: `optimizer.lr`, `batchSize`,
 * `model.layers[1].outFeatures`. A path is parsed once into keys and indices; reading follows
 * them, and writing returns a copy of the config with one value replaced (the base config a
 * study shares between its trials is never mutated).
 */
export type PathPart = string | number;

const PART = /^(?:[A-Za-z_$][\w$]*)(?:\[\d+\])*$/;

/** Splits `a.b[2].c` into ["a", "b", 2, "c"]; null when the text is not such a path. */
export function parsePath(path: string): PathPart[] | null {
  const parts: PathPart[] = [];
  for (const segment of path.split(".")) {
    if (!PART.test(segment)) return null;
    const [key, ...indices] = segment.split("[");
    parts.push(key!);
    for (const i of indices) parts.push(Number(i.slice(0, -1)));
  }
  return parts;
}

/** The value at a parsed path, or undefined where the path leads nowhere. */
export function valueAtPath(root: unknown, parts: readonly PathPart[]): unknown {
  let v: unknown = root;
  for (const p of parts) {
    if (v === null || typeof v !== "object") return undefined;
    if (typeof p === "number" ? !Array.isArray(v) : Array.isArray(v)) return undefined;
    v = (v as Record<PathPart, unknown>)[p];
  }
  return v;
}

/** Whether the path's container exists (an object for a key, an array long enough for an index). */
export function pathHasContainer(root: unknown, parts: readonly PathPart[]): boolean {
  const container = valueAtPath(root, parts.slice(0, -1));
  const last = parts[parts.length - 1];
  if (container === null || typeof container !== "object" || last === undefined) return false;
  if (typeof last === "number") return Array.isArray(container) && last < container.length;
  return !Array.isArray(container);
}

/** A deep copy of `root` with the value at `parts` replaced (its container must exist). */
export function withValueAtPath<T>(root: T, parts: readonly PathPart[], value: unknown): T {
  const copy = structuredClone(root);
  const container = valueAtPath(copy, parts.slice(0, -1)) as Record<PathPart, unknown>;
  container[parts[parts.length - 1]!] = value;
  return copy;
}
