/**
 * The study report: one self-contained page for a search's study folder (src/search/study.ts).
 *
 * - the counts (done, pruned, failed), the best trial and the compute its pruning saved;
 * - a scatter of the metric against each hyperparameter, on a log axis for log parameters (for
 *   oneMinusLog, the axis of 1 - beta, labelled with beta);
 * - parallel coordinates: one line per trial across every hyperparameter and the metric;
 * - the coarse-to-fine boxes of each round over the first two hyperparameters;
 * - the metric per epoch of every trial (the best one bold; pruned ones end early), and the best
 *   trial's own run curves when its run folder is on this machine;
 * - every trial in a table, best first.
 *
 * The scatter, parallel coordinates and boxes are SVG drawn here (positions are computed in the
 * unit cube of the space, which is already the log axis for log parameters); the line charts are
 * uPlot specs drawn by the shared page script (./page.ts).
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { readRounds, readStudyFile, readTrials, type RoundRecord } from "../search/study.js";
import { fromUnit, toUnit, type Distribution, type ParamValue } from "../search/space.js";
import { rankTrials } from "../search/samplers.js";
import type { SearchSpec } from "../search/spec.js";
import type { TrialRecord } from "../search/trial.js";
import { buildChart, paletteColor, runCharts, type ChartSpec } from "./charts.js";
import { chartFigure, escapeHtml, fmtDuration, fmtNumber, renderPage } from "./page.js";
import { readRunFolder } from "./read.js";

const W = 420, H = 260, PAD = { l: 62, r: 14, t: 12, b: 44 };
const STATUS_COLOR = { complete: "#1f77b4", pruned: "#ff7f0e", best: "#d62728" } as const;

interface Tick {
  u: number;
  label: string;
}

const fmtValue = (v: ParamValue) => (typeof v === "number" ? fmtNumber(v) : String(v));

/** Axis ticks in unit coordinates: decades for log scales, each value for a choice, five steps otherwise. */
export function unitTicks(d: Distribution): Tick[] {
  if (d.type === "choice") return d.values.map((v, i) => ({ u: (i + 0.5) / d.values.length, label: String(v) }));
  if (d.type === "log" || d.type === "oneMinusLog") {
    const [a, b] = d.type === "log" ? [d.low, d.high] : [1 - d.high, 1 - d.low];
    const ticks: Tick[] = [];
    for (let k = Math.ceil(Math.log10(a) - 1e-9); k <= Math.floor(Math.log10(b) + 1e-9); k++) {
      const v = d.type === "log" ? 10 ** k : 1 - 10 ** k;
      ticks.push({ u: toUnit(d, v), label: fmtNumber(v) });
    }
    if (ticks.length >= 2) return ticks;
  }
  return [0, 0.25, 0.5, 0.75, 1].map((u) => ({ u, label: fmtValue(fromUnit(d, u)) }));
}

