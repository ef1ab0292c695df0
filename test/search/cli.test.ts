/**
 * `descent search` and `descent worker` as a newcomer meets them: --help with examples of the
 * command itself, and bad usage as one line with exit code 2 (a bad spec names the file and the
 * field; --resume with --config; a folder that already holds a study).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, runCli, tempDir, writeConfig } from "../cli/helpers.js";
import { blobConfig, writeBlobs } from "./helpers.js";

const dir = tempDir("search-cli");
const csv = writeBlobs(dir, 120);

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe("descent search / worker", () => {
  for (const [cmd, mustMention] of [
    ["search", ["--config", "--out", "--resume", "--workers", "--redis", "--parallel", "best.json"]],
    ["worker", ["--redis", "--queue", "--out", "--stalled-ms"]],
  ] as const) {
    it(`descent ${cmd} --help: usage, options and examples of the command, exit 0`, async () => {
      const r = await runCli([cmd, "--help"], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: descent ${cmd}\\b`, "m"));
      for (const word of mustMention) expect(r.stdout).toContain(word);
      const examples = r.stdout.slice(r.stdout.search(/^Examples?:/m)).split("\n").filter((l) => l.includes("$ "));
      expect(examples.length).toBeGreaterThan(0);
      for (const e of examples) expect(e).toMatch(new RegExp(`\\$ npx descent ${cmd}\\b`));
    });
  }

  it("bad usage is one line and exit code 2", async () => {
    const usage = async (args: string[]) => {
      const r = await runCli(args, dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      return r.stderr.trim();
    };
    writeConfig(dir, "bad.json", { base: blobConfig(csv), space: { "optimizer.lr": { type: "log", low: 0, high: 1 } }, trials: 2 });
    expect(await usage(["search", "--config", "bad.json"])).toBe('error: search spec bad.json: space["optimizer.lr"].low: expected a number > 0, got 0');
    expect(await usage(["search"])).toBe("error: give --config <search spec> (or --resume <study folder>)");
    expect(await usage(["search", "--config", "nope.json"])).toBe("error: search spec nope.json: cannot read the file (no such file)");
    expect(await usage(["search", "--resume", "x", "--config", "bad.json"])).toMatch(/^error: --resume continues a study with its own spec/);
    expect(await usage(["search", "--resume", "nowhere"])).toBe(`error: ${join(dir, "nowhere")}: no such study folder`);
    expect(await usage(["search", "--resume", "."])).toBe(`error: ${dir}: no study.json there (is it a study folder?)`);
    expect(await usage(["search", "--config", "bad.json", "--workers", "0"])).toBe('error: --workers: "0" is not a positive integer');
    expect(await usage(["worker"])).toBe("error: required option '--redis <url>' not specified (see descent worker --help)");
    expect(await usage(["worker", "--redis", "localhost:6379"])).toBe("error: redis localhost:6379: expected a URL like redis://[:password@]host:6379");
  }, 60_000);

  it("refuses a folder that already holds a study", async () => {
    writeConfig(dir, "ok.json", { base: { ...blobConfig(csv, 1), split: { train: 80, dev: 20, test: 20 } }, space: { "optimizer.lr": { type: "log", low: 1e-3, high: 1e-1 } }, trials: 1 });
    const first = await runCli(["search", "--config", "ok.json", "--out", "s"], dir);
    expect(first.code).toBe(0);
    const again = await runCli(["search", "--config", "ok.json", "--out", "s"], dir);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(`error: study folder ${join(dir, "s")} already holds a study: choose another --out, or continue it with --resume ${join(dir, "s")}`);
  }, 60_000);
});
