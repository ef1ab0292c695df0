/**
 * What every benchmark script shares: its `--name=value` flags, the median of repeated
 * measurements, and a monotonic clock in seconds.
 */

/** The value of `--name=value` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}

/** The median (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Seconds on a monotonic clock. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e9;
