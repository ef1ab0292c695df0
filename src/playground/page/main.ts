/**
 * The playground page: wires the controls of static/index.html to the surfaces, averages,
 * schedules and in-page training. Everything numerical is the library's (the bundle): this file
 * only reads inputs, calls it, and draws. Results are also written into data- attributes so a test
 * (or a curious person in the console) can read what the page computed.
 */
import { ExponentialMovingAverage, Generator, INIT_NAMES, OPTIMIZER_NAMES, createSchedule, randn, type ScheduleSpec } from "../../index.js";
import { drawArrow, drawChart, drawContours, drawMarker, drawPath, toWorld, type View } from "./plot.js";
import { PATH_OPTIMIZERS, SURFACES, gridValues, optimizerPath, pointInfo, type Surface } from "./surfaces.js";
import { DATA_NAMES, trainNetwork, type NetworkChoice, type TrainUpdate } from "./network.js";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: the page has no #${id}`);
  return el as T;
};
const num = (id: string): number => Number($<HTMLInputElement>(id).value);
const fmt = (v: number): string => (Math.abs(v) >= 1e3 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

// ---- optimizers on loss surfaces ----

const surfaceCanvas = $<HTMLCanvasElement>("surface");
let surface: Surface = SURFACES[0]!;
let grid: Float64Array = new Float64Array(0);
let start: [number, number] = [-1.5, -0.4];
let animation = 0;

function lrOf(id: string): number {
  return 10 ** num(`lr-${id}`);
}

function buildOptimizerRows(): void {
  const body = $("optimizers");
  for (const o of PATH_OPTIMIZERS) {
    const row = document.createElement("tr");
    row.dataset.opt = o.id;
    row.innerHTML = `<td><input type="checkbox" id="use-${o.id}" ${o.id === "sgd" || o.id === "momentum" || o.id === "rmsprop" || o.id === "adam" ? "checked" : ""}></td>
      <td><span class="swatch" style="background:${o.color}"></span>${o.label}</td>
      <td><input type="range" id="lr-${o.id}" min="-4" max="0.5" step="0.05" value="${Math.log10(o.lr)}"></td>
      <td class="lr" id="lrv-${o.id}"></td><td class="final" id="final-${o.id}"></td>`;
    body.appendChild(row);
  }
}

function showSliderValues(): void {
  for (const o of PATH_OPTIMIZERS) $(`lrv-${o.id}`).textContent = lrOf(o.id).toPrecision(2);
  $("b1v").textContent = num("b1").toFixed(3);
  $("b2v").textContent = num("b2").toFixed(3);
  $("stepsv").textContent = String(num("steps"));
}

function setSurface(id: string): void {
  surface = SURFACES.find((s) => s.id === id) ?? SURFACES[0]!;
  grid = gridValues(surface, 160, 120);
  $("surface-note").textContent = surface.note;
  runPaths();
}

function showPointInfo(x: number, y: number): void {
  const info = pointInfo(surface, x, y);
  const el = $("point-info");
  const [v0, v1] = info.eigenvectors;
  el.innerHTML = `<b>at (${fmt(x)}, ${fmt(y)})</b>: loss ${fmt(info.value)}<br>
    gradient (${fmt(info.gradient[0])}, ${fmt(info.gradient[1])}), norm ${fmt(Math.hypot(...info.gradient))}<br>
    Hessian eigenvalues ${fmt(info.eigenvalues[0])} along (${fmt(v0[0])}, ${fmt(v0[1])}) and ${fmt(info.eigenvalues[1])} along (${fmt(v1[0])}, ${fmt(v1[1])})<br>
    shape here: <b>${info.curvature}</b>; critical point: <b>${info.kind === "none" ? "no (the gradient is not zero)" : info.kind}</b>
    ${info.escape ? `<br>escape direction (the eigenvector of the negative eigenvalue, drawn in red): ±(${fmt(info.escape[0])}, ${fmt(info.escape[1])})` : ""}`;
  el.dataset.kind = info.kind;
  el.dataset.curvature = info.curvature;
  el.dataset.eigenvalues = info.eigenvalues.join(",");
}

function drawSurface(paths: { color: string; pts: [number, number][] }[], upto: number): void {
  drawContours(surfaceCanvas, grid, 160, 120);
  const info = pointInfo(surface, start[0], start[1]);
  if (info.escape) {
    const span = 0.25 * (surface.view.x1 - surface.view.x0);
    drawArrow(surfaceCanvas, surface.view, start[0], start[1], span * info.escape[0], span * info.escape[1], "#ff3030");
    drawArrow(surfaceCanvas, surface.view, start[0], start[1], -span * info.escape[0], -span * info.escape[1], "#ff3030");
  }
  for (const p of paths) drawPath(surfaceCanvas, surface.view, p.pts.slice(0, upto + 1), p.color);
  drawMarker(surfaceCanvas, surface.view, start[0], start[1]);
}

function runPaths(): void {
  cancelAnimationFrame(animation);
  showSliderValues();
  const steps = num("steps"), b1 = num("b1"), b2 = num("b2");
  const paths: { color: string; pts: [number, number][] }[] = [];
  for (const o of PATH_OPTIMIZERS) {
    const cell = $(`final-${o.id}`);
    const row = cell.parentElement!;
    if (!$<HTMLInputElement>(`use-${o.id}`).checked) {
      cell.textContent = "";
      delete row.dataset.final;
      continue;
    }
    const pts = optimizerPath(surface, o, start, steps, lrOf(o.id), b1, b2);
    const [x, y] = pts[pts.length - 1]!;
    const diverged = pts.length < steps + 1;
    cell.textContent = diverged ? `diverged after ${pts.length - 1} steps` : `(${fmt(x)}, ${fmt(y)}), loss ${fmt(pointInfo(surface, x, y).value)}`;
    row.dataset.final = `${x},${y}`;
    row.dataset.moved = String(Math.hypot(x - start[0], y - start[1]));
    paths.push({ color: o.color, pts });
  }
  showPointInfo(start[0], start[1]);
  const total = Math.max(0, ...paths.map((p) => p.pts.length - 1));
  let shown = 0;
  const frame = () => {
    shown = Math.min(total, shown + Math.max(2, Math.ceil(total / 90)));
    drawSurface(paths, shown);
    if (shown < total) animation = requestAnimationFrame(frame);
    else $("surface").dataset.drawn = "true";
  };
  $("surface").dataset.drawn = "false";
  frame();
}

function setStart(x: number, y: number): void {
  start = [x, y];
  $<HTMLInputElement>("start-w1").value = String(x);
  $<HTMLInputElement>("start-w2").value = String(y);
  runPaths();
}

// ---- exponentially weighted averages ----

function drawEwma(): void {
  const rng = new Generator(7);
  const noise = randn([200], { rng }).dataSync();
  const series = Array.from({ length: 200 }, (_, t) => 12 + 8 * Math.sin((2 * Math.PI * t) / 200) + 3 * noise[t]!);
  const biasCorrection = $<HTMLInputElement>("bias-correction").checked;
  const lines = [
    { beta: 0.9, color: "#d62728" },
    { beta: 0.98, color: "#2ca02c" },
    { beta: 0.5, color: "#e7b416" },
  ].map(({ beta, color }) => {
    const ema = new ExponentialMovingAverage({ beta, biasCorrection });
    return { label: `β = ${beta}`, color, values: series.map((x) => ema.update(x)) };
  });
  drawChart($<HTMLCanvasElement>("ewma"), [{ label: "data", color: "#1f77b4", values: series, points: true }, ...lines], { xLabel: "day t", yMin: 0 });
}

// ---- learning-rate schedules ----

function drawSchedules(): void {
  const lr0 = num("alpha0"), decay = num("decay"), epochs = 60;
  $("alpha0v").textContent = lr0.toPrecision(2);
  $("decayv").textContent = decay.toFixed(2);
  const specs: { label: string; color: string; spec: ScheduleSpec }[] = [
    { label: "α0 / (1 + decay·epoch)", color: "#d62728", spec: { type: "inverseTime", lr0, decayRate: decay } },
    { label: "0.95^epoch · α0", color: "#1f77b4", spec: { type: "exponential", lr0, gamma: 0.95 } },
    { label: "step (÷2 every 15)", color: "#2ca02c", spec: { type: "step", lr0, stepSize: 15, gamma: 0.5 } },
    { label: "cosine", color: "#9467bd", spec: { type: "cosine", lr0, tMax: epochs } },
    { label: "warm-up 5 + cosine", color: "#ff7f0e", spec: { type: "warmup", lr0, warmupEpochs: 5, then: { type: "cosine", lr0, tMax: epochs - 5 } } },
  ];
  drawChart(
    $<HTMLCanvasElement>("schedules"),
    specs.map(({ label, color, spec }) => {
      const s = createSchedule(spec);
      return { label, color, values: Array.from({ length: epochs }, (_, e) => s.lrAt(e)) };
    }),
    { xLabel: "epoch", yMin: 0 },
  );
}

// ---- a network trained in the page ----

let training: AbortController | null = null;

function choice(): NetworkChoice {
  const sel = (id: string) => $<HTMLSelectElement>(id).value;
  return {
    data: sel("data") as NetworkChoice["data"], noise: num("noise"), hiddenLayers: num("layers"), width: num("width"),
    activation: sel("activation") as NetworkChoice["activation"], init: sel("init") as NetworkChoice["init"],
    optimizer: sel("optimizer") as NetworkChoice["optimizer"], lr: num("lr"), l2: num("l2"), epochs: num("epochs"), batchSize: 32, seed: 1,
  };
}

type Rows = { inputs: { dataSync(): ArrayLike<number> }; labels: { dataSync(): ArrayLike<number> } };

/** 2-D data: the decision boundary under the training points; digits: dev digits, red when misread. */
function drawBoundary(u: TrainUpdate, train: Rows, dev: Rows): void {
  const c = $<HTMLCanvasElement>("boundary");
  const ctx = c.getContext("2d")!;
  $("boundary-caption").textContent = u.boundary ? "decision boundary and training points" : "dev digits with the model's answer (red: wrong)";
  if (u.boundary === null) {
    drawDigits(c, dev, u.predictions!);
    return;
  }
  const n = 60, cell = c.width / n;
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const p = u.boundary[j * n + i]!;
    ctx.fillStyle = `rgb(${Math.round(255 - 90 * p)}, ${Math.round(200 + 20 * (1 - Math.abs(2 * p - 1)))}, ${Math.round(165 + 90 * p)})`;
    ctx.fillRect(i * cell, j * cell, cell + 1, cell + 1);
  }
  const xs = train.inputs.dataSync(), ys = train.labels.dataSync();
  const view: View = { x0: -2, x1: 2, y0: -2, y1: 2 };
  for (let k = 0; k < ys.length; k++) {
    const px = ((xs[2 * k]! - view.x0) / 4) * c.width, py = ((view.y1 - xs[2 * k + 1]!) / 4) * c.height;
    ctx.fillStyle = ys[k] ? "#1f4fd1" : "#e05a00";
    ctx.beginPath();
    ctx.arc(px, py, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** The first predictions.length dev digits (14x14) in an 8-wide grid, each with the model's answer. */
function drawDigits(c: HTMLCanvasElement, dev: Rows, predictions: Int32Array): void {
  const ctx = c.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, c.width, c.height);
  const xs = dev.inputs.dataSync(), ys = dev.labels.dataSync();
  const side = 14, cols = 8, cell = c.width / cols, scale = (cell - 12) / side;
  ctx.font = "11px sans-serif";
  predictions.forEach((p, k) => {
    const ox = (k % cols) * cell, oy = Math.floor(k / cols) * cell;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const v = Math.round(255 * (1 - xs[k * side * side + y * side + x]!));
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect(ox + 2 + x * scale, oy + 2 + y * scale, scale + 0.5, scale + 0.5);
    }
    ctx.fillStyle = p === ys[k] ? "#167a2e" : "#d62728";
    ctx.fillText(String(p), ox + cell - 10, oy + cell - 2);
  });
}

function drawNorms(norms: { name: string; norm: number }[]): void {
  const c = $<HTMLCanvasElement>("gradnorms");
  const ctx = c.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, c.width, c.height);
  const logs = norms.map((n) => Math.log10(Math.max(n.norm, 1e-12)));
  const lo = Math.min(-8, ...logs), hi = Math.max(1, ...logs);
  const bw = (c.width - 60) / Math.max(norms.length, 1);
  ctx.font = "11px sans-serif";
  norms.forEach((n, i) => {
    const h = ((logs[i]! - lo) / (hi - lo)) * (c.height - 40);
    ctx.fillStyle = "#4c72b0";
    ctx.fillRect(50 + i * bw + 2, c.height - 20 - h, bw - 4, h);
    ctx.fillStyle = "#222";
    ctx.fillText(`L${i + 1}`, 50 + i * bw + bw / 2 - 6, c.height - 6);
  });
  ctx.fillText(`1e${Math.round(hi)}`, 4, 14);
  ctx.fillText(`1e${Math.round(lo)}`, 4, c.height - 22);
}

