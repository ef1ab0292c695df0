/**
 * The report of one run: `renderRunReport(runDir)` reads the run folder (docs/run-folder.md) and
 * returns one self-contained HTML document; `writeRunReport(runDir)` writes it to
 * runDir/report.html atomically.
 *
 * Sections, top to bottom: header (name, test accuracy, epochs, stopped early, time), a notice
 * listing what is missing or damaged, the curves (loss train vs dev with the per-step loss behind,
 * accuracy, learning rate, gradient norm), the diagnosis (verdicts of diagnosis.json, per-layer
 * gradient norms and activation health, the Hessian's spectral density), the per-epoch table, events (early stopping, ...), the
 * test confusion matrix as a heatmap with per-class recall, the misclassified test samples drawn on
 * <canvas>, the model summary and the config. A section whose data is absent says so instead.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { DIAGNOSIS_CODES } from "../diagnose/codes.js";
import { formatLr } from "../schedules/format.js";
import { diagnosisCharts, runCharts } from "./charts.js";
import { chartFigure, escapeHtml, fmtDuration, fmtNumber, fmtPercent, noticeBox, renderPage } from "./page.js";
import { readRunFolder, type Misclassified, type RunData } from "./read.js";

/** A picture for the page script: 8-bit ink intensities (0 = background, 255 = full ink). */
export interface PageImage {
  w: number;
  h: number;
  px: number[];
}

/** Takes the last two dimensions as height and width (the first channel of [C, H, W]). */
export function toPageImage(image: NonNullable<Misclassified["image"]>): PageImage {
  const h = image.shape[image.shape.length - 2]!;
  const w = image.shape[image.shape.length - 1]!;
  const px = new Array<number>(w * h);
  for (let i = 0; i < w * h; i++) px[i] = Math.round(Math.min(1, Math.max(0, image.data[i] ?? 0)) * 255);
  return { w, h, px };
}

function stat(label: string, value: string, cls = ""): string {
  return `<div class="stat"><div class="k">${escapeHtml(label)}</div><div class="v${cls ? ` ${cls}` : ""}">${escapeHtml(value)}</div></div>`;
}

/** The total time: summary.seconds, else the sum of the epochs' seconds. */
export function runSeconds(run: RunData): number | null {
  if (run.summary?.seconds != null) return run.summary.seconds;
  const secs = run.epochs.map((e) => e.seconds).filter((s): s is number => s !== null);
  return secs.length === 0 ? null : secs.reduce((a, b) => a + b, 0);
}

/** Epochs trained: summary.epochs, else the number of epoch records. */
export function runEpochs(run: RunData): number | null {
  return run.summary?.epochs ?? (run.epochs.length > 0 ? run.epochs.length : null);
}

/** Whether early stopping ended the run: summary.stoppedEarly, else an "early stopping" event. */
export function runStoppedEarly(run: RunData): boolean | null {
  if (run.summary?.stoppedEarly != null) return run.summary.stoppedEarly;
  if (run.events.some((e) => /early stop/i.test(e.message))) return true;
  return null;
}

/** The best dev accuracy over the epochs, and its (0-based) epoch. */
export function bestDev(run: RunData): { accuracy: number; epoch: number } | null {
  let best: { accuracy: number; epoch: number } | null = null;
  for (const e of run.epochs) if (e.devAccuracy !== null && (best === null || e.devAccuracy > best.accuracy)) best = { accuracy: e.devAccuracy, epoch: e.epoch };
  return best;
}

