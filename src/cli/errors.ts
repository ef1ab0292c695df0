/**
 * How the CLI ends: 0 for success, 1 for a failed run, 2 for bad usage (a bad flag, config value,
 * missing file). Errors print as one line naming what was wrong, never a stack trace.
 */
import { ConfigError, DescentError, FileFormatError } from "../errors/errors.js";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Runs a command's action, turning errors into a one-line message and the right exit code. */
export async function runAction(action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof FileFormatError || isMissingFile(e)) {
      console.error(`error: ${(e as Error).message}`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof DescentError) {
      console.error(`error: ${e.message}`);
      process.exitCode = EXIT_FAILED;
    } else {
      console.error(`error: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = EXIT_FAILED;
    }
  }
}

function isMissingFile(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "ENOENT";
}

/** Parses a numeric flag, or fails as bad usage naming the flag. */
export function numberFlag(flag: string, value: string | undefined, options: { integer?: boolean; positive?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (options.integer && !Number.isInteger(n)) || (options.positive && n <= 0)) {
    const what = options.integer ? (options.positive ? "a positive integer" : "an integer") : options.positive ? "a positive number" : "a number";
    throw new ConfigError(`${flag}: "${value}" is not ${what}`);
  }
  return n;
}

/** Checks a flag whose value is one of a few names, or fails as bad usage listing them. */
export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(`${flag}: "${value}" is not one of ${choices.join(", ")}`);
  }
  return value as T;
}