async function startTraining(): Promise<void> {
  training?.abort();
  const controller = new AbortController();
  training = controller;
  const section = $("network");
  section.dataset.state = "training";
  const losses: number[] = [], devLosses: number[] = [];
  $("diagnosis").textContent = "training…";
  try {
    const result = await trainNetwork(choice(), async (u, train, dev) => {
      losses.push(u.epoch.trainLoss);
      devLosses.push(u.epoch.devLoss ?? NaN);
      drawBoundary(u, train, dev);
      drawNorms(u.norms);
      drawChart($<HTMLCanvasElement>("loss"), [{ label: "train loss", color: "#1f77b4", values: losses }, { label: "dev loss", color: "#ff7f0e", values: devLosses }], { logY: true, xLabel: "epoch" });
      $("progress").textContent = `epoch ${u.epoch.epoch + 1}: train loss ${fmt(u.epoch.trainLoss)}, train acc ${(100 * (u.epoch.trainAccuracy ?? 0)).toFixed(1)}%, dev acc ${(100 * (u.epoch.devAccuracy ?? 0)).toFixed(1)}%`;
      await new Promise((r) => requestAnimationFrame(() => r(undefined)));
    }, controller.signal);
    if (training !== controller) return;
    const last = result.epochs[result.epochs.length - 1];
    drawNorms(result.norms);
    $("diagnosis").textContent = result.diagnosis.message;
    section.dataset.diagnosis = result.diagnosis.code;
    section.dataset.trainAccuracy = String(last?.trainAccuracy ?? 0);
    section.dataset.devAccuracy = String(last?.devAccuracy ?? 0);
    section.dataset.norms = result.norms.map((n) => n.norm).join(",");
    section.dataset.state = "done";
  } catch (e) {
    $("diagnosis").textContent = `error: ${(e as Error).message}`;
    section.dataset.state = "error";
  }
}