/** Round-number ticks inside [lo, hi]: steps of 1, 2 or 5 times a power of ten, about five of them. */
function niceTicks(lo: number, hi: number): number[] {
  if (hi === lo) return [lo];
  const raw = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function axisLabel(name: string, d: Distribution): string {
  return d.type === "oneMinusLog" ? `${name} (log of 1 − β)` : d.type === "log" ? `${name} (log)` : name;
}

interface Point {
  x: number;
  y: number;
  color: string;
  r: number;
  title: string;
}

/** An SVG plot in a unit square: x and y in [0, 1], with ticks on both axes. */
function svgPlot(opts: { xTicks: Tick[]; yTicks: Tick[]; xLabel: string; yLabel: string; points: Point[]; extra?: string; id: string }): string {
  const px = (u: number) => PAD.l + u * (W - PAD.l - PAD.r);
  const py = (u: number) => H - PAD.b - u * (H - PAD.t - PAD.b);
  const parts: string[] = [`<rect x="${PAD.l}" y="${PAD.t}" width="${W - PAD.l - PAD.r}" height="${H - PAD.t - PAD.b}" fill="#fff" stroke="#d5dae2"/>`];
  for (const t of opts.xTicks) parts.push(`<line x1="${px(t.u)}" x2="${px(t.u)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#eef0f4"/><text x="${px(t.u)}" y="${H - PAD.b + 15}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  for (const t of opts.yTicks) parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${py(t.u)}" y2="${py(t.u)}" stroke="#eef0f4"/><text x="${PAD.l - 6}" y="${py(t.u) + 4}" text-anchor="end">${escapeHtml(t.label)}</text>`);
  if (opts.extra) parts.push(opts.extra.replace(/\{px:([\d.e-]+)\}/g, (_, u: string) => String(px(Number(u)))).replace(/\{py:([\d.e-]+)\}/g, (_, u: string) => String(py(Number(u)))));
  for (const p of opts.points) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="${p.r}" fill="${p.color}" fill-opacity="0.8"><title>${escapeHtml(p.title)}</title></circle>`);
  parts.push(`<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 8}" text-anchor="middle" class="axis">${escapeHtml(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(PAD.t + H - PAD.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeHtml(opts.yLabel)}</text>`);
  return `<svg class="plot-svg" data-plot="${escapeHtml(opts.id)}" viewBox="0 0 ${W} ${H}" role="img">${parts.join("")}</svg>`;
}

interface MetricAxis {
  toUnit(v: number): number;
  ticks: Tick[];
}

function metricAxis(values: number[]): MetricAxis {
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const [a, b] = hi === lo ? [lo - span / 2, hi + span / 2] : [lo - 0.05 * span, hi + 0.05 * span];
  return { toUnit: (v) => (v - a) / (b - a), ticks: niceTicks(a, b).map((v) => ({ u: (v - a) / (b - a), label: fmtNumber(v) })) };
}

function pointColor(t: TrialRecord, best: TrialRecord | null): string {
  return t.id === best?.id ? STATUS_COLOR.best : t.status === "pruned" ? STATUS_COLOR.pruned : STATUS_COLOR.complete;
}

function describe(t: TrialRecord, metric: string): string {
  return `trial ${t.id} (${t.status}): ${metric} ${fmtNumber(t.value)}; ${Object.entries(t.params).map(([k, v]) => `${k}=${fmtValue(v)}`).join(", ")}`;
}

function scatterSection(spec: SearchSpec, ranked: TrialRecord[], best: TrialRecord | null): string {
  if (ranked.length === 0) return "";
  const axis = metricAxis(ranked.map((t) => t.value!));
  const plots = Object.entries(spec.space).map(([name, d]) =>
    `<figure class="chart"><figcaption>${escapeHtml(spec.metric)} against ${escapeHtml(name)}</figcaption>${svgPlot({
      id: `scatter-${name}`, xTicks: unitTicks(d), yTicks: axis.ticks, xLabel: axisLabel(name, d), yLabel: spec.metric,
      points: [...ranked].reverse().map((t) => ({ x: toUnit(d, t.params[name]!), y: axis.toUnit(t.value!), color: pointColor(t, best), r: t.id === best?.id ? 6 : 4, title: describe(t, spec.metric) })),
    })}</figure>`);
  return `<section><h2>Metric against each hyperparameter</h2><p class="caption legend-line">${legend()}</p><div class="charts">${plots.join("")}</div></section>`;
}

function legend(): string {
  return `<span class="swatch" style="background:${STATUS_COLOR.complete}"></span>complete <span class="swatch" style="background:${STATUS_COLOR.pruned}"></span>pruned <span class="swatch" style="background:${STATUS_COLOR.best}"></span>best`;
}