function header(run: RunData): string {
  const s = run.summary;
  const stopped = runStoppedEarly(run);
  const epochs = runEpochs(run);
  const best = s?.bestEpoch ?? null;
  const stats = [
    stat("test accuracy", fmtPercent(s?.test?.accuracy), s?.test?.accuracy != null ? "good" : ""),
    stat("test loss", fmtNumber(s?.test?.loss)),
    stat("dev accuracy", fmtPercent(s?.dev?.accuracy ?? run.epochs.at(-1)?.devAccuracy)),
    stat("epochs", epochs === null ? "–" : `${epochs}${best !== null ? ` (best ${best + 1})` : ""}`),
    stat("stopped early", stopped === null ? (s === null ? "unfinished" : "–") : stopped ? "yes" : "no", stopped ? "warn" : ""),
    stat("time", fmtDuration(runSeconds(run))),
  ];
  return `<header><h1>${escapeHtml(run.name)}</h1><p class="path">${escapeHtml(run.dir)}</p><div class="stats">${stats.join("")}</div></header>`;
}

function curvesSection(run: RunData, chartsHtml: string): string {
  const body = chartsHtml === "" ? `<p class="empty">No curves: metrics.jsonl holds no step or epoch records.</p>` : `<div class="charts">${chartsHtml}</div>`;
  return `<section><h2>Training curves</h2>${body}</section>`;
}

/**
 * The verdicts of diagnosis.json (most severe first, with evidence and remedies), the critical
 * point, and the charts of the training records; without diagnosis.json, how to make one.
 */
function diagnosisSection(run: RunData, chartsHtml: string): string {
  const d = run.diagnosis;
  const parts: string[] = [];
  if (d === null) {
    parts.push(`<p class="empty">No diagnosis yet: <code>npx descent diagnose ${escapeHtml(run.dir)}</code> writes one (and this report again).</p>`);
  } else {
    const errors = Object.entries(d.errors).map(([k, v]) => `${escapeHtml(k)} ${v === null ? "–" : d.classification ? fmtPercent(v) : fmtNumber(v)}`).join(" · ");
    if (errors) parts.push(`<p class="errors">${d.classification ? "errors" : "errors (1 − R²)"}: ${errors}</p>`);
    const items = d.findings.map((f) => {
      const title = (DIAGNOSIS_CODES as Record<string, { title: string }>)[f.code]?.title ?? f.code;
      const remedies = f.remedies.length > 0 ? `<ol class="remedies">${f.remedies.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ol>` : "";
      return (
        `<li class="finding ${escapeHtml(f.severity)}" data-code="${escapeHtml(f.code)}"><span class="sev">${escapeHtml(f.severity)}</span> ` +
        `<b>${escapeHtml(f.code)}</b>${f.layer ? ` (${escapeHtml(f.layer)})` : ""}: ${escapeHtml(title)}` +
        `${f.evidence ? `<div class="evidence">${escapeHtml(f.evidence)}</div>` : ""}${remedies}</li>`
      );
    });
    parts.push(`<ul class="findings">${items.join("")}</ul>`);
    const cp = d.criticalPoint;
    if (cp) parts.push(`<p>critical point: <b>${escapeHtml(cp.class)}</b>, λmin ${fmtNumber(cp.lambdaMin)}, λmax ${fmtNumber(cp.lambdaMax)}, gradient norm ${fmtNumber(cp.gradNorm)}</p>`);
    if (d.notChecked.length > 0) parts.push(`<p class="empty">not checked: ${d.notChecked.map(escapeHtml).join("; ")}</p>`);
  }
  parts.push(chartsHtml === "" ? `<p class="empty">No training records in metrics.jsonl: no per-layer charts.</p>` : `<div class="charts">${chartsHtml}</div>`);
  return `<section id="diagnosis"><h2>Diagnosis</h2>${parts.join("")}</section>`;
}