function fillSelect(id: string, values: readonly string[], selected: string): void {
  const el = $<HTMLSelectElement>(id);
  el.innerHTML = values.map((v) => `<option ${v === selected ? "selected" : ""}>${v}</option>`).join("");
}

// ---- wiring ----

function init(): void {
  buildOptimizerRows();
  fillSelect("surface-choice", SURFACES.map((s) => s.id), "saddle");
  fillSelect("data", DATA_NAMES, "spirals");
  fillSelect("init", INIT_NAMES.filter((n) => n !== "constant"), "heNormal");
  fillSelect("optimizer", OPTIMIZER_NAMES, "adam");
  $("surface-choice").addEventListener("change", (e) => setSurface((e.target as HTMLSelectElement).value));
  document.querySelectorAll("#surface-controls input").forEach((el) => el.addEventListener("input", runPaths));
  surfaceCanvas.addEventListener("click", (e) => {
    const r = surfaceCanvas.getBoundingClientRect();
    const [x, y] = toWorld(surfaceCanvas, surface.view, ((e.clientX - r.left) / r.width) * surfaceCanvas.width, ((e.clientY - r.top) / r.height) * surfaceCanvas.height);
    setStart(Number(x.toFixed(3)), Number(y.toFixed(3)));
  });
  $("start-go").addEventListener("click", () => setStart(num("start-w1"), num("start-w2")));
  $("bias-correction").addEventListener("change", drawEwma);
  for (const id of ["alpha0", "decay"]) $(id).addEventListener("input", drawSchedules);
  $("train").addEventListener("click", () => void startTraining());
  $("stop").addEventListener("click", () => training?.abort());
  setSurface("saddle");
  drawEwma();
  drawSchedules();
  document.documentElement.dataset.ready = "true";
}

init();
