/**
 * The comparison of several runs (`descent compare --optimizers sgd,momentum,rmsprop,adam`): one
 * page overlaying their curves (dev loss, train loss, dev accuracy, learning rate), one colored
 * series per run with a legend, and a table of final numbers per run. A run whose folder is
 * incomplete still takes part with what it has, and the page says what is missing.
 */
import { writeFileAtomic } from "../io/atomic.js";
import { ConfigError } from "../errors/errors.js";
import { compareCharts, paletteColor } from "./charts.js";
import { chartFigure, escapeHtml, fmtDuration, fmtNumber, fmtPercent, renderPage } from "./page.js";
import { readRunFolder, type RunData } from "./read.js";
import { bestDev, runEpochs, runSeconds, runStoppedEarly } from "./run.js";

export interface CompareRun {
  /** The legend's name for the run: "adam", "lr=0.01", ... */
  label: string;
  /** The run folder. */
  dir: string;
}

function resultsTable(runs: readonly { label: string; run: RunData }[]): string {
  const tests = runs.map((r) => r.run.summary?.test?.accuracy ?? null);
  const known = tests.filter((t): t is number => t !== null);
  const top = Math.max(...known);
  // a highlight only means something when the runs differ
  const highlight = known.length > 1 && known.some((t) => t !== top);
  const rows = runs.map(({ label, run }, i) => {
    const best = bestDev(run);
    const stopped = runStoppedEarly(run);
    const test = tests[i] ?? null;
    return (
      `<tr${test !== null && test === top && highlight ? ` class="best" title="best test accuracy"` : ""}>` +
      `<td class="text"><span class="swatch" style="background:${paletteColor(i)}"></span>${escapeHtml(label)}</td>` +
      `<td>${fmtPercent(test)}</td><td>${fmtNumber(run.summary?.test?.loss)}</td>` +
      `<td>${best === null ? "–" : `${fmtPercent(best.accuracy)} <small>(epoch ${best.epoch + 1})</small>`}</td>` +
      `<td>${fmtNumber(run.epochs.at(-1)?.devLoss)}</td><td>${runEpochs(run) ?? "–"}</td>` +
      `<td>${stopped === null ? "–" : stopped ? "yes" : "no"}</td><td>${fmtDuration(runSeconds(run))}</td>` +
      `<td class="text folder"><code>${escapeHtml(run.dir)}</code></td></tr>`
    );
  });
  return (
    `<section><h2>Results</h2><div class="scroll"><table class="data"><thead><tr><th class="text">run</th><th>test acc.</th><th>test loss</th>` +
    `<th>best dev acc.</th><th>final dev loss</th><th>epochs</th><th>stopped early</th><th>time</th><th class="text">folder</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table></div></section>`
  );
}

function problemsBox(runs: readonly { label: string; run: RunData }[]): string {
  const items = runs.flatMap(({ label, run }) => [
    ...run.missing.map((f) => `<li><b>${escapeHtml(label)}</b>: <code>${escapeHtml(f)}</code> is missing</li>`),
    ...run.problems.map((p) => `<li><b>${escapeHtml(label)}</b>: ${escapeHtml(p)}</li>`),
  ]);
  return items.length === 0 ? "" : `<section class="notice" role="status"><h2>Incomplete run folders</h2><ul>${items.join("")}</ul></section>`;
}

/** Renders one page comparing `runs` (at least one; labels distinct). */
export function renderCompareReport(runs: readonly CompareRun[], title = "Comparison"): string {
  if (runs.length === 0) throw new ConfigError("renderCompareReport: no runs to compare (expected at least one {label, dir})");
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.label)) throw new ConfigError(`renderCompareReport: the label "${r.label}" is used twice; each run needs its own legend entry`);
    seen.add(r.label);
  }
  const loaded = runs.map((r) => ({ label: r.label, run: readRunFolder(r.dir) }));
  const { charts, empty } = compareCharts(loaded);
  const emptyNote = empty.length === 0 ? "" : `<p class="empty">No data in any run for: ${escapeHtml(empty.join(", "))}.</p>`;
  const body = [
    `<header><h1>${escapeHtml(title)}</h1><p class="path">${runs.length} run${runs.length === 1 ? "" : "s"}: ${escapeHtml(runs.map((r) => r.label).join(", "))}</p></header>`,
    problemsBox(loaded),
    resultsTable(loaded),
    `<section><h2>Curves</h2>${charts.length === 0 ? "" : `<div class="charts">${charts.map(chartFigure).join("")}</div>`}${emptyNote}</section>`,
  ].join("\n");
  return renderPage({ title: `${title}: descent`, body, data: { kind: "compare", title, charts, images: [] } });
}

/** Writes the comparison page to `path` atomically and returns the path. */
export function writeCompareReport(path: string, runs: readonly CompareRun[], title?: string): string {
  writeFileAtomic(path, renderCompareReport(runs, title));
  return path;
}
