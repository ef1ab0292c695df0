/**
 * Builds descent's native kernels (native/*.c: the float32 matrix product, the convolution,
 * elementwise kernels and the optimizer update, a Node-API addon) into
 * native/build/descent.node with the system's C compiler, against the headers of the Node that runs
 * this script. Optional by design: where there is no compiler, no Node headers, or the CPU is not
 * x86-64, it says why in one line and exits 0, and descent runs its WebAssembly backend instead
 * (src/backend/native/native.ts loads the addon only if this built it).
 *
 *   node scripts/build-native.mjs           # skips when the addon is newer than its source
 *   node scripts/build-native.mjs --force
 *
 * Run by `npm ci` / `npm install` (the package's install script) and by `npm run build`.
 * DESCENT_NATIVE=0 in the environment skips the build.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = ["addon.c", "sgemm.c", "conv.c", "elementwise.c", "reduce.c", "update.c"].map((f) => join(root, "native", f));
const inputs = [...sources, join(root, "native", "addon.h"), join(root, "native", "gemm.h"), fileURLToPath(import.meta.url)];
const target = join(root, "native", "build", "descent.node");
const say = (line) => console.log(`descent native: ${line}`);

function headers() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, "include", "node"),
    join(dirname(process.execPath), "..", "include", "node"),
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, "node_api.h"))) ?? null;
}

function build() {
  if (process.env.DESCENT_NATIVE === "0") return say("skipped (DESCENT_NATIVE=0)");
  if (process.arch !== "x64") return say(`not built: the kernel is x86-64 AVX2 code and this CPU is ${process.arch}; descent uses its WebAssembly backend`);
  const fresh = existsSync(target) && inputs.every((f) => statSync(f).mtimeMs <= statSync(target).mtimeMs);
  if (fresh && !process.argv.includes("--force")) return;
  const include = headers();
  if (!include) return say("not built: no Node headers (node_api.h) found; descent uses its WebAssembly backend");
  const cc = process.env.CC ?? "cc";
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  const args = ["-O3", "-std=gnu11", "-fPIC", "-shared", "-pthread", "-ffp-contract=off", "-fvisibility=hidden", `-I${include}`, ...sources, "-o", partial];
  const r = spawnSync(cc, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    rmSync(partial, { force: true });
    const why = r.error ? `${cc} could not run (${r.error.message})` : (r.stderr.trim().split("\n")[0] ?? `${cc} failed`);
    return say(`not built: ${why}; descent uses its WebAssembly backend`);
  }
  renameSync(partial, target);
  say(`built ${target.slice(root.length + 1)}`);
}

build();
