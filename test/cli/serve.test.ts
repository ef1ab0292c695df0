/**
 * `descent serve` and `descent playground` as a user runs them: bad usage is one line and exit 2;
 * started, each prints its URL (the dashboard's with its token), serves its page there, and the
 * dashboard's API refuses a request without the token. --host other than 127.0.0.1 warns.
 */
import type { ChildProcess } from "node:child_process";
import { get } from "node:http";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without type declarations
import { buildBrowser } from "../../scripts/build-browser.mjs";
import { ensureBuilt, ROOT, runCli, spawnCli, tempDir } from "./helpers.js";

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  await (buildBrowser as (out: string) => Promise<void>)(join(ROOT, "dist"));
  dir = tempDir("serve");
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGTERM");
});

/** Starts the command and resolves with the URL it prints, and what it wrote to stderr so far. */
function start(args: string[]): Promise<{ url: string; stderr: () => string }> {
  const child = spawnCli(args, dir);
  children.push(child);
  let out = "", err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, stderr: () => err });
    });
    child.on("close", (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
}

describe("descent serve and descent playground", () => {
  it("name a missing runs folder and a bad port in one line, exit 2", async () => {
    const missing = await runCli(["serve", join(dir, "nope")], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`error: RUNS_DIR ${join(dir, "nope")}: no such folder`);
    const port = await runCli(["playground", "--port", "http"], dir);
    expect(port.code).toBe(2);
    expect(port.stderr.trim()).toBe(`error: --port: "http" is not an integer`);
  });

  it("serve prints a URL with its token, serves the page, and refuses the API without the token", async () => {
    const { url } = await start(["serve", ".", "--port", "0"]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>descent serve</title>");
    const origin = new URL(url).origin;
    expect((await fetch(`${origin}/api/runs`)).status).toBe(403);
    const token = new URL(url).searchParams.get("token")!;
    const runs = await fetch(`${origin}/api/runs`, { headers: { "x-descent-token": token } });
    expect(await runs.json()).toEqual({ runs: [] });
  });

  it("playground serves the page and the bundle, and warns when listening beyond this machine", async () => {
    const { url, stderr } = await start(["playground", "--port", "0", "--host", "0.0.0.0"]);
    expect(stderr()).toContain("warning: listening on 0.0.0.0");
    const local = url.replace("0.0.0.0", "127.0.0.1");
    const page = await fetch(local);
    expect(await page.text()).toContain("<title>descent playground</title>");
    const bundle = await fetch(new URL("/browser/descent.js", local));
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await fetch(new URL("/src/cli/main.js", local))).status).toBe(404);
    // sent as is (fetch would normalize the dots away): an encoded ../ stays inside playground/
    const { hostname, port } = new URL(local);
    const status = await new Promise<number>((done, fail) =>
      get({ hostname, port, path: "/playground/..%2fsrc%2fcli%2fmain.js" }, (res) => { res.resume(); done(res.statusCode ?? 0); }).on("error", fail));
    expect(status).toBe(404);
  });
});
