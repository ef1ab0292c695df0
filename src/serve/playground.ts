/**
 * `descent playground`: serves the built static site (dist/playground, which imports
 * dist/browser/descent.js) on 127.0.0.1. The folder is a static site by itself, so the server
 * only maps URLs to it: / goes to /playground/, and nothing outside playground/ and browser/ is
 * served. The page is cross-origin isolated (COOP/COEP), so a threaded backend may use it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { listen, type ListenOptions, type Listening } from "./listen.js";
import { sendNotFound, sendStatic } from "./static.js";

/** The package's dist/ folder (this file is dist/src/serve/playground.js once built). */
export const DIST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const ISOLATION_HEADERS = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };

export interface PlaygroundOptions extends ListenOptions {
  /** the folder holding playground/ and browser/ (default the package's dist/) */
  siteDir?: string;
}

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Listening & { url: string }> {
  const site = options.siteDir ?? DIST_DIR;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/" || path === "/playground") {
      res.writeHead(302, { location: "/playground/" }).end();
      return;
    }
    // each folder is its own root, so an encoded "../" cannot step from one into the rest of dist/
    const folder = ["playground", "browser"].find((f) => path.startsWith(`/${f}/`));
    if (folder === undefined) return sendNotFound(res);
    sendStatic(res, join(site, folder), path.slice(folder.length + 1), ISOLATION_HEADERS);
  };
  const listening = await listen(handler, options, 8765);
  return { ...listening, url: `${listening.origin}/playground/` };
}
