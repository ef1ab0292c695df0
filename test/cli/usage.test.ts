/**
 * What a newcomer sees first: every --help (with examples), and the exit codes and one-line
 * messages of bad usage (2) and of a failed run (1). Usage errors are caught before any training,
 * so these runs are quick.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, lines, ROOT, runCli, SMALL, tempDir, writeConfig } from "./helpers.js";

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("usage");
  writeConfig(dir, "small.json", SMALL);
});

describe("descent --help", () => {
  it("lists the commands, examples and exit codes, and exits 0", async () => {
    const r = await runCli(["--help"], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    for (const cmd of ["train", "compare", "evaluate", "predict", "report", "conformance"]) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
    expect(r.stdout).toMatch(/^Examples:$/m);
    expect(r.stdout).toContain("Exit codes: 0 success, 1 a failed run, 2 bad usage");
  });

  it("every `descent <command>` the README and docs/ name is a command that exists", async () => {
    const r = await runCli(["--help"], dir);
    const commands = new Set([...r.stdout.matchAll(/^ {2}(\w+)\b/gm)].map((m) => m[1]));
    const docs = [join(ROOT, "README.md"), ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(ROOT, "docs", f))];
    for (const doc of docs) {
      for (const m of readFileSync(doc, "utf8").matchAll(/`(?:npx )?descent ([a-z]+)/g)) expect(commands.has(m[1]!), `${doc} names descent ${m[1]}`).toBe(true);
    }
  });

  it("--version prints the package version", async () => {
    const r = await runCli(["--version"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  for (const [cmd, mustMention] of [
    ["train", ["--config", "--resume", "--epochs", "--lr", "--optimizer", "--json"]],
    ["compare", ["--optimizers", "--schedules", "--inits", "--batch-sizes"]],
    ["evaluate", ["<run>", "--split"]],
    ["predict", ["<run>", "<file>", "--top"]],
    ["report", ["<run>"]],
    ["conformance", ["<path>", "--check", "--out"]],
  ] as const) {
    it(`descent ${cmd} --help: usage, options and examples, exit 0`, async () => {
      const r = await runCli([cmd, "--help"], dir);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: descent ${cmd}\\b`, "m"));
      for (const word of mustMention) expect(r.stdout).toContain(word);
      expect(r.stdout).toMatch(/^Examples?:\n\s+\$ (npx )?descent /m);
      // every example runs the command the help is about
      const examples = r.stdout.slice(r.stdout.search(/^Examples?:/m)).split("\n").filter((l) => l.includes("$ "));
      expect(examples.length).toBeGreaterThan(0);
      for (const e of examples) expect(e).toMatch(new RegExp(`\\$ (npx )?descent ${cmd}\\b`));
    });
  }

  it("descent help train is the same as descent train --help", async () => {
    const [a, b] = await Promise.all([runCli(["help", "train"], dir), runCli(["train", "--help"], dir)]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });
});

/** A usage error: exit 2, nothing on stdout, one line on stderr that starts with "error:". */
async function usageError(args: string[], cwd = dir): Promise<string> {
  const r = await runCli(args, cwd);
  expect(r.stdout, `stdout of descent ${args.join(" ")}`).toBe("");
  expect(lines(r.stderr), `stderr of descent ${args.join(" ")}`).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.code, `exit code of descent ${args.join(" ")}: ${r.stderr}`).toBe(2);
  return r.stderr.trim();
}

