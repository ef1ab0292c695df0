/**
 * Canvas drawing for the playground: a filled contour map of a function on a rectangle (banded
 * log-levels with their iso-lines), polylines and arrows in that rectangle's coordinates, and a
 * small line chart with axes and a legend. Plain 2-D canvas, no library: the pages stay one bundle.
 */

export interface View {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Pixel <-> world coordinates of a canvas showing `view`. */
export function toPixel(c: HTMLCanvasElement, v: View, x: number, y: number): [number, number] {
  return [((x - v.x0) / (v.x1 - v.x0)) * c.width, ((v.y1 - y) / (v.y1 - v.y0)) * c.height];
}

export function toWorld(c: HTMLCanvasElement, v: View, px: number, py: number): [number, number] {
  return [v.x0 + (px / c.width) * (v.x1 - v.x0), v.y1 - (py / c.height) * (v.y1 - v.y0)];
}

const LEVELS = 18;

function bandColor(t: number): [number, number, number] {
  // dark blue (low) through teal and yellow to light (high)
  const stops: [number, number, number][] = [[23, 37, 84], [30, 110, 150], [70, 170, 140], [200, 210, 100], [250, 240, 210]];
  const s = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(s), stops.length - 2);
  const f = s - i;
  const a = stops[i]!, b = stops[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Paints values[gy * gw + gx] (a gw x gh grid over the view, top row first) as banded contours. */
export function drawContours(c: HTMLCanvasElement, values: ArrayLike<number>, gw: number, gh: number): void {
  const ctx = c.getContext("2d")!;
  let lo = Infinity, hi = -Infinity;
  const logv = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    logv[i] = Math.log1p(Math.max(values[i]!, 0));
    if (Number.isFinite(logv[i]!)) {
      lo = Math.min(lo, logv[i]!);
      hi = Math.max(hi, logv[i]!);
    }
  }
  const band = (i: number) => Math.floor(((logv[i]! - lo) / Math.max(hi - lo, 1e-12)) * (LEVELS - 1e-9));
  const img = ctx.createImageData(c.width, c.height);
  for (let py = 0; py < c.height; py++) {
    const gy = Math.min(gh - 1, Math.floor((py / c.height) * gh));
    for (let px = 0; px < c.width; px++) {
      const gx = Math.min(gw - 1, Math.floor((px / c.width) * gw));
      const i = gy * gw + gx;
      const b = band(i);
      const edge = (gx + 1 < gw && band(i + 1) !== b) || (gy + 1 < gh && band(i + gw) !== b);
      const [r, g, bl] = bandColor(b / (LEVELS - 1));
      const k = (py * c.width + px) * 4;
      const dim = edge ? 0.55 : 1;
      img.data[k] = r * dim;
      img.data[k + 1] = g * dim;
      img.data[k + 2] = bl * dim;
      img.data[k + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

export function drawPath(c: HTMLCanvasElement, v: View, pts: readonly [number, number][], color: string): void {
  const ctx = c.getContext("2d")!;
  if (pts.length === 0) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  pts.forEach(([x, y], i) => {
    const [px, py] = toPixel(c, v, x, y);
    if (i === 0) ctx.moveTo(px, py);
    else ctx.lineTo(px, py);
  });
  ctx.stroke();
  const [ex, ey] = toPixel(c, v, ...pts[pts.length - 1]!);
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(ex, ey, 4, 0, 2 * Math.PI);
  ctx.fill();
}

/** An arrow from (x, y) along (dx, dy), in world units. */
export function drawArrow(c: HTMLCanvasElement, v: View, x: number, y: number, dx: number, dy: number, color: string): void {
  const ctx = c.getContext("2d")!;
  const [ax, ay] = toPixel(c, v, x, y);
  const [bx, by] = toPixel(c, v, x + dx, y + dy);
  const ang = Math.atan2(by - ay, bx - ax);
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.moveTo(ax, ay);
  ctx.lineTo(bx, by);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(bx, by);
  ctx.lineTo(bx - 12 * Math.cos(ang - 0.4), by - 12 * Math.sin(ang - 0.4));
  ctx.lineTo(bx - 12 * Math.cos(ang + 0.4), by - 12 * Math.sin(ang + 0.4));
  ctx.closePath();
  ctx.fill();
}

export function drawMarker(c: HTMLCanvasElement, v: View, x: number, y: number): void {
  const ctx = c.getContext("2d")!;
  const [px, py] = toPixel(c, v, x, y);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(px, py, 6, 0, 2 * Math.PI);
  ctx.stroke();
}

export interface Series {
  label: string;
  color: string;
  values: readonly number[];
  /** dots instead of a line */
  points?: boolean;
}

/** A line chart of series over x = 0..n-1 (or `xs`), with a log y axis when asked. */
export function drawChart(c: HTMLCanvasElement, series: readonly Series[], options: { logY?: boolean; xLabel?: string; yMin?: number } = {}): void {
  const ctx = c.getContext("2d")!;
  const W = c.width, H = c.height, L = 52, R = 10, T = 26, B = 36;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  const tf = (y: number) => (options.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const s of series) {
    n = Math.max(n, s.values.length);
    for (const y of s.values) if (Number.isFinite(y)) {
      lo = Math.min(lo, tf(y));
      hi = Math.max(hi, tf(y));
    }
  }
  if (options.yMin !== undefined) lo = Math.min(lo, tf(options.yMin));
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const px = (i: number) => L + (i / Math.max(n - 1, 1)) * (W - L - R);
  const py = (y: number) => T + ((hi - tf(y)) / (hi - lo)) * (H - T - B);
  ctx.strokeStyle = "#999";
  ctx.lineWidth = 1;
  ctx.strokeRect(L, T, W - L - R, H - T - B);
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    const label = options.logY ? (10 ** v).toPrecision(3) : Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2);
    const y = T + ((hi - v) / (hi - lo)) * (H - T - B);
    ctx.fillText(label, 4, y + 4);
  }
  ctx.fillText("0", L - 3, H - B + 14);
  ctx.fillText(String(Math.max(n - 1, 0)), W - R - 18, H - B + 14);
  if (options.xLabel) ctx.fillText(options.xLabel, (W - L) / 2, H - 6);
  let lx = L + 8;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    if (s.points) {
      s.values.forEach((y, i) => Number.isFinite(y) && ctx.fillRect(px(i) - 1.5, py(y) - 1.5, 3, 3));
    } else {
      ctx.beginPath();
      let started = false;
      s.values.forEach((y, i) => {
        if (!Number.isFinite(y)) return;
        if (started) ctx.lineTo(px(i), py(y));
        else ctx.moveTo(px(i), py(y));
        started = true;
      });
      ctx.stroke();
    }
    // the legend sits above the plot, clear of the curves
    ctx.fillRect(lx, 6, 10, 10);
    ctx.fillStyle = "#222";
    ctx.fillText(s.label, lx + 14, 15);
    lx += 20 + ctx.measureText(s.label).width + 10;
  }
}
