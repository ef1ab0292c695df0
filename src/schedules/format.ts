/**
 * How a learning rate is written for people, everywhere one is shown (epoch lines, the report's
 * table and charts): three significant digits in exponent form, so a column of them reads alike
 * (1e-3, 5e-4, 2.5e-4, 5e-2) instead of switching between 0.001 and 5.00e-4 at a threshold; a
 * rate of 1 or more (rare) is written plainly.
 */
export function formatLr(lr: number): string {
  if (!Number.isFinite(lr) || lr === 0) return String(lr);
  const v = Number(lr.toPrecision(3));
  return Math.abs(v) >= 1 ? String(v) : v.toExponential();
}
