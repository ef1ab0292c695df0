/**
 * Completes package-lock.json with entries for optional platform packages the registry could not
 * describe. The registry reachable here lacks rollup's binaries for other platforms (android,
 * darwin, win32, musl...), so `npm install` leaves them out of the lock, and `npm ci` then refuses
 * the lock as out of sync. Each missing optional dependency gets an entry with its version and
 * the os / cpu / libc its name states: npm ci skips it on this platform without fetching it.
 *
 *   node scripts/complete-lockfile.mjs     # after any `npm install` that rewrote the lock
 */
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

function platformOf(name) {
  const [os, cpu, abi] = name.split("/").pop().replace(/^rollup-/, "").split("-");
  const entry = { os: [os], cpu: [cpu] };
  if (os === "linux" && abi) entry.libc = [abi.startsWith("musl") ? "musl" : "glibc"];
  return entry;
}

let added = 0;
for (const meta of Object.values(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (packages[key] || !dep.startsWith("@rollup/rollup-")) continue;
    packages[key] = { version, dev: meta.dev ?? false, optional: true, ...platformOf(dep) };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`complete-lockfile: added ${added} optional platform entries`);
