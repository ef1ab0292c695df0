/**
 * Atomic file writes: write to a temporary file beside the target, fsync it, then rename over the
 * target, so a reader sees the old file or the new one and never half of one. A file-system error
 * names the target (not the temporary file) as the path it could not write.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, "w");
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    try {
      renameSync(tmp, path);
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === "string") Object.assign(err, { path, syscall: "write" });
    throw e;
  }
}