/** Parallel coordinates: an axis per hyperparameter, then the metric; one polyline per trial. */
function parallelSection(spec: SearchSpec, ranked: TrialRecord[], best: TrialRecord | null): string {
  if (ranked.length === 0) return "";
  const names = Object.keys(spec.space);
  const axis = metricAxis(ranked.map((t) => t.value!));
  const width = Math.max(560, 170 * (names.length + 1)), height = 300, top = 30, bottom = 40, left = 60, right = 60;
  const ax = (i: number) => left + (i * (width - left - right)) / names.length;
  const ay = (u: number) => height - bottom - u * (height - top - bottom);
  const parts: string[] = [];
  names.forEach((name, i) => {
    const d = spec.space[name]!;
    parts.push(`<line x1="${ax(i)}" x2="${ax(i)}" y1="${top}" y2="${height - bottom}" stroke="#9aa4b1"/><text x="${ax(i)}" y="${height - bottom + 18}" text-anchor="middle" class="axis">${escapeHtml(name)}</text>`);
    for (const t of unitTicks(d)) parts.push(`<text x="${ax(i) - 5}" y="${ay(t.u) + 4}" text-anchor="end">${escapeHtml(t.label)}</text>`);
  });
  const mi = names.length;
  parts.push(`<line x1="${ax(mi)}" x2="${ax(mi)}" y1="${top}" y2="${height - bottom}" stroke="#9aa4b1"/><text x="${ax(mi)}" y="${height - bottom + 18}" text-anchor="middle" class="axis">${escapeHtml(spec.metric)}</text>`);
  for (const t of axis.ticks) parts.push(`<text x="${ax(mi) + 5}" y="${ay(t.u) + 4}">${escapeHtml(t.label)}</text>`);
  for (const t of [...ranked].reverse()) {
    const ys = [...names.map((n) => toUnit(spec.space[n]!, t.params[n]!)), axis.toUnit(t.value!)];
    const pts = ys.map((u, i) => `${ax(i).toFixed(1)},${ay(u).toFixed(1)}`).join(" ");
    const isBest = t.id === best?.id;
    parts.push(`<polyline points="${pts}" fill="none" stroke="${pointColor(t, best)}" stroke-width="${isBest ? 3 : 1.3}" stroke-opacity="${isBest ? 1 : 0.55}"${t.status === "pruned" ? ' stroke-dasharray="4 3"' : ""}><title>${escapeHtml(describe(t, spec.metric))}</title></polyline>`);
  }
  return `<section><h2>Parallel coordinates</h2><p class="caption legend-line">${legend()} (pruned trials dashed)</p><div class="scroll"><svg class="plot-svg" data-plot="parallel" viewBox="0 0 ${width} ${height}" style="max-width:${width}px" role="img">${parts.join("")}</svg></div></section>`;
}