function epochTable(run: RunData): string {
  if (run.epochs.length === 0) return "";
  const bestEpoch = run.summary?.bestEpoch ?? bestDev(run)?.epoch ?? null;
  const rows = run.epochs
    .map(
      (e) =>
        `<tr${e.epoch === bestEpoch ? ` class="best" title="best epoch"` : ""}><td>${e.epoch + 1}</td><td>${fmtNumber(e.trainLoss)}</td><td>${fmtPercent(e.trainAccuracy)}</td>` +
        `<td>${fmtNumber(e.devLoss)}</td><td>${fmtPercent(e.devAccuracy)}</td><td>${e.lr === null ? "–" : formatLr(e.lr)}</td><td>${fmtDuration(e.seconds)}</td>` +
        `<td>${e.samplesPerSecond === null ? "–" : Math.round(e.samplesPerSecond).toLocaleString("en-US")}</td></tr>`,
    )
    .join("");
  return (
    `<section><h2>Epochs</h2><div class="scroll"><table class="data"><thead><tr><th>epoch</th><th>train loss</th><th>train acc.</th>` +
    `<th>dev loss</th><th>dev acc.</th><th>lr</th><th>time</th><th>samples/s</th></tr></thead><tbody>${rows}</tbody></table></div></section>`
  );
}

function eventsSection(run: RunData): string {
  if (run.events.length === 0) return "";
  const items = run.events.map((e) => {
    const when = [e.epoch !== null ? `epoch ${e.epoch + 1}` : "", e.step !== null ? `step ${e.step}` : ""].filter(Boolean).join(", ");
    return `<li><span class="when">${escapeHtml(when)}</span>${escapeHtml(e.message)}</li>`;
  });
  return `<section><h2>Events</h2><ul class="events">${items.join("")}</ul></section>`;
}

/** Mixes white toward an [r, g, b] color by t in [0, 1]. */
function tint(rgb: readonly [number, number, number], t: number): string {
  const [r, g, b] = rgb.map((c) => Math.round(255 + (c - 255) * t)) as [number, number, number];
  return `rgb(${r},${g},${b})`;
}

/**
 * The confusion matrix as a heatmap table, row = true class, column = predicted. Cells are colored
 * by their share of the row (the true class): the diagonal in blue (the recall), confusions in
 * red on a square-root scale, so that a 1% confusion is still visible next to a 98% diagonal.
 */
