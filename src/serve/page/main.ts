/**
 * The dashboard page (`descent serve`): the runs table (caviar: sortable, curves of the ticked
 * runs overlaid) and one run's panel (panda: live curves over server-sent events, and controls
 * that POST to /api/control with the token). The token comes from the URL the server printed;
 * the page sends it on every request.
 */
import { drawChart, type Series } from "../../playground/page/plot.js";

interface RunRow {
  name: string; status: string; optimizer: string | null; lr: number | null; epochs: number; steps: number;
  bestDevLoss: number | null; bestDevAccuracy: number | null; testAccuracy: number | null; report: boolean;
}
interface Rec { type: string; step?: number; epoch?: number; loss?: number; lr?: number; trainLoss?: number; devLoss?: number; devAccuracy?: number; message?: string }

const token = new URLSearchParams(location.search).get("token") ?? "";
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const fmt = (v: number | null) => (v === null ? "" : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toPrecision(4));

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { "x-descent-token": token, ...(init.headers ?? {}) } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

// ---- caviar ----

let runs: RunRow[] = [];
let sortKey: keyof RunRow = "name";
let sortUp = true;
const ticked = new Set<string>();
const curves = new Map<string, Rec[]>();

async function refreshRuns(): Promise<void> {
  runs = (await api<{ runs: RunRow[] }>("/api/runs")).runs;
  for (const r of runs) if (r.status !== "finished") curves.delete(r.name);
  renderRuns();
  const shown = runs.find((r) => r.name === current);
  if (shown) $("run-status").textContent = shown.status;
  void drawOverlay();
}

function renderRuns(): void {
  const sorted = [...runs].sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    // runs without the value go last in either direction
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const c = x < y ? -1 : x > y ? 1 : 0;
    return sortUp ? c : -c;
  });
  const body = $("runs").querySelector("tbody")!;
  body.innerHTML = "";
  for (const r of sorted) {
    const tr = document.createElement("tr");
    tr.dataset.run = r.name;
    if (r.name === current) tr.className = "selected";
    tr.innerHTML = `<td><input type="checkbox" ${ticked.has(r.name) ? "checked" : ""}></td><td><a class="run"></a></td><td class="status-${r.status}">${r.status}</td>
      <td>${r.optimizer ?? ""}</td><td>${fmt(r.lr)}</td><td>${r.epochs}</td><td>${fmt(r.bestDevLoss)}</td><td>${fmt(r.bestDevAccuracy)}</td><td>${fmt(r.testAccuracy)}</td>
      <td>${r.report ? `<a href="/files/${encodeURI(r.name)}/report.html?token=${token}" target="_blank">report</a>` : ""}</td>`;
    tr.querySelector("a.run")!.textContent = r.name;
    tr.querySelector("a.run")!.addEventListener("click", () => void openRun(r.name));
    tr.querySelector("input")!.addEventListener("change", (e) => {
      if ((e.target as HTMLInputElement).checked) ticked.add(r.name);
      else ticked.delete(r.name);
      void drawOverlay();
    });
    body.appendChild(tr);
  }
}

async function drawOverlay(): Promise<void> {
  const metric = $<HTMLSelectElement>("overlay-metric").value as "devLoss" | "trainLoss" | "devAccuracy";
  const series: Series[] = [];
  let i = 0;
  for (const name of [...ticked].sort()) {
    if (!curves.has(name)) curves.set(name, (await api<{ records: Rec[] }>(`/api/run?run=${encodeURIComponent(name)}`)).records);
    const values = curves.get(name)!.filter((r) => r.type === "epoch").map((r) => r[metric] ?? NaN);
    series.push({ label: name, color: COLORS[i++ % COLORS.length]!, values });
  }
  const canvas = $<HTMLCanvasElement>("overlay");
  drawChart(canvas, series, { logY: metric !== "devAccuracy", xLabel: "epoch" });
  if (series.length === 0) {
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#666";
    ctx.font = "14px sans-serif";
    ctx.fillText("tick runs in the table to overlay their curves", 70, 40);
  }
  $("overlay").dataset.series = String(series.length);
}