/** The box of each coarse-to-fine round over the first two hyperparameters (or one and the metric). */
function roundsSection(spec: SearchSpec, rounds: RoundRecord[], trials: TrialRecord[], best: TrialRecord | null): string {
  if (rounds.length === 0) return "";
  const [xName, yName] = Object.keys(spec.space);
  const xd = spec.space[xName!]!;
  const yd = yName ? spec.space[yName]! : null;
  const valued = trials.filter((t) => t.value !== null);
  const axis = metricAxis(valued.length ? valued.map((t) => t.value!) : [0, 1]);
  const boxes = rounds.map((r) => {
    const [x0, x1] = r.box[xName!]!;
    const [y0, y1] = yName ? r.box[yName]! : [0, 1];
    const c = paletteColor(r.round);
    return `<rect x="{px:${x0}}" y="{py:${y1}}" width="{w:${x0}:${x1}}" height="{h:${y0}:${y1}}" fill="${c}" fill-opacity="0.07" stroke="${c}" stroke-width="2"><title>round ${r.round + 1}: ${escapeHtml(Object.entries(r.values).map(([n, [lo, hi]]) => `${n} ${fmtValue(lo)}–${fmtValue(hi)}`).join(", "))}</title></rect>`;
  });
  const pw = W - PAD.l - PAD.r, ph = H - PAD.t - PAD.b;
  const extra = boxes.join("").replace(/\{w:([\d.e-]+):([\d.e-]+)\}/g, (_, a: string, b: string) => String((Number(b) - Number(a)) * pw)).replace(/\{h:([\d.e-]+):([\d.e-]+)\}/g, (_, a: string, b: string) => String((Number(b) - Number(a)) * ph));
  const points = valued.map((t) => ({
    x: toUnit(xd, t.params[xName!]!), y: yd ? toUnit(yd, t.params[yName!]!) : axis.toUnit(t.value!),
    color: t.id === best?.id ? STATUS_COLOR.best : paletteColor(t.round), r: t.id === best?.id ? 6 : 4, title: `round ${t.round + 1}, ${describe(t, spec.metric)}`,
  }));
  const key = rounds.map((r) => `<span class="swatch" style="background:${paletteColor(r.round)}"></span>round ${r.round + 1}`).join(" ");
  const plot = svgPlot({ id: "rounds", xTicks: unitTicks(xd), yTicks: yd ? unitTicks(yd) : axis.ticks, xLabel: axisLabel(xName!, xd), yLabel: yd ? axisLabel(yName!, yd) : spec.metric, points, extra });
  const rows = rounds.map((r) => `<tr><td>${r.round + 1}</td>${Object.keys(spec.space).map((n) => `<td>${escapeHtml(fmtValue(r.values[n]![0]))} – ${escapeHtml(fmtValue(r.values[n]![1]))}</td>`).join("")}</tr>`).join("");
  return `<section><h2>Coarse to fine: the box of each round</h2><p class="caption legend-line">${key}</p><div class="charts"><figure class="chart">${plot}</figure><div class="scroll"><table class="data"><tr><th>round</th>${Object.keys(spec.space).map((n) => `<th>${escapeHtml(n)}</th>`).join("")}</tr>${rows}</table></div></div></section>`;
}

function curveCharts(spec: SearchSpec, trials: TrialRecord[], best: TrialRecord | null): ChartSpec[] {
  const others = trials.filter((t) => t.id !== best?.id && t.values.length > 0);
  const lines = [
    ...others.map((t) => ({ label: `trial ${t.id}`, color: t.status === "pruned" ? STATUS_COLOR.pruned : "#8fa9c8", samples: { x: t.values.map((_, i) => i + 1), y: t.values } })),
    ...(best ? [{ label: `trial ${best.id} (best)`, color: STATUS_COLOR.best, samples: { x: best.values.map((_, i) => i + 1), y: best.values } }] : []),
  ];
  const all = buildChart({ id: "trial-curves", title: `${spec.metric} per epoch, every trial`, xLabel: "epoch", yLabel: spec.metric, yFormat: /accuracy/i.test(spec.metric) ? "percent" : "number" }, lines);
  const charts = all ? [all] : [];
  if (best?.run && existsSync(join(best.run, "metrics.jsonl"))) {
    for (const c of runCharts(readRunFolder(best.run))) charts.push({ ...c, id: `best-${c.id}`, title: `Best trial: ${c.title.toLowerCase()}` });
  }
  return charts;
}

function trialTable(spec: SearchSpec, trials: TrialRecord[], best: TrialRecord | null): string {
  const ranked = rankTrials(trials, spec.direction);
  const failed = trials.filter((t) => t.status === "failed");
  const names = Object.keys(spec.space);
  const rows = [...ranked, ...failed].map((t, i) => `<tr class="${t.id === best?.id ? "best" : ""}" data-trial="${t.id}"><td>${t.status === "failed" ? "–" : i + 1}</td><td>${t.id}</td><td class="text">${t.status}</td><td>${fmtNumber(t.value)}</td>${names.map((n) => `<td>${escapeHtml(fmtValue(t.params[n]!))}</td>`).join("")}<td>${t.values.length}</td><td>${fmtDuration(t.seconds)}</td><td class="text">${escapeHtml(t.error ?? "")}</td><td class="folder">${escapeHtml(t.run ? `${t.worker}: ${t.run}` : t.worker)}</td></tr>`);
  return `<section><h2>Trials, best first</h2><div class="scroll"><table class="data" id="trials"><tr><th>rank</th><th>trial</th><th class="text">status</th><th>${escapeHtml(spec.metric)}</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join("")}<th>epochs</th><th>time</th><th class="text">error</th><th class="text">where</th></tr>${rows.join("")}</table></div></section>`;
}

