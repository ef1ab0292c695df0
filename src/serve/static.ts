/**
 * Static files for the local servers (playground, dashboard), confined to one folder: the URL path
 * is decoded, resolved against the root, and refused unless the real path (symlinks followed) is
 * still inside the root's real path. Only plain files are served, with a content type by extension
 * and `nosniff`; anything else is a 404 that names nothing on the disk.
 */
import { createReadStream, realpathSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "application/x-ndjson; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

/** The real path of `urlPath` under `root`, or null when it leaves the root or is not a plain file. */
export function resolveUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  let rootReal: string, real: string;
  try {
    rootReal = realpathSync(root);
    real = realpathSync(resolve(rootReal, "." + (decoded.startsWith("/") ? decoded : "/" + decoded)));
  } catch {
    return null;
  }
  if (real !== rootReal && !real.startsWith(rootReal + sep)) return null;
  try {
    if (statSync(real).isDirectory()) return resolveUnder(root, join(decoded, "index.html"));
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

export function sendNotFound(res: ServerResponse): void {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  res.end("not found\n");
}

/** Sends the file at `urlPath` under `root`, or a 404. */
export function sendStatic(res: ServerResponse, root: string, urlPath: string, headers: Record<string, string> = {}): void {
  const path = resolveUnder(root, urlPath);
  if (path === null) return sendNotFound(res);
  res.writeHead(200, {
    "content-type": TYPES[extname(path).toLowerCase()] ?? "application/octet-stream",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
    ...headers,
  });
  createReadStream(path).pipe(res);
}
