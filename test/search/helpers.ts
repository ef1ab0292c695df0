/**
 * Helpers for the search tests: a tiny classification data set as a CSV file (three Gaussian
 * blobs in four dimensions, a few hundred rows, so a trial trains in a fraction of a second), a
 * base train config over it, and a Redis server of our own on 127.0.0.1 and a free port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Generator } from "../../src/tensor/random.js";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const haveRedis = existsSync(REDIS_SERVER);

/** Outside CI a missing redis-server skips the Redis tests (saying so); under CI it is an error. */
export function requireRedisOrSkip(what: string): boolean {
  if (haveRedis) return true;
  if (process.env["CI"]) throw new Error(`${what}: ${REDIS_SERVER} is missing (apt-get install redis-server); CI must run these tests`);
  console.warn(`${what} skipped: ${REDIS_SERVER} is missing (apt-get install redis-server to run them)`);
  return false;
}

/** Writes dir/data.csv: `rows` samples of 3 classes, 4 features; returns its path. */
export function writeBlobs(dir: string, rows = 400, seed = 1): string {
  const rng = new Generator(seed);
  const lines = ["x1,x2,x3,x4,label"];
  for (let i = 0; i < rows; i++) {
    const c = i % 3;
    const x = [0, 1, 2, 3].map((j) => rng.normal() + (j === c ? 1.5 : 0));
    lines.push(`${x.map((v) => v.toFixed(4)).join(",")},${c}`);
  }
  const path = join(dir, "data.csv");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** A train config for the blobs: a 4-16-3 MLP, Adam, a few epochs. */
export function blobConfig(csv: string, epochs = 4): Record<string, unknown> {
  return {
    data: { source: "csv", path: csv, label: "label" },
    split: { train: 240, dev: 80, test: 80 },
    model: { layers: [{ type: "linear", outFeatures: 16 }, { type: "relu" }, { type: "linear", outFeatures: 3 }] },
    optimizer: { name: "adam", lr: 0.01 },
    epochs,
    batchSize: 32,
    earlyStopping: false,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts redis-server on 127.0.0.1 and a free port, with a password, no persistence. */
export async function startRedis(password = "s3cret"): Promise<RedisServer> {
  const port = await freePort();
  const proc: ChildProcess = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/i.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    }),
  };
}
