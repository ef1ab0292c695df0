/**
 * `descent serve [RUNS_DIR]`: the live dashboard. caviar: every run in the folder side by side;
 * panda: one live run's curves as it trains (server-sent events that follow its metrics.jsonl)
 * and controls on it, which this server appends to the run's control.jsonl for the training
 * process to apply (src/train/control-file.ts). Pages come from dist/dashboard.
 *
 * Security, for a server that can steer training on this machine:
 * - it binds 127.0.0.1 unless --host says otherwise (with a warning);
 * - every /api and /files request needs the per-start token (random, printed in the URL it opens),
 *   as the x-descent-token header or a token= query parameter; a control (POST) needs the header,
 *   which a cross-site form cannot send and a cross-site fetch cannot send without a preflight that
 *   this server never grants;
 * - a request whose Origin is not this server's is refused, and so is one whose Host is not the
 *   address it listens on (a DNS-rebinding page names another host; bound to 0.0.0.0 or ::, any
 *   Host is taken, and the token and the Origin check remain);
 * - it serves only files under the runs folder (real paths, symlinks followed) and its own page.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { appendFileSync, closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import { ConfigError, DescentError } from "../errors/errors.js";
import { CONTROL_FILE } from "../train/control-file.js";
import { parseControlCommand } from "../train/control.js";
import { listen, type ListenOptions, type Listening } from "./listen.js";
import { DIST_DIR } from "./playground.js";
import { findRunFolders, resolveRun, runRecords, summarizeRun } from "./runs.js";
import { sendNotFound, sendStatic } from "./static.js";
import { parseJson } from "../io/json.js";

export interface DashboardOptions extends ListenOptions {
  runsDir: string;
  /** the folder holding dashboard/ (default the package's dist/) */
  siteDir?: string;
  /** the token (default: 24 random bytes, hex) */
  token?: string;
  /** how often the live stream looks at metrics.jsonl, in ms (default 250) */
  pollMs?: number;
}

export interface Dashboard extends Listening {
  /** the URL to open, token included */
  url: string;
  token: string;
}

const MAX_BODY = 4096;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(JSON.stringify(body));
}

function sameToken(given: string | null | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ConfigError(`request body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const runsDir = resolve(options.runsDir);
  if (!existsSync(runsDir) || !statSync(runsDir).isDirectory()) throw new ConfigError(`RUNS_DIR ${options.runsDir}: no such folder`);
  const site = join(options.siteDir ?? DIST_DIR, "dashboard");
  if (!existsSync(join(site, "index.html"))) throw new ConfigError(`the dashboard is not built (${site} is missing): run npm run build`);
  const token = options.token ?? randomBytes(24).toString("hex");
  let allowedHosts: Set<string> = new Set();
  // bound to every interface (--host 0.0.0.0), the server is reached by names it cannot know
  const anyHost = options.host === "0.0.0.0" || options.host === "::";

  const refuse = (res: ServerResponse, status: number, why: string) => sendJson(res, status, { error: why });

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const host = req.headers.host ?? "";
    if (!anyHost && !allowedHosts.has(host)) return refuse(res, 403, `Host ${JSON.stringify(host)} is not this server`);
    // a browser names the page a request comes from; only this server's own page may call it
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return refuse(res, 403, `Origin ${origin} may not use this dashboard`);
    if (path === "/" || path === "/index.html" || path === "/dashboard.js" || path === "/style.css") {
      if (req.method !== "GET") return refuse(res, 405, "GET only");
      return sendStatic(res, site, path === "/" ? "/index.html" : path);
    }
    const given = req.headers["x-descent-token"];
    const headerToken = Array.isArray(given) ? given[0] : given;
    const authorized = sameToken(headerToken, token) || (req.method === "GET" && sameToken(url.searchParams.get("token"), token));
    if (!authorized) return refuse(res, 403, "missing or wrong token: open the URL that descent serve printed");

    if (req.method === "GET" && path === "/api/runs") {
      return sendJson(res, 200, { runs: findRunFolders(runsDir).map((d) => summarizeRun(runsDir, d)) });
    }
    if (req.method === "GET" && path.startsWith("/files/")) return sendStatic(res, runsDir, path.slice("/files".length));
    const name = url.searchParams.get("run") ?? "";
    const dir = resolveRun(runsDir, name);
    if (path.startsWith("/api/") && dir === null) return refuse(res, 404, `no run ${JSON.stringify(name)} in ${runsDir}`);
    if (req.method === "GET" && path === "/api/run") return sendJson(res, 200, { run: summarizeRun(runsDir, dir!), ...runRecords(dir!) });
    if (req.method === "GET" && path === "/api/stream") return stream(req, res, join(dir!, "metrics.jsonl"), Number(url.searchParams.get("from") ?? 0));
    if (req.method === "POST" && path === "/api/control") {
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return refuse(res, 415, "a control is a JSON body (content-type application/json)");
      try {
        const command = parseControlCommand(parseJson(await readBody(req), { source: "the request body" }));
        appendFileSync(join(dir!, CONTROL_FILE), JSON.stringify({ ...command, sent: new Date().toISOString() }) + "\n");
        return sendJson(res, 202, { queued: command });
      } catch (e) {
        return refuse(res, 400, e instanceof DescentError ? e.message : `not JSON: ${(e as Error).message}`);
      }
    }
    return sendNotFound(res);
  };

  /** Server-sent events: each complete line appended to the file from byte `from` on, as it comes. */
  function stream(req: IncomingMessage, res: ServerResponse, file: string, from: number): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    let offset = Number.isInteger(from) && from >= 0 ? from : 0;
    let carry = "";
    const tick = () => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return;
      }
      if (size <= offset) return;
      const buf = Buffer.alloc(size - offset);
      const fd = openSync(file, "r");
      try {
        readSync(fd, buf, 0, buf.length, offset);
      } finally {
        closeSync(fd);
      }
      offset = size;
      const lines = (carry + buf.toString("utf8")).split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") res.write(`data: ${line}\n\n`);
    };
    tick();
    const timer = setInterval(tick, options.pollMs ?? 250);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(timer);
      clearInterval(keepAlive);
    });
  }

  const listening = await listen((req, res) => {
    handler(req, res).catch((e: unknown) => {
      if (!res.headersSent) refuse(res, 500, (e as Error).message);
      else res.end();
    });
  }, options, 8766);
  const port = new URL(listening.origin).port;
  const hosts = [new URL(listening.origin).host, `localhost:${port}`, `127.0.0.1:${port}`];
  allowedHosts = new Set(hosts);
  return { ...listening, token, url: `${listening.origin}/?token=${token}` };
}
