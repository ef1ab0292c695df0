/**
 * Values in error messages, in bounded space: `preview` renders any value (a shape, an option, a
 * field read from a file) as short JSON, and `withinDepth` measures nesting without recursion, so
 * a hostile value (20,000 nested arrays, a cycle, a 40 MB string) can be named in a message without
 * overflowing the stack or flooding the terminal.
 */

/**
 * Whether a value nests objects and arrays at most `maxDepth` deep, found with an explicit stack;
 * a cycle counts as too deep.
 */
export function withinDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > maxDepth || seen.has(v)) return false;
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return true;
}

/**
 * A short rendering of any value for an error message: JSON for shallow values, cut at `max`
 * characters; deep or cyclic values are described by kind.
 */
export function preview(value: unknown, max = 60): string {
  if (value === undefined) return "undefined";
  if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") return `a ${typeof value}`;
  if (typeof value === "number") return String(value);
  if (typeof value === "string" && value.length > max) return `${JSON.stringify(value.slice(0, max))}...`;
  if (typeof value === "object" && value !== null && !withinDepth(value, 8)) return Array.isArray(value) ? "a deeply nested array" : "a deeply nested object";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? "an array" : "an object";
  }
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
