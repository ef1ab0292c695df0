/**
 * Helpers for the command-line tests: they run `node bin/descent.js ...` as a user would, from
 * the build in dist/. `ensureBuilt` compiles once when dist is missing or older than src; a lock
 * folder keeps test files that start together from compiling over each other.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const BIN = join(ROOT, "bin", "descent.js");
const ENTRY = join(ROOT, "dist", "src", "cli", "main.js");
const LOCK = join(ROOT, "dist", ".cli-test-build.lock");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const stale = () => !existsSync(ENTRY) || statSync(ENTRY).mtimeMs < newestMtime(join(ROOT, "src"));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds dist/ with tsc when it is missing or older than src/. */
export async function ensureBuilt(): Promise<void> {
  if (!stale()) return;
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // another test file is building; take the lock over if it was left behind by a dead run
      if (waited > 180_000 || (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000)) rmSync(LOCK, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (!stale()) return;
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
    // tsc emits even with type errors (the typecheck is its own step); only a missing build is fatal here
    if (tsc.status !== 0) console.warn(`tsc exited ${tsc.status}:\n${tsc.stdout}${tsc.stderr}`);
    if (!existsSync(ENTRY)) throw new Error(`the build did not produce ${ENTRY}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The non-empty lines of a text. */
export const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== "");

/** Runs `descent ARGS` in `cwd` and resolves when it exits. */
export function runCli(args: string[], cwd: string, timeoutMs = 110_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, cwd);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Starts `descent ARGS` in `cwd` (stdout and stderr piped, not a terminal). */
export function spawnCli(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `descent-cli-${prefix}-`));
}

/** A small, fast experiment on the bundled digits: 600 / 200 / 200 samples, the MLP, 2 epochs. */
export const SMALL = { split: { train: 600, dev: 200, test: 200 }, model: "mlp", epochs: 2, batchSize: 64 };

/** Writes `config` as JSON to `dir/name` and returns the file name. */
export function writeConfig(dir: string, name: string, config: unknown): string {
  writeFileSync(join(dir, name), typeof config === "string" ? config : JSON.stringify(config, null, 2));
  return name;
}

export interface TerminalResult {
  code: number | null;
  /** everything the terminal received, escape sequences included */
  output: string;
}

/**
 * Runs a shell command in a real pseudo-terminal (util-linux `script`), `cols` x `rows`, as a
 * user's terminal would run it: stdout and stderr are the terminal, and a "\x03" written to
 * it is a Ctrl-C (the terminal sends SIGINT to the command). `keys` types `send` once the
 * output matches `when` (and `delayMs` more). The command is killed after `timeoutMs` (code
 * null): a hang.
 */
export function runInTerminal(
  command: string, cwd: string, options: { cols?: number; rows?: number; keys?: { when: RegExp; send: string; delayMs?: number }[]; timeoutMs?: number } = {},
): Promise<TerminalResult> {
  const { cols = 100, rows = 30, keys = [], timeoutMs = 90_000 } = options;
  return new Promise((resolvePromise, reject) => {
    const shell = `stty cols ${cols} rows ${rows}; exec ${command}`;
    const child = spawn("script", ["-qfec", shell, "/dev/null"], { cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "1" }, detached: true });
    let output = "";
    const pending = [...keys];
    child.stdout!.on("data", (d: Buffer) => {
      output += d.toString();
      while (pending.length > 0 && pending[0]!.when.test(output)) {
        const key = pending.shift()!;
        setTimeout(() => child.stdin!.write(key.send), key.delayMs ?? 0);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, "SIGKILL");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code: timedOut ? null : code, output });
    });
  });
}

/** Writes a small CSV of 150 flowers (features a, b, c, d; label "species" of 3 classes) to `path`. */
export function writeFlowersCsv(path: string): void {
  const species = ["setosa", "versicolor", "virginica"];
  const rows = Array.from({ length: 150 }, (_, i) => [...[0, 1, 2, 3].map((j) => (j === i % 3 ? 2 : 0) + ((i * 7 + j * 3) % 10) / 10), species[i % 3]].join(","));
  writeFileSync(path, ["a,b,c,d,species", ...rows].join("\n"));
}
