/**
 * The space's distributions: log and 1 - beta sampling put equal numbers of draws per decade (a
 * chi-square test at the 0.1% level, on several thousand seeded draws), a grid covers every point
 * exactly once (a log grid for a log parameter), and toUnit inverts fromUnit.
 */
import { describe, expect, it } from "vitest";
import { fromUnit, gridValues, toUnit, type Distribution, type Space } from "../../src/search/space.js";
import { GridSampler, RandomSampler } from "../../src/search/samplers.js";

/** Pearson's chi-square statistic of counts against equal expected counts. */
function chiSquare(counts: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  const e = n / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

// chi-square critical values at p = 0.001 for 1 and 2 degrees of freedom
const CRIT = { 1: 10.83, 2: 13.82 } as const;

function draw(space: Space, n: number, seed: number): Record<string, number>[] {
  const s = new RandomSampler(space, seed, n);
  return Array.from({ length: n }, (_, id) => {
    const sug = s.suggest(id);
    if (sug.kind !== "trial") throw new Error("no trial");
    return sug.params as Record<string, number>;
  });
}

describe("sampling on log scales", () => {
  it("log: the learning rate in [1e-4, 1e-1] gets as many draws in each of its three decades", () => {
    const draws = draw({ lr: { type: "log", low: 1e-4, high: 1e-1 } }, 3000, 7).map((p) => p.lr!);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1e-1);
    const counts = [0, 0, 0];
    for (const v of draws) counts[Math.min(2, Math.floor(Math.log10(v) + 4))]!++;
    expect(chiSquare(counts)).toBeLessThan(CRIT[2]);
    // a uniform draw would put ~90% of them in the top decade
    expect(counts[0]! / draws.length).toBeGreaterThan(0.28);
  });

  it("oneMinusLog: beta in [0.9, 0.999] gets as many draws in [0.9, 0.99] as in [0.99, 0.999]", () => {
    const draws = draw({ beta: { type: "oneMinusLog", low: 0.9, high: 0.999 } }, 3000, 3).map((p) => p.beta!);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0.9);
    expect(Math.max(...draws)).toBeLessThanOrEqual(0.999);
    const low = draws.filter((b) => b < 0.99).length;
    expect(chiSquare([low, draws.length - low])).toBeLessThan(CRIT[1]);
  });

  it("uniform sampling of the same range would fail the decade test (the test can fail)", () => {
    const draws = draw({ lr: { type: "uniform", low: 1e-4, high: 1e-1 } }, 3000, 7).map((p) => p.lr!);
    const counts = [0, 0, 0];
    for (const v of draws) counts[Math.min(2, Math.max(0, Math.floor(Math.log10(v) + 4)))]!++;
    expect(chiSquare(counts)).toBeGreaterThan(CRIT[2]);
  });

  it("the same seed draws the same trials; another seed draws others", () => {
    const space: Space = { lr: { type: "log", low: 1e-4, high: 1 }, n: { type: "int", low: 1, high: 9 } };
    expect(draw(space, 20, 5)).toEqual(draw(space, 20, 5));
    expect(draw(space, 20, 5)).not.toEqual(draw(space, 20, 6));
  });
});

describe("unit coordinates", () => {
  const dists: Distribution[] = [
    { type: "uniform", low: -2, high: 3 },
    { type: "log", low: 1e-5, high: 1 },
    { type: "oneMinusLog", low: 0.5, high: 0.9999 },
  ];
  it("toUnit inverts fromUnit for continuous distributions", () => {
    for (const d of dists) for (const u of [0, 0.1, 0.37, 0.5, 0.99, 1]) expect(toUnit(d, fromUnit(d, u))).toBeCloseTo(u, 9);
  });
  it("int and choice give each value an equal slice of [0, 1]", () => {
    const int: Distribution = { type: "int", low: 2, high: 5 };
    expect([0, 0.24, 0.26, 0.49, 0.51, 0.74, 0.76, 1].map((u) => fromUnit(int, u))).toEqual([2, 2, 3, 3, 4, 4, 5, 5]);
    const choice: Distribution = { type: "choice", values: ["a", "b", "c"] };
    expect([0, 0.34, 0.67, 1].map((u) => fromUnit(choice, u))).toEqual(["a", "b", "c", "c"]);
    expect(toUnit(choice, "b")).toBeCloseTo(0.5);
  });
});

describe("grid", () => {
  it("a log parameter gets a log grid, with the bounds exactly", () => {
    expect(gridValues({ type: "log", low: 1e-4, high: 1e-1 }, 4).map((v) => Number((v as number).toPrecision(6)))).toEqual([1e-4, 1e-3, 1e-2, 1e-1]);
    expect(gridValues({ type: "oneMinusLog", low: 0.9, high: 0.999 }, 3).map((v) => Number((v as number).toPrecision(6)))).toEqual([0.9, 0.99, 0.999]);
    expect(gridValues({ type: "int", low: 1, high: 3 }, 5)).toEqual([1, 2, 3]);
  });

  it("covers every point of the product exactly once, then is done", () => {
    const space: Space = {
      lr: { type: "log", low: 1e-3, high: 1e-1, points: 3 },
      batch: { type: "choice", values: [16, 32] },
      units: { type: "int", low: 4, high: 8, points: 2 },
    };
    const grid = new GridSampler(space, 3);
    expect(grid.size).toBe(12);
    const seen = new Set<string>();
    for (let id = 0; id < grid.size; id++) {
      const s = grid.suggest(id);
      if (s.kind !== "trial") throw new Error("grid ended early");
      seen.add(JSON.stringify([Number((s.params.lr as number).toPrecision(6)), s.params.batch, s.params.units]));
    }
    expect(seen.size).toBe(12);
    const expected = new Set<string>();
    for (const lr of [1e-3, 1e-2, 1e-1]) for (const b of [16, 32]) for (const u of [4, 8]) expected.add(JSON.stringify([lr, b, u]));
    expect(seen).toEqual(expected);
    expect(grid.suggest(12).kind).toBe("done");
  });
});
