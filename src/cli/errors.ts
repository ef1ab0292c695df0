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
    const fsError = fileSystemError(e);
    if (fsError) {
      console.error(`error: ${fsError}`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof ConfigError || e instanceof FileFormatError) {
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

/** Node's file-system error codes, as a person reads them. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder",
  EEXIST: "it already exists",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EMFILE: "too many open files",
  EBUSY: "it is busy",
};

const FS_VERBS: Readonly<Record<string, string>> = {
  mkdir: "cannot create the folder", open: "cannot open", read: "cannot read", write: "cannot write", rename: "cannot write",
  scandir: "cannot list the folder", stat: "cannot read", lstat: "cannot read", unlink: "cannot remove", rmdir: "cannot remove", rm: "cannot remove",
  copyfile: "cannot copy", access: "cannot access",
};

/**
 * A file-system error (an --out that is a file, a folder without permission, a full disk) as one
 * line: what could not be done, to which path, and why; undefined for any other error.
 */
export function fileSystemError(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!(err instanceof Error) || typeof err.code !== "string" || typeof err.syscall !== "string") return undefined;
  const reason = FS_REASONS[err.code] ?? err.code;
  const verb = FS_VERBS[err.syscall] ?? `cannot ${err.syscall}`;
  return err.path ? `${verb} ${err.path}: ${reason}` : `${verb}: ${reason}`;
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
