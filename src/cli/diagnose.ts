/**
 * `descent diagnose RUN` and `descent gradcheck RUN | --config FILE`: print what src/diagnose
 * found, most severe first, each with its evidence and remedies; --json prints the contract
 * `{ findings, errors, criticalPoint? }` alone on stdout (warnings go to stderr). diagnose also
 * writes RUN/diagnosis.json and rewrites RUN/report.html with its Diagnosis section.
 */
import type { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { DIAGNOSIS_CODES, DIAGNOSIS_CODE_NAMES } from "../diagnose/codes.js";
import { diagnoseRun, writeDiagnosis, type Diagnosis } from "../diagnose/run.js";
import { writeRunReport } from "../report/index.js";
import { gradcheckRun } from "../diagnose/gradcheck-run.js";
import { depthCheck } from "../diagnose/depth.js";
import { sortFindings } from "../diagnose/findings.js";
import { numberFlag, runAction } from "./errors.js";

interface DiagnoseFlags {
  targetError?: string;
  json?: boolean;
  escape?: boolean;
  hessian?: boolean;
  depthCheck?: boolean;
  spectrum?: boolean;
}

const fmt = (v: unknown): string => {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(2);
  if (Array.isArray(v)) return `[${v.map(fmt).join(", ")}]`;
  if (v && typeof v === "object") return `{ ${Object.entries(v).map(([k, x]) => `${k} ${fmt(x)}`).join(", ")} }`;
  return String(v);
};

/** The diagnosis as the terminal shows it. */
export function formatDiagnosis(run: string, d: Diagnosis): string {
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : d.classification ? `${(100 * v).toFixed(2)}%` : fmt(v));
  const lines = [`diagnosis of ${run}`];
  const e = d.errors;
  const parts = [`train ${pct(e.train)}`, ...(e.trainDev !== undefined ? [`train-dev ${pct(e.trainDev)}`] : []), `dev ${pct(e.dev)}`,
    ...(e.test !== undefined ? [`test ${pct(e.test)}`] : []), ...(e.target !== undefined ? [`target ${pct(e.target)}`] : [])];
  lines.push(`${d.classification ? "errors" : "errors (1 − R²)"}: ${parts.join("  ")}`, "");
  for (const f of d.findings) {
    const where = f.layer ? ` (layer ${f.layer.index} ${f.layer.type})` : "";
    lines.push(`${f.severity.toUpperCase().padEnd(8)}${f.code}${where}: ${DIAGNOSIS_CODES[f.code].title}`);
    const ev = Object.entries(f.evidence);
    if (ev.length > 0) lines.push(`        evidence: ${ev.map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
    f.remedies.forEach((r, i) => lines.push(`        ${i === 0 ? "remedies: " : "          "}${i + 1}. ${r}`));
  }
  const cp = d.criticalPoint;
  if (cp) {
    lines.push("", `critical point: ${cp.class}  gradient norm ${fmt(cp.gradNorm)}  λmin ${fmt(cp.lambdaMin)}  λmax ${fmt(cp.lambdaMax)}`);
    if (cp.topK) lines.push(`  largest eigenvalues: ${cp.topK.map(fmt).join(", ")}${cp.trace !== undefined ? `  trace ≈ ${fmt(cp.trace)}` : ""}`);
    if (cp.escape) {
      lines.push(`  along the eigenvector of λmin, a step of ${fmt(cp.escape.step)} takes the loss from ${fmt(cp.escape.lossBefore)} to ${fmt(cp.escape.lossAfter)}`);
      if (cp.escape.checkpoint) lines.push(`  wrote ${cp.escape.checkpoint}; continue with: npx descent train --resume ${run}`);
    }
  }
  if (d.notChecked.length > 0) lines.push("", "not checked:", ...d.notChecked.map((n) => `  - ${n}`));
  return lines.join("\n");
}

export function registerDiagnose(program: Command): void {
  program
    .command("diagnose")
    .description("say what is wrong with a run (bias/variance, gradients, activations, learning rate, critical point) and what to do")
    .argument("<run>", "a run folder")
    .option("--target-error <e>", "the human-level / Bayes error for the bias verdict, in [0, 1)")
    .option("--hessian", "analyse the critical point at the latest checkpoint even without a plateau")
    .option("--spectrum", "with the critical point, also the Hessian's trace and spectral density (automatic for small models)")
    .option("--escape", "at a saddle: write checkpoints/escape.ckpt moved along the negative-curvature direction")
    .option("--depth-check", "train a shallower twin for the same budget: a lower training loss there means an optimization problem")
    .option("--json", "print { findings, errors, criticalPoint? } as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ npx descent diagnose runs/exp1
  $ npx descent diagnose runs/exp1 --target-error 0.01
  $ npx descent diagnose runs/exp1 --depth-check       # optimization problem or too small a model?
  $ npx descent diagnose runs/exp1 --escape && npx descent train --resume runs/exp1

Codes: ${DIAGNOSIS_CODE_NAMES.join(", ")}.
Writes RUN/diagnosis.json and rewrites RUN/report.html (its Diagnosis section).`,
    )
    .action((run: string, flags: DiagnoseFlags) =>
      runAction(async () => {
        const target = flags.targetError === undefined ? undefined : numberFlag("--target-error", flags.targetError);
        if (target !== undefined && !(target >= 0 && target < 1)) throw new ConfigError(`--target-error: ${flags.targetError} is outside [0, 1)`);
        const d = await diagnoseRun(run, { targetError: target, hessian: (flags.hessian ?? false) || (flags.spectrum ?? false), escape: flags.escape ?? false, spectrum: flags.spectrum });
        for (const w of d.warnings) console.error(`warning: ${w}`);
        let depthLine: string | null = null;
        if (flags.depthCheck) {
          const dc = await depthCheck(run);
          if (dc.finding) d.findings = sortFindings([...d.findings, dc.finding]);
          depthLine = `depth check: training loss ${dc.deepLoss.toPrecision(4)} for this model, ${dc.shallowLoss.toPrecision(4)} for a twin without ${dc.removedLayers} layers, after ${dc.epochs} epochs each` +
            (dc.finding ? ": the deeper model trains worse, an optimization problem" : ": the deeper model trains at least as well");
        }
        writeDiagnosis(run, d);
        writeRunReport(run);
        if (flags.json) {
          const out: Record<string, unknown> = { findings: d.findings, errors: d.errors };
          if (d.criticalPoint) out.criticalPoint = d.criticalPoint;
          console.log(JSON.stringify(out));
        } else {
          console.log(formatDiagnosis(run, d));
          if (depthLine) console.log(`\n${depthLine}`);
        }
      }),
    );

  program
    .command("gradcheck")
    .description("check a model's backprop against two-sided finite differences (float64), per parameter tensor")
    .argument("[run]", "a run folder (its final model, else its latest checkpoint)")
    .option("--config <file>", "check a config's freshly initialized model instead")
    .option("--samples <n>", "mini-batch size", "8")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  $ npx descent gradcheck runs/exp1\n  $ npx descent gradcheck --config exp.json")
    .action((run: string | undefined, flags: { config?: string; samples: string; json?: boolean }) =>
      runAction(async () => {
        if ((run === undefined) === (flags.config === undefined)) throw new ConfigError("gradcheck: give a run folder or --config FILE (one of them)");
        const samples = numberFlag("--samples", flags.samples, { integer: true, positive: true })!;
        const r = await gradcheckRun(run !== undefined ? { run } : { config: flags.config! }, { samples });
        if (flags.json) {
          console.log(JSON.stringify(r));
        } else {
          console.log(`gradcheck of ${r.model} on ${r.batch} samples (float64, two-sided differences)`);
          for (const n of r.notes) console.log(`note: ${n}`);
          const w = Math.max(6, ...r.tensors.map((t) => t.name.length));
          console.log(`${"tensor".padEnd(w)}  ${"rel. error".padEnd(10)}  verdict      worst entry`);
          for (const t of r.tensors) {
            const worst = `[${t.worst.index.join(",")}]: analytic ${fmt(t.worst.analytic)}, numeric ${fmt(t.worst.numeric)}`;
            console.log(`${t.name.padEnd(w)}  ${t.relError.toExponential(2).padEnd(10)}  ${t.verdict.padEnd(11)}  ${worst}`);
          }
          console.log(`verdict: ${r.verdict} (relative error: below 1e-6 fine, below 1e-3 look closer, from 1e-3 wrong)`);
        }
        if (r.verdict === "wrong") process.exitCode = 1;
      }),
    );
}