describe("bad usage exits 2 with one line naming the problem", () => {
  it("an unknown command, with a suggestion", async () => {
    expect(await usageError(["frobnicate"])).toBe("error: unknown command 'frobnicate' (see descent --help)");
    expect(await usageError(["trian"])).toBe("error: unknown command 'trian' (Did you mean train?) (see descent --help)");
  });

  it("an unknown flag, a flag without its value, a missing or extra argument", async () => {
    expect(await usageError(["train", "--frob"])).toBe("error: unknown option '--frob' (see descent train --help)");
    expect(await usageError(["train", "--lr"])).toBe("error: option '--lr <number>' argument missing (see descent train --help)");
    expect(await usageError(["report"])).toBe("error: missing required argument 'run' (see descent report --help)");
    expect(await usageError(["report", "a", "b"])).toMatch(/^error: too many arguments for 'report'/);
  });

  it("an unknown optimizer names the flag and the choices", async () => {
    const msg = await usageError(["train", "--config", "small.json", "--optimizer", "adamx", "--out", "never"]);
    expect(msg).toBe('error: --optimizer: "adamx" is not one of sgd, momentum, nesterov, momentumEma, adagrad, rmsprop, adam, adamw');
    expect(await usageError(["train", "--model", "resnet"])).toBe('error: --model: "resnet" is not one of mlp, cnn');
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("a negative learning rate and other bad numbers", async () => {
    expect(await usageError(["train", "--config", "small.json", "--lr", "-1"])).toBe('error: --lr: "-1" is not a positive number');
    expect(await usageError(["train", "--config", "small.json", "--lr=-1"])).toBe('error: --lr: "-1" is not a positive number');
    expect(await usageError(["train", "--epochs", "ten"])).toBe('error: --epochs: "ten" is not a positive integer');
    expect(await usageError(["train", "--batch-size", "0"])).toBe('error: --batch-size: "0" is not a positive integer');
    expect(await usageError(["train", "--seed", "1.5"])).toBe('error: --seed: "1.5" is not an integer');
  });

  it("a config field of the wrong type, an unknown field, a bad value: the file and the field", async () => {
    writeConfig(dir, "ten.json", { epochs: "ten" });
    expect(await usageError(["train", "--config", "ten.json"])).toBe('error: config ten.json: epochs: expected a number, got "ten"');
    writeConfig(dir, "typo.json", { epoch: 3 });
    expect(await usageError(["train", "--config", "typo.json"])).toBe('error: config typo.json: (top level): unknown field "epoch"');
    writeConfig(dir, "opt.json", { optimizer: { name: "adamx" } });
    expect(await usageError(["train", "--config", "opt.json"])).toBe(
      'error: config opt.json: optimizer.name: "adamx" is not one of sgd, momentum, nesterov, momentumEma, adagrad, rmsprop, adam, adamw',
    );
    writeConfig(dir, "lr.json", { optimizer: { name: "sgd", lr: -1 } });
    expect(await usageError(["train", "--config", "lr.json"])).toMatch(/^error: config lr\.json: optimizer\.lr: .*> ?0/);
    writeConfig(dir, "model.json", { model: "rnn" });
    expect(await usageError(["train", "--config", "model.json"])).toBe('error: config model.json: model: "rnn" is not one of mlp, cnn (or an object)');
    writeConfig(dir, "layer.json", { model: { layers: [{ type: "linear" }] } });
    expect(await usageError(["train", "--config", "layer.json"])).toBe('error: config layer.json: model.layers: layer 0 (linear): missing required field "outFeatures"');
    writeConfig(dir, "sched.json", { schedule: { type: "exponential" } });
    expect(await usageError(["train", "--config", "sched.json"])).toMatch(/^error: config sched\.json: schedule: .*gamma/);
    writeConfig(dir, "csvnopath.json", { data: { source: "csv" } });
    expect(await usageError(["train", "--config", "csvnopath.json"])).toBe("error: config csvnopath.json: data.path: missing (expected a string)");
  });

  it("a config file that is missing, not JSON, or not an object", async () => {
    expect(await usageError(["train", "--config", "nope.json"])).toMatch(/^error: config nope\.json: cannot read the file \(no such file\)$/);
    writeConfig(dir, "broken.json", '{ "epochs": 2, ');
    expect(await usageError(["train", "--config", "broken.json"])).toMatch(/^error: config broken\.json: not valid JSON \(.*\) at character \d+/);
    writeConfig(dir, "null.json", "null");
    expect(await usageError(["train", "--config", "null.json"])).toMatch(/^error: config null\.json: expected a JSON object/);
  });

  it("a model that does not fit the data is refused before training, naming the layer or the fix", async () => {
    writeConfig(dir, "noflatten.json", { model: { layers: [{ type: "conv2d", outChannels: 4, kernelSize: 3 }, { type: "linear", outFeatures: 10 }] }, epochs: 1 });
    expect(await usageError(["train", "--config", "noflatten.json", "--out", "nf-run"])).toMatch(
      /^error: config noflatten\.json: model: the last layer gives \[4, 26, 10\] per sample; the data needs \[10\] .*add a flatten layer/,
    );
    expect(existsSync(join(dir, "nf-run"))).toBe(false);
    writeConfig(dir, "infeatures.json", { model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 10, inFeatures: 100 }] }, epochs: 1 });
    expect(await usageError(["train", "--config", "infeatures.json", "--out", "if-run"])).toMatch(
      /^error: config infeatures\.json: model: layer 1 \(linear\): inFeatures is 100, but layer 0 \(flatten\) outputs \[784\]/,
    );
    writeConfig(dir, "zero.json", { model: { layers: [{ type: "flatten" }, { type: "linear", outFeatures: 0 }] }, epochs: 1 });
    expect(await usageError(["train", "--config", "zero.json", "--out", "zero-run"])).toMatch(/^error: config zero\.json: model\.layers: layer 1 \(linear\): outFeatures is 0 \(expected an integer >= 1\)/);
  });

  it("a missing data file (CSV or IDX) names the file and leaves no run folder behind", async () => {
    writeConfig(dir, "csv.json", { data: { source: "csv", path: "nope.csv" }, epochs: 1 });
    expect(await usageError(["train", "--config", "csv.json", "--out", "csv-run"])).toMatch(/^error: .*nope\.csv.*(no such file|ENOENT)/);
    expect(existsSync(join(dir, "csv-run"))).toBe(false);
    writeConfig(dir, "idx.json", { data: { source: "idx", images: "missing-images-idx3-ubyte", labels: "missing-labels-idx1-ubyte" }, epochs: 1 });
    expect(await usageError(["train", "--config", "idx.json", "--out", "idx-run"])).toMatch(/^error: .*missing-images-idx3-ubyte.*(no such file|ENOENT)/);
    expect(existsSync(join(dir, "idx-run"))).toBe(false);
  });

  it("--resume with settings of a new run, or of a folder that is not a run", async () => {
    expect(await usageError(["train", "--resume", "somewhere", "--lr", "0.1", "--seed", "2"])).toBe(
      "error: --resume continues a run with its own config, so --lr, --seed cannot be given with it (only --epochs, --json and --no-progress)",
    );
    expect(await usageError(["train", "--resume", "not-a-run"])).toBe("error: --resume not-a-run: no run there (no config.json and checkpoints/)");
  });

  it("compare without exactly one thing to vary, or with a bad value", async () => {
    expect(await usageError(["compare", "--config", "small.json"])).toBe("error: compare: give exactly one of --optimizers, --schedules, --inits, --batch-sizes, --losses");
    expect(await usageError(["compare", "--optimizers", "sgd,adamx", "--config", "small.json"])).toMatch(/^error: --optimizers adamx: optimizer\.name: "adamx" is not one of sgd,/);
    expect(await usageError(["compare", "--schedules", "constant,foo", "--config", "small.json"])).toMatch(/^error: --schedules: .*"foo"/);
    expect(await usageError(["compare", "--batch-sizes", "64,0", "--config", "small.json"])).toBe('error: --batch-sizes: "0" is not a positive integer');
  });

  it("evaluate, predict, report and conformance on things that are not there", async () => {
    mkdirSync(join(dir, "unfinished"));
    writeFileSync(join(dir, "unfinished", "config.json"), JSON.stringify(SMALL));
    expect(await usageError(["evaluate", "no-run"])).toBe("error: no-run is not a run folder (no config.json)");
    expect(await usageError(["evaluate", "unfinished"])).toBe(
      "error: unfinished has no trained model (no model.json): the run did not finish; continue it with descent train --resume unfinished",
    );
    expect(await usageError(["predict", "no-run", "x.json"])).toBe("error: no-run: no such run folder");
    expect(await usageError(["report", "no-run"])).toBe("error: no-run: no such run folder");
    expect(await usageError(["report", "."])).toBe("error: . is not a run folder (no config.json)");
    expect(existsSync(join(dir, "report.html"))).toBe(false);
    expect(await usageError(["conformance", "no-cases", "--check"])).toBe("error: no-cases: no such case file or folder");
  });
});

describe("a failed run exits 1", () => {
  it("a loss that becomes non-finite names the step and suggests a lower learning rate", async () => {
    writeConfig(dir, "huge-lr.json", { ...SMALL, optimizer: { name: "sgd", lr: 1e9 } });
    const r = await runCli(["train", "--config", "huge-lr.json", "--out", "nan-run"], dir);
    expect(r.code).toBe(1);
    const errors = lines(r.stderr).filter((l) => l.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: the loss became (NaN|Infinity|-Infinity|non-finite) at step \d+ \(epoch \d+\)/);
    expect(errors[0]).toMatch(/learning rate is likely too high \(try lr \/ 10\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