// ---- panda ----

let current: string | null = null;
let source: EventSource | null = null;
let records: Rec[] = [];
let pending = false;

function drawRun(): void {
  const steps = records.filter((r) => r.type === "step");
  const epochs = records.filter((r) => r.type === "epoch");
  drawChart($<HTMLCanvasElement>("steps"), [{ label: "step loss", color: "#1f77b4", values: steps.map((s) => s.loss ?? NaN) }], { logY: true, xLabel: "step" });
  drawChart($<HTMLCanvasElement>("epochs"), [
    { label: "train loss", color: "#1f77b4", values: epochs.map((e) => e.trainLoss ?? NaN) },
    { label: "dev loss", color: "#ff7f0e", values: epochs.map((e) => e.devLoss ?? NaN) },
  ], { logY: true, xLabel: "epoch" });
  drawChart($<HTMLCanvasElement>("lrs"), [{ label: "lr", color: "#2ca02c", values: steps.map((s) => s.lr ?? NaN) }], { xLabel: "step", yMin: 0 });
  const list = $("events");
  list.innerHTML = "";
  for (const e of records.filter((r) => r.type === "event")) {
    const li = document.createElement("li");
    li.textContent = `step ${e.step}: ${e.message}`;
    list.appendChild(li);
  }
  const last = steps.at(-1);
  $("panda").dataset.steps = String(last?.step ?? -1);
  pending = false;
}

async function openRun(name: string): Promise<void> {
  source?.close();
  current = name;
  renderRuns();
  const data = await api<{ run: RunRow; records: Rec[]; size: number }>(`/api/run?run=${encodeURIComponent(name)}`);
  records = data.records;
  $("panda").hidden = false;
  $("run-name").textContent = name;
  $("run-status").textContent = data.run.status;
  if (data.run.lr !== null) $<HTMLInputElement>("lr").value = String(data.run.lr);
  drawRun();
  source = new EventSource(`/api/stream?run=${encodeURIComponent(name)}&from=${data.size}&token=${token}`);
  source.onmessage = (m) => {
    const rec = JSON.parse(m.data as string) as Rec;
    records.push(rec);
    // a command took effect (or the run ended an epoch): the table's status and numbers follow
    if (rec.type !== "step") void refreshRuns();
    if (!pending) {
      pending = true;
      requestAnimationFrame(drawRun);
    }
  };
  $("panda").dataset.live = "true";
}

async function control(body: Record<string, unknown>): Promise<void> {
  if (current === null) return;
  try {
    await api(`/api/control?run=${encodeURIComponent(current)}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    $("control-result").textContent = `sent ${body["action"] as string}: it takes effect at the run's next step`;
  } catch (e) {
    $("control-result").textContent = `refused: ${(e as Error).message}`;
  }
  void refreshRuns();
}

function init(): void {
  $("where").textContent = `runs folder served by descent on ${location.host}`;
  document.querySelectorAll<HTMLElement>("th[data-sort]").forEach((th) =>
    th.addEventListener("click", () => {
      const key = th.dataset.sort as keyof RunRow;
      sortUp = key === sortKey ? !sortUp : true;
      sortKey = key;
      renderRuns();
    }));
  $("overlay-metric").addEventListener("change", () => void drawOverlay());
  $("pause").addEventListener("click", () => void control({ action: "pause" }));
  $("resume").addEventListener("click", () => void control({ action: "resume" }));
  $("checkpoint").addEventListener("click", () => void control({ action: "checkpoint" }));
  $("stop").addEventListener("click", () => void control({ action: "stop" }));
  $("set-lr").addEventListener("click", () => void control({ action: "set", name: "lr", value: Number($<HTMLInputElement>("lr").value) }));
  void refreshRuns().then(() => (document.documentElement.dataset.ready = "true"));
  setInterval(() => void refreshRuns(), 3000);
}

init();
