// Writes the small CSV data sets of the broken-runs gallery (deterministic: a seeded PRNG).
// Run from the repository root: node examples/broken/make-data.mjs
import { writeFileSync } from "node:fs";

let s = 12345;
const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
const dir = "examples/broken/data";
const write = (name, header, rows) => writeFileSync(`${dir}/${name}`, [header.join(","), ...rows.map((r) => r.map((v) => (Number.isInteger(v) ? v : v.toFixed(5))).join(","))].join("\n") + "\n");
const cols = (n) => [...Array.from({ length: n }, (_, i) => `x${i}`), "label"];

// blobs: 3 classes in 8 dimensions, centers ~N(0, 3²), unit noise: an MLP learns it to ~0 error
const F = 8, centers = Array.from({ length: 3 }, () => Array.from({ length: F }, () => 3 * normal()));
const blob = (n, shift = () => 0) => Array.from({ length: n }, (_, i) => {
  const c = i % 3;
  return [...centers[c].map((m, j) => m + normal() + shift(c, j)), c];
});
write("blobs.csv", cols(F), blob(900));
// the same classes seen differently: each class moved 70% of the way toward the next one
write("blobs-shifted.csv", cols(F), blob(300, (c, j) => 0.7 * (centers[(c + 1) % 3][j] - centers[c][j])));
// feature scales from 1e-2 to 1e3
const scales = [1e-2, 1e-1, 1, 10, 100, 1e3, 1e3, 1e-2];
write("scaled.csv", cols(F), blob(900).map((r) => [...r.slice(0, F).map((v, j) => v * scales[j]), r[F]]));
// circles: class 0 inside radius 1, class 1 in the ring 1.5..2.5: no line separates them
write("circles.csv", cols(2), Array.from({ length: 600 }, (_, i) => {
  const c = i % 2, r = c === 0 ? Math.sqrt(uniform()) : 1.5 + uniform(), t = 2 * Math.PI * uniform();
  return [r * Math.cos(t), r * Math.sin(t), c];
}));
// noisy: 30 features, the label is the sign of x0 flipped for a quarter of the rows (Bayes error 25%)
write("noisy.csv", cols(30), Array.from({ length: 240 }, () => {
  const x = Array.from({ length: 30 }, normal);
  return [...x, (x[0] > 0 ? 1 : 0) ^ (uniform() < 0.25 ? 1 : 0)];
}));