function stat(k: string, v: string, cls = ""): string {
  return `<div class="stat"><div class="k">${escapeHtml(k)}</div><div class="v ${cls}">${escapeHtml(v)}</div></div>`;
}

/** Renders the report of the study in `dir` as one self-contained HTML document. */
export function renderStudyReport(dir: string): string {
  const study = readStudyFile(dir);
  const spec = study.spec;
  const trials = [...readTrials(dir).values()].sort((a, b) => a.id - b.id);
  const rounds = readRounds(dir);
  const ranked = rankTrials(trials, spec.direction);
  const best = ranked[0] ?? null;
  const epochsRun = trials.reduce((s, t) => s + t.values.length, 0);
  const epochBudget = spec.base ? trials.length * spec.base.epochs : null;
  const charts = curveCharts(spec, trials, best);
  const name = basename(dir);
  const bestParams = best ? `<p>Best: trial ${best.id}, ${escapeHtml(spec.metric)} ${fmtNumber(best.value)}: <code>${escapeHtml(Object.entries(best.params).map(([k, v]) => `${k} = ${fmtValue(v)}`).join(", "))}</code>${spec.base ? ` — retrain it with <code>npx descent train --config ${escapeHtml(join(dir, "best.json"))}</code>` : ""}</p>` : `<p class="empty">No trial has a result yet.</p>`;
  const body = [
    `<header><h1>${escapeHtml(name)}: hyperparameter search</h1><p class="path">${escapeHtml(dir)} · ${escapeHtml(spec.strategy)} · ${spec.direction} ${escapeHtml(spec.metric)} · pruner ${escapeHtml(spec.pruner.type)} · seed ${spec.seed}</p></header>`,
    `<div class="stats">${[
      stat("trials", `${trials.length}/${spec.trials}`),
      stat("complete", String(trials.filter((t) => t.status === "complete").length)),
      stat("pruned", String(trials.filter((t) => t.status === "pruned").length), trials.some((t) => t.status === "pruned") ? "warn" : ""),
      stat("failed", String(trials.filter((t) => t.status === "failed").length), trials.some((t) => t.status === "failed") ? "warn" : ""),
      stat(`best ${spec.metric}`, fmtNumber(best?.value ?? null), "good"),
      ...(epochBudget ? [stat("epochs trained", `${epochsRun}/${epochBudget}`)] : []),
    ].join("")}</div>`,
    `<section><h2>Best trial</h2>${bestParams}</section>`,
    scatterSection(spec, ranked, best),
    parallelSection(spec, ranked, best),
    roundsSection(spec, rounds, trials, best),
    charts.length ? `<section><h2>Curves</h2><div class="charts">${charts.map(chartFigure).join("")}</div></section>` : "",
    trialTable(spec, trials, best),
    `<style>.plot-svg{width:100%;height:auto;font:11px system-ui,sans-serif;fill:#3b4452}.plot-svg .axis{font-size:12px;font-weight:600}.legend-line{margin:0 0 10px}</style>`,
  ].join("\n");
  return renderPage({ title: `${name}: descent study`, body, data: { kind: "study", name, charts, images: [] } });
}

/** Writes dir/report.html atomically and returns its path. */
export function writeStudyReport(dir: string): string {
  const path = join(dir, "report.html");
  writeFileAtomic(path, renderStudyReport(dir));
  return path;
}
