/**
 * Chart specifications: what each uPlot chart of a report draws, computed here in TypeScript so
 * the page's script only draws (and so the arithmetic is tested without a browser).
 *
 * uPlot takes "aligned" data: one shared x array and, per series, one y array of the same length.
 * Series sampled at different x (per-step loss and per-epoch loss; several runs with different
 * step counts) are joined on the union of their x values, with null where a series has no sample;
 * the page draws them with `spanGaps`, so each series is still one connected line.
 *
 * The x axis is epochs. An epoch record sits at x = epoch + 1 (the end of that epoch); a step
 * record at its fractional position inside its epoch, x = epoch + (step - first + 1) / perEpoch,
 * where `first` is the first step logged in that epoch and `perEpoch` the longest epoch seen. So
 * the per-step loss of epoch 0 runs from just after 0 up to 1, where the first epoch point sits.
 */
import type { EpochRecord, RunData, StepRecord } from "./read.js";

export interface SeriesSpec {
  label: string;
  /** A #rrggbb color. */
  color: string;
  values: (number | null)[];
  width: number;
  /** Drawn thin and translucent (per-step noise behind the per-epoch line). */
  faint: boolean;
  /** Dots on the samples (series with few points). */
  points: boolean;
  dash: number[];
}

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** "percent" shows 0.93 as 93%. */
  /** "lr": learning rates, in exponent form (src/schedules/format.ts) */
  yFormat: "number" | "percent" | "lr";
  /** A logarithmic y axis (learning rates that span decades). */
  logY: boolean;
  /** Ticks on whole epochs only (the x range spans at least 2 epochs), never at 1.5. */
  xWholeTicks: boolean;
  x: number[];
  series: SeriesSpec[];
}

/** Colors that stay apart from each other on white (the Tableau 10 palette). */
export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** A series as samples before joining: parallel x and y. */
export interface Samples {
  x: number[];
  y: (number | null)[];
}

/** Joins series sampled at different x onto the sorted union of their x values (null where absent). */
export function joinSamples(parts: Samples[]): { x: number[]; ys: (number | null)[][] } {
  const xs = new Set<number>();
  for (const p of parts) for (const x of p.x) xs.add(x);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const ys = parts.map((p) => {
    const y = new Array<number | null>(x.length).fill(null);
    p.x.forEach((xv, i) => {
      y[index.get(xv)!] = p.y[i] ?? null;
    });
    return y;
  });
  return { x, ys };
}

/** Rounds away float noise so that equal positions join exactly (1/3 + 2/3 and 1 meet). */
function roundX(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** The fractional-epoch x of each step record (see the header). */
export function stepPositions(steps: readonly StepRecord[]): number[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const s of steps) {
    first.set(s.epoch, Math.min(first.get(s.epoch) ?? Infinity, s.step));
    last.set(s.epoch, Math.max(last.get(s.epoch) ?? -Infinity, s.step));
  }
  let perEpoch = 1;
  for (const [e, f] of first) perEpoch = Math.max(perEpoch, last.get(e)! - f + 1);
  return steps.map((s) => roundX(s.epoch + (s.step - first.get(s.epoch)! + 1) / perEpoch));
}

export function epochPositions(epochs: readonly EpochRecord[]): number[] {
  return epochs.map((e) => e.epoch + 1);
}

function hasValue(values: readonly (number | null)[]): boolean {
  return values.some((v) => v !== null);
}

/**
 * A log axis is worth it when every value of every line is positive and together they span more
 * than `ratio`: learning rates of 1e-3 and 0.05 side by side, or a loss that grew to 1e36, whose
 * linear axis flattens everything else (and has no room for its tick labels).
 */