export function confusionTable(confusion: readonly (readonly number[])[], classes: readonly string[] | null): string {
  const n = confusion.length;
  const name = (i: number) => escapeHtml(classes?.[i] ?? String(i));
  const rowTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const colTotals = Array.from({ length: n }, (_, j) => confusion.reduce((s, row) => s + (row[j] ?? 0), 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const correct = confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  const blue: [number, number, number] = [31, 95, 168];
  const red: [number, number, number] = [200, 40, 40];
  const body = confusion
    .map((row, i) => {
      const cells = row
        .map((count, j) => {
          const share = rowTotals[i]! === 0 ? 0 : count / rowTotals[i]!;
          const title = `true ${classes?.[i] ?? i}, predicted ${classes?.[j] ?? j}: ${count} (${fmtPercent(share, 1)} of true ${classes?.[i] ?? i})`;
          if (count === 0) return `<td class="zero" title="${escapeHtml(title)}">0</td>`;
          const t = i === j ? 0.12 + 0.88 * share : Math.min(1, 0.12 + Math.sqrt(share * 4));
          const fg = t > 0.55 ? "#fff" : "#1d2330";
          return `<td style="background:${tint(i === j ? blue : red, t)};color:${fg}" title="${escapeHtml(title)}">${count}</td>`;
        })
        .join("");
      const recall = rowTotals[i]! === 0 ? "–" : fmtPercent(row[i]! / rowTotals[i]!, 1);
      return `<tr><th>${name(i)}</th>${cells}<td class="rate">${recall}</td></tr>`;
    })
    .join("");
  const precision = colTotals.map((c, j) => `<td class="rate">${c === 0 ? "–" : fmtPercent((confusion[j]?.[j] ?? 0) / c, 1)}</td>`).join("");
  return (
    `<div class="scroll"><table class="confusion"><thead>` +
    `<tr><th></th><th class="axis" colspan="${n}">predicted class →</th><th></th></tr>` +
    `<tr><th class="axis">true ↓</th>${Array.from({ length: n }, (_, j) => `<th>${name(j)}</th>`).join("")}<th class="axis">recall</th></tr>` +
    `</thead><tbody>${body}</tbody><tfoot><tr><th class="axis">precision</th>${precision}` +
    `<td class="rate" title="accuracy">${total === 0 ? "–" : fmtPercent(correct / total, 2)}</td></tr></tfoot></table></div>` +
    `<p class="caption">Row = true class, column = predicted class; ${total.toLocaleString("en-US")} test samples. ` +
    `<span class="swatch" style="background:${tint(blue, 0.8)}"></span>correct (share of the true class) ` +
    `<span class="swatch" style="background:${tint(red, 0.8)}"></span>confusions. Bottom-right: accuracy.</p>`
  );
}

function confusionSection(run: RunData): string {
  const s = run.summary;
  if (s === null) return `<section><h2>Confusion matrix (test)</h2><p class="empty">No summary.json: the run has no test results yet.</p></section>`;
  if (s.confusion === null) return `<section><h2>Confusion matrix (test)</h2><p class="empty">summary.json has no confusion matrix.</p></section>`;
  return `<section><h2>Confusion matrix (test)</h2>${confusionTable(s.confusion, s.classes)}</section>`;
}

function misclassifiedSection(run: RunData, images: PageImage[]): string {
  const s = run.summary;
  if (s === null || s.misclassified.length === 0) return "";
  const name = (c: number) => escapeHtml(s.classes?.[c] ?? String(c));
  const cells = s.misclassified.map((m) => {
    let pic = "";
    if (m.image !== null) {
      images.push(toPageImage(m.image));
      pic = `<canvas data-image="${images.length - 1}" width="${m.image.shape.at(-1)}" height="${m.image.shape.at(-2)}"></canvas>`;
    }
    const idx = m.index !== null ? `<div class="idx">#${m.index}</div>` : "";
    return `<div class="digit">${pic}<div>true <span class="true">${name(m.label)}</span> → <span class="pred">${name(m.predicted)}</span></div>${idx}</div>`;
  });
  return `<section><h2>Misclassified test samples (${s.misclassified.length})</h2><div class="digits">${cells.join("")}</div></section>`;
}

function textSection(title: string, text: string | null, absent: string): string {
  return `<section><h2>${escapeHtml(title)}</h2>${text === null ? `<p class="empty">${escapeHtml(absent)}</p>` : `<pre>${escapeHtml(text)}</pre>`}</section>`;
}

/** Renders the report of the run in `runDir` as one self-contained HTML document. */
export function renderRunReport(runDir: string): string {
  const run = readRunFolder(runDir);
  const charts = runCharts(run);
  const diagnosis = diagnosisCharts(run);
  const images: PageImage[] = [];
  const misclassified = misclassifiedSection(run, images);
  const body = [
    header(run),
    noticeBox(run.missing, run.problems),
    curvesSection(run, charts.map(chartFigure).join("")),
    diagnosisSection(run, diagnosis.map(chartFigure).join("")),
    epochTable(run),
    eventsSection(run),
    confusionSection(run),
    misclassified,
    textSection("Model", run.summary?.modelSummary ?? null, run.summary === null ? "No summary.json: no model summary." : "summary.json has no model summary."),
    textSection("Config", run.config === null ? null : JSON.stringify(run.config, null, 2), "No readable config.json."),
  ].join("\n");
  return renderPage({ title: `${run.name}: descent report`, body, data: { kind: "run", name: run.name, charts: [...charts, ...diagnosis], images } });
}

/** Writes runDir/report.html atomically and returns its path. */
export function writeRunReport(runDir: string): string {
  const path = join(runDir, "report.html");
  writeFileAtomic(path, renderRunReport(runDir));
  return path;
}
