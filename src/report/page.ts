/**
 * The page shell shared by every report: one self-contained HTML document that works offline.
 *
 * - uPlot's JS and CSS are read from the installed `uplot` package and inlined (no CDN).
 * - The data travels as JSON in `<script type="application/json" id="report-data">`; every `<`
 *   is written as `\u003c`, so neither `</script>` nor `<!--` inside a string (a run name, a config
 *   value) can end the tag early. JSON.parse reads the escape back as `<`.
 * - Text from the run folder goes through `escapeHtml` everywhere it enters markup.
 * - The page script (CLIENT_SCRIPT) only draws: it turns each ChartSpec (./charts.ts) into a uPlot
 *   chart sized to its container (a ResizeObserver keeps it responsive), and paints misclassified
 *   samples onto <canvas> elements from 8-bit grayscale pixels.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ChartSpec } from "./charts.js";

let assets: { js: string; css: string } | null = null;

/** uPlot's minified JS and CSS, read once from node_modules. */
export function uplotAssets(): { js: string; css: string } {
  if (assets === null) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
    const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
    // NOTE: an inline <script>/<style> ends at the first "</script" / "</style"; uPlot contains
    // neither today, and this keeps a future version from breaking the page silently.
    assets = { js: js.replace(/<\/(script)/gi, "<\\/$1"), css: css.replace(/<\/(style)/gi, "<\\/$1") };
  }
  return assets;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON safe inside a <script> element (see the header). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function fmtPercent(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)}%`;
}

export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** 95.3 -> "1 min 35 s"; 4210 -> "1 h 10 min". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A chart's slot on the page; CLIENT_SCRIPT fills it from the spec with the same id. */
export function chartFigure(spec: ChartSpec): string {
  return `<figure class="chart"><figcaption>${escapeHtml(spec.title)}</figcaption><div class="plot" data-chart="${escapeHtml(spec.id)}"></div></figure>`;
}

/** The "what is missing or damaged" box; empty when all is well. */
export function noticeBox(missing: readonly string[], problems: readonly string[], intro = ""): string {
  if (missing.length === 0 && problems.length === 0) return "";
  const items = [
    ...missing.map((f) => `<li><code>${escapeHtml(f)}</code> is missing${f === "summary.json" ? " (the run did not finish: no test results)" : ""}</li>`),
    ...problems.map((p) => `<li>${escapeHtml(p)}</li>`),
  ];
  return `<section class="notice" role="status"><h2>Incomplete run folder</h2>${intro}<ul>${items.join("")}</ul></section>`;
}

const CSS = `
:root { --fg: #1d2330; --muted: #5f6b7a; --line: #e3e7ee; --bg: #f6f7f9; --card: #fff; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 24px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; word-break: break-word; }
header .path { margin: 0 0 16px; color: var(--muted); font-size: 13px; word-break: break-all; }
h2 { font-size: 18px; margin: 0 0 12px; font-weight: 620; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 0 0 20px; }
.stats { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 20px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 16px; min-width: 130px; }
.stat .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.stat .v { font-size: 22px; font-weight: 640; font-variant-numeric: tabular-nums; }
.stat .v.good { color: #1a7f37; } .stat .v.warn { color: #b35900; }
.notice { background: #fff8e6; border-color: #f0d48a; }
.notice h2 { color: #7a5200; }
.notice ul { margin: 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 20px; }
.chart { margin: 0; min-width: 0; }
.chart figcaption { font-weight: 600; margin: 0 0 6px; }
.plot { width: 100%; min-width: 0; }
.uplot { font-family: inherit; }
.uplot .legend { font-size: 13px; }
.empty { color: var(--muted); font-style: italic; }
.findings { list-style: none; margin: 0 0 12px; padding: 0; }
.finding { border-left: 4px solid var(--line); padding: 6px 10px; margin: 0 0 8px; background: var(--bg); }
.finding.problem { border-left-color: #c62828; }
.finding.warning { border-left-color: #e69a00; }
.finding.info { border-left-color: #2e7d32; }
.finding .sev { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.finding .evidence { font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace; color: var(--muted); margin: 2px 0; overflow-wrap: anywhere; }
.finding .remedies { margin: 4px 0 0; padding-left: 22px; }
table.data { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; }
table.data th, table.data td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.data td.folder { white-space: normal; word-break: break-all; font-size: 12px; color: var(--muted); min-width: 200px; }
table.data small { color: var(--muted); }
table.data th { font-weight: 600; color: var(--muted); }
table.data td.text, table.data th.text { text-align: left; }
table.data tr.best td { background: #eef6ff; font-weight: 600; }
.scroll { overflow-x: auto; }
table.confusion { border-collapse: separate; border-spacing: 2px; font-variant-numeric: tabular-nums; font-size: 13px; }
table.confusion td { width: 46px; height: 34px; text-align: center; border-radius: 4px; }
table.confusion th { font-weight: 600; padding: 2px 6px; text-align: center; color: var(--muted); }
table.confusion td.zero { color: #c4cad3; }
table.confusion td.rate { width: auto; padding: 0 10px; color: var(--fg); font-weight: 600; }
table.confusion .axis { font-weight: 600; color: var(--fg); }
.caption { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.digits { display: grid; grid-template-columns: repeat(auto-fill, minmax(104px, 1fr)); gap: 12px; }
.digit { text-align: center; font-size: 13px; }
.digit canvas { width: 84px; height: 84px; image-rendering: pixelated; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.digit .true { color: #1a7f37; font-weight: 600; } .digit .pred { color: #c62828; font-weight: 600; }
.digit .idx { color: var(--muted); font-size: 11px; }
pre { margin: 0; background: #f3f5f8; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; overflow: auto;
  font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; max-height: 520px; }
.events { margin: 0; padding-left: 20px; }
.events .when { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 8px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 8px; vertical-align: -1px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
`;

/**
 * The page script. Plain ES2020, no build step; it reads the embedded data and draws.
 * data.charts: ChartSpec[]; data.images: { w, h, px: number[] (0..255 ink) }[].
 */
const CLIENT_SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var HEIGHT = 280;

  // the page's copy of formatLr (src/schedules/format.ts): this script has no imports
  function fmtLr(v) {
    if (v === 0) return "0";
    var r = Number(v.toPrecision(3));
    return Math.abs(r) >= 1 ? String(r) : r.toExponential();
  }
  function fmt(v, kind) {
    if (v === null || v === undefined) return "–";
    if (kind === "percent") return (v * 100).toFixed(2) + "%";
    if (kind === "lr") return fmtLr(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }
  function tick(v, kind) {
    if (v === null || v === undefined) return "";
    if (kind === "percent") return Number((v * 100).toFixed(1)) + "%";
    if (kind === "lr") return fmtLr(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(0);
    return String(Number(v.toPrecision(3)));
  }
  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16 & 255) + "," + (n >> 8 & 255) + "," + (n & 255) + "," + alpha + ")";
  }
  function widthOf(el) { return Math.max(260, Math.floor(el.getBoundingClientRect().width)); }

  function drawChart(spec, el) {
    var axisFont = "12px system-ui, sans-serif";
    var opts = {
      width: widthOf(el),
      height: HEIGHT,
      scales: { x: { time: false }, y: spec.logY ? { distr: 3 } : {} },
      axes: [
        { label: spec.xLabel, labelSize: 22, font: axisFont, labelFont: axisFont, grid: { stroke: "#eef0f4" },
          incrs: spec.xWholeTicks ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] : undefined },
        { label: spec.yLabel, labelSize: 22, size: 62, font: axisFont, labelFont: axisFont, grid: { stroke: "#eef0f4" },
          values: function (u, splits) { return splits.map(function (v) { return tick(v, spec.yFormat); }); } }
      ],
      series: [{ label: spec.xLabel, value: function (u, v) { return v === null || v === undefined ? "–" : Number(v.toFixed(3)); } }]
        .concat(spec.series.map(function (s) {
          return {
            label: s.label,
            stroke: s.faint ? rgba(s.color, 0.45) : s.color,
            width: s.width,
            dash: s.dash.length ? s.dash : undefined,
            spanGaps: true,
            points: { show: s.points, size: 6, fill: s.color },
            value: function (u, v) { return fmt(v, spec.yFormat); }
          };
        })),
      cursor: { drag: { x: true, y: false } },
      legend: { live: true }
    };
    var chart = new uPlot(opts, [spec.x].concat(spec.series.map(function (s) { return s.values; })), el);
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        var w = widthOf(el);
        if (w !== chart.width) chart.setSize({ width: w, height: HEIGHT });
      }).observe(el);
    }
  }

  (data.charts || []).forEach(function (spec) {
    var el = document.querySelector('[data-chart="' + spec.id + '"]');
    if (el) drawChart(spec, el);
  });

  var canvases = document.querySelectorAll("canvas[data-image]");
  for (var k = 0; k < canvases.length; k++) {
    var c = canvases[k], img = data.images[Number(c.getAttribute("data-image"))];
    if (!img) continue;
    c.width = img.w; c.height = img.h;
    var ctx = c.getContext("2d"), pix = ctx.createImageData(img.w, img.h);
    for (var i = 0; i < img.w * img.h; i++) {
      var g = 255 - (img.px[i] || 0);
      pix.data[4 * i] = g; pix.data[4 * i + 1] = g; pix.data[4 * i + 2] = g; pix.data[4 * i + 3] = 255;
    }
    ctx.putImageData(pix, 0, 0);
  }
  document.documentElement.setAttribute("data-rendered", "true");
})();
`;

/** Assembles the document: inlined uPlot, the page CSS, the body, the data and the page script. */
export function renderPage(opts: { title: string; body: string; data: unknown }): string {
  const { js, css } = uplotAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="descent">
<title>${escapeHtml(opts.title)}</title>
<link rel="icon" href="data:,">
<style>${css}</style>
<style>${CSS}</style>
</head>
<body>
<main>
${opts.body}
<footer>Written by descent. Self-contained: charts drawn with uPlot, inlined.</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(opts.data)}</script>
<script>${js}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