function wantsLogAxis(lines: readonly (readonly (number | null)[])[], ratio: number): boolean {
  let min = Infinity, max = -Infinity;
  for (const values of lines) {
    for (const x of values) {
      if (x === null) continue;
      if (!(x > 0) || !Number.isFinite(x)) return false;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
  }
  return max / min > ratio;
}

/** Span ratios above which a chart's y axis turns logarithmic (see wantsLogAxis). */
const LOG_LR = 30;
const LOG_LOSS = 1e3;

interface Line {
  label: string;
  color: string;
  samples: Samples;
  faint?: boolean;
  dash?: number[];
}

/** Builds one chart from lines sampled anywhere; lines with no value are dropped. Null when nothing is left. */
export function buildChart(
  base: Omit<ChartSpec, "x" | "series" | "logY" | "xWholeTicks">,
  lines: Line[],
  opts: { logAbove?: number } = {},
): ChartSpec | null {
  const kept = lines.filter((l) => hasValue(l.samples.y));
  if (kept.length === 0) return null;
  const { x, ys } = joinSamples(kept.map((l) => l.samples));
  const series = kept.map((l, i): SeriesSpec => {
    const n = l.samples.y.filter((v) => v !== null).length;
    const faint = l.faint ?? false;
    return { label: l.label, color: l.color, values: ys[i]!, width: faint ? 1 : 2, faint, points: !faint && n <= 60, dash: l.dash ?? [] };
  });
  const logY = opts.logAbove !== undefined && wantsLogAxis(kept.map((l) => l.samples.y), opts.logAbove);
  const xWholeTicks = x.length > 0 && x[x.length - 1]! - x[0]! >= 2;
  return { ...base, logY, xWholeTicks, x, series };
}

function stepSamples(steps: readonly StepRecord[], pick: (s: StepRecord) => number | null): Samples {
  return { x: stepPositions(steps), y: steps.map(pick) };
}

function epochSamples(epochs: readonly EpochRecord[], pick: (e: EpochRecord) => number | null): Samples {
  return { x: epochPositions(epochs), y: epochs.map(pick) };
}

/** The learning rate per step when steps carry it, else per epoch. */
function lrSamples(run: RunData): Samples {
  return run.steps.some((s) => s.lr !== null) ? stepSamples(run.steps, (s) => s.lr) : epochSamples(run.epochs, (e) => e.lr);
}

const BLUE = PALETTE[0]!;
const ORANGE = PALETTE[1]!;

/** The charts of one run: loss, accuracy, learning rate, and gradient norm when logged. */
export function runCharts(run: RunData): ChartSpec[] {
  const charts = [
    buildChart({ id: "loss", title: "Loss", xLabel: "epoch", yLabel: "loss", yFormat: "number" }, [
      { label: "train loss (per step)", color: BLUE, samples: stepSamples(run.steps, (s) => s.loss), faint: true },
      { label: "train loss", color: BLUE, samples: epochSamples(run.epochs, (e) => e.trainLoss) },
      { label: "dev loss", color: ORANGE, samples: epochSamples(run.epochs, (e) => e.devLoss) },
    ], { logAbove: LOG_LOSS }),
    buildChart({ id: "accuracy", title: "Accuracy", xLabel: "epoch", yLabel: "accuracy", yFormat: "percent" }, [
      { label: "train accuracy", color: BLUE, samples: epochSamples(run.epochs, (e) => e.trainAccuracy) },
      { label: "dev accuracy", color: ORANGE, samples: epochSamples(run.epochs, (e) => e.devAccuracy) },
    ]),
    buildChart(
      { id: "lr", title: "Learning rate", xLabel: "epoch", yLabel: "learning rate", yFormat: "lr" },
      [{ label: "learning rate", color: PALETTE[2]!, samples: lrSamples(run) }],
      { logAbove: LOG_LR },
    ),
    buildChart({ id: "gradNorm", title: "Gradient norm", xLabel: "epoch", yLabel: "‖g‖", yFormat: "number" }, [
      { label: "gradient norm (per step)", color: PALETTE[4]!, samples: stepSamples(run.steps, (s) => s.gradNorm) },
    ]),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}

/** The charts that overlay several runs: dev loss, train loss, dev accuracy, learning rate. */
export function compareCharts(runs: readonly { label: string; run: RunData }[]): { charts: ChartSpec[]; empty: string[] } {
  const lines = (pick: (r: RunData) => Samples): Line[] =>
    runs.map((r, i) => ({ label: r.label, color: paletteColor(i), samples: pick(r.run) }));
  const specs: [Omit<ChartSpec, "x" | "series" | "logY" | "xWholeTicks">, Line[], { logAbove?: number }][] = [
    [{ id: "devLoss", title: "Dev loss", xLabel: "epoch", yLabel: "loss", yFormat: "number" }, lines((r) => epochSamples(r.epochs, (e) => e.devLoss)), { logAbove: LOG_LOSS }],
    [{ id: "trainLoss", title: "Train loss", xLabel: "epoch", yLabel: "loss", yFormat: "number" }, lines((r) => epochSamples(r.epochs, (e) => e.trainLoss)), { logAbove: LOG_LOSS }],
    [{ id: "devAccuracy", title: "Dev accuracy", xLabel: "epoch", yLabel: "accuracy", yFormat: "percent" }, lines((r) => epochSamples(r.epochs, (e) => e.devAccuracy)), {}],
    [{ id: "lr", title: "Learning rate", xLabel: "epoch", yLabel: "learning rate", yFormat: "lr" }, lines(lrSamples), { logAbove: LOG_LR }],
  ];
  const charts: ChartSpec[] = [];
  const empty: string[] = [];
  for (const [base, ls, opts] of specs) {
    const c = buildChart(base, ls, opts);
    if (c === null) empty.push(base.title);
    else charts.push(c);
  }
  return { charts, empty };
}

/** Where each training record sits on the epoch axis: at its step's position when that step was logged. */
function recordSamples(run: RunData, pick: (r: RunData["records"][number]) => number | null): Samples {
  const positions = stepPositions(run.steps);
  const at = new Map(run.steps.map((s, i) => [s.step, positions[i]!]));
  return { x: run.records.map((r) => at.get(r.step) ?? r.epoch + 1), y: run.records.map(pick) };
}

/**
 * The Diagnosis section's charts: the gradient norm of each weight tensor over time (log scale:
 * vanishing gradients are orders of magnitude apart), the dead (ReLU family) or saturated
 * (sigmoid, tanh) fraction of each activation layer, and the Hessian's spectral density when
 * `descent diagnose` computed it.
 */
export function diagnosisCharts(run: RunData): ChartSpec[] {
  const weights = [...new Set(run.records.flatMap((r) => Object.keys(r.grads)))].filter((n) => n.endsWith("weight"));
  const layers = [...new Set(run.records.flatMap((r) => Object.keys(r.activations)))].sort((a, b) => Number(a) - Number(b));
  const typeOf = (i: string) => run.records.find((r) => r.activations[i])?.activations[i]?.type ?? "?";
  const grads = buildChart(
    { id: "layerGrads", title: "Gradient norm per layer", xLabel: "epoch", yLabel: "‖g‖", yFormat: "number" },
    weights.map((n, i) => ({ label: n, color: paletteColor(i), samples: recordSamples(run, (r) => r.grads[n] ?? null) })),
  );
  // one log axis for all layers together (their norms, not each line's own range, span decades)
  const all = grads?.series.flatMap((s) => s.values.filter((v): v is number => v !== null)) ?? [];
  const charts = [
    grads && { ...grads, logY: all.length > 0 && all.every((v) => v > 0) },
    buildChart(
      { id: "activationHealth", title: "Dead or saturated units per layer", xLabel: "epoch", yLabel: "fraction of units", yFormat: "percent" },
      layers.map((l, i) => {
        const kind = /Sigmoid|Tanh/.test(typeOf(l)) ? "saturated" : "dead";
        return { label: `${l} ${typeOf(l)} ${kind}`, color: paletteColor(i), samples: recordSamples(run, (r) => r.activations[l]?.[kind] ?? null) };
      }),
    ),
  ];
  const d = run.diagnosis?.density;
  if (d) {
    const spectrum = buildChart({ id: "spectrum", title: "Hessian spectral density", xLabel: "eigenvalue", yLabel: "density", yFormat: "number" }, [
      { label: "density", color: PALETTE[3]!, samples: { x: d.grid, y: d.density } },
    ]);
    if (spectrum) charts.push({ ...spectrum, xWholeTicks: false });
  }
  return charts.filter((c): c is ChartSpec => c !== null);
}
