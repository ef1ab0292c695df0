/**
 * Behaviour: every optimizer configuration on four 2-D problems (after Optax's table-driven test).
 *
 * - bowl        f = ½(x² + y²): everything converges.
 * - elongated   f = ½(x² + 100y²): condition number 100, the oscillation case. Plain SGD must keep
 *               lr < 2/100 and then crawls along x; momentum and RMSProp must get there first.
 * - rosenbrock  f = (1 − x)² + 100(y − x²)²: a curved valley; everything must make progress.
 * - saddle      f = x² − y², started next to the saddle at (1, 1e-4): the gradient along y is
 *               tiny, so escaping (|y| > 1) measures how an optimizer handles flat directions.
 *               The steps-to-escape table is printed.
 *
 * Learning rates are tuned per problem, as a person would; the assertions are about the
 * comparisons the course makes, not about exact numbers.
 */
import { describe, expect, it } from "vitest";
import { add, createOptimizer, mul, Parameter, square, sub, tensor, type OptimizerName, type Tensor } from "../../src/index.js";

type Problem = "bowl" | "elongated" | "rosenbrock" | "saddle";

interface Config {
  label: string;
  name: OptimizerName;
  options: Record<string, unknown>;
  lr: Record<Problem, number>;
}

const CONFIGS: Config[] = [
  { label: "sgd", name: "sgd", options: {}, lr: { bowl: 0.1, elongated: 0.019, rosenbrock: 1e-3, saddle: 0.01 } },
  { label: "momentum", name: "momentum", options: {}, lr: { bowl: 0.05, elongated: 0.01, rosenbrock: 5e-4, saddle: 0.01 } },
  { label: "nesterov", name: "nesterov", options: {}, lr: { bowl: 0.05, elongated: 0.01, rosenbrock: 5e-4, saddle: 0.01 } },
  { label: "momentumEma", name: "momentumEma", options: { beta: 0.9 }, lr: { bowl: 0.3, elongated: 0.015, rosenbrock: 1e-3, saddle: 0.01 } },
  { label: "adagrad", name: "adagrad", options: {}, lr: { bowl: 0.5, elongated: 0.5, rosenbrock: 0.1, saddle: 0.01 } },
  { label: "rmsprop", name: "rmsprop", options: {}, lr: { bowl: 0.05, elongated: 0.03, rosenbrock: 1e-3, saddle: 0.01 } },
  { label: "rmsprop centered+momentum", name: "rmsprop", options: { centered: true, momentum: 0.5 }, lr: { bowl: 0.02, elongated: 0.02, rosenbrock: 1e-3, saddle: 0.01 } },
  { label: "adam", name: "adam", options: {}, lr: { bowl: 0.1, elongated: 0.1, rosenbrock: 0.02, saddle: 0.01 } },
  { label: "adam amsgrad", name: "adam", options: { amsgrad: true }, lr: { bowl: 0.1, elongated: 0.1, rosenbrock: 0.02, saddle: 0.01 } },
  { label: "adam no bias correction", name: "adam", options: { biasCorrection: false }, lr: { bowl: 0.1, elongated: 0.1, rosenbrock: 0.02, saddle: 0.01 } },
  { label: "adamw", name: "adamw", options: { weightDecay: 1e-4 }, lr: { bowl: 0.1, elongated: 0.1, rosenbrock: 0.02, saddle: 0.01 } },
];

const f64 = (v: number): Tensor => tensor([v], { dtype: "float64" });

const PROBLEMS: Record<Problem, { start: [number, number]; f: (x: Tensor, y: Tensor) => Tensor; steps: number }> = {
  bowl: { start: [3, -2], f: (x, y) => mul(add(square(x), square(y)), 0.5), steps: 300 },
  elongated: { start: [-4, 1], f: (x, y) => mul(add(square(x), mul(square(y), 100)), 0.5), steps: 400 },
  rosenbrock: { start: [-1.2, 1], f: (x, y) => add(square(sub(1, x)), mul(square(sub(y, square(x))), 100)), steps: 1500 },
  saddle: { start: [1, 1e-4], f: (x, y) => sub(square(x), square(y)), steps: 1500 },
};

interface Run {
  losses: number[];
  x: number;
  y: number;
  escapeStep: number | null;
}

function run(config: Config, problem: Problem): Run {
  const p = PROBLEMS[problem];
  const x = new Parameter(f64(p.start[0]));
  const y = new Parameter(f64(p.start[1]));
  const opt = createOptimizer(config.name, [["x", x], ["y", y]], { ...config.options, lr: config.lr[problem] } as never);
  const losses: number[] = [];
  let escapeStep: number | null = null;
  for (let t = 0; t < p.steps; t++) {
    opt.zeroGrad();
    const loss = p.f(x, y);
    losses.push(loss.item());
    loss.backward();
    opt.step();
    if (problem === "saddle" && Math.abs(y.item()) > 1) {
      escapeStep = t + 1;
      break;
    }
  }
  losses.push(p.f(x, y).item());
  return { losses, x: x.item(), y: y.item(), escapeStep };
}

/** The first step at which the loss is below tol (Infinity if never). */
const stepsTo = (r: Run, tol: number): number => {
  const i = r.losses.findIndex((l) => l < tol);
  return i < 0 ? Infinity : i;
};

describe("every optimizer on four problems", () => {
  const results = new Map<string, Record<Problem, Run>>();
  for (const c of CONFIGS) {
    results.set(c.label, { bowl: run(c, "bowl"), elongated: run(c, "elongated"), rosenbrock: run(c, "rosenbrock"), saddle: run(c, "saddle") });
  }
  const get = (label: string, p: Problem): Run => results.get(label)![p];

  it.each(CONFIGS.map((c) => c.label))("%s converges on the round bowl", (label) => {
    const r = get(label, "bowl");
    expect(r.losses.at(-1)!).toBeLessThan(1e-4);
  });

  it.each(CONFIGS.map((c) => c.label))("%s converges on the elongated bowl", (label) => {
    expect(get(label, "elongated").losses.at(-1)!).toBeLessThan(1e-2);
  });

  it("momentum and RMSProp beat plain SGD on the elongated bowl (the oscillation case)", () => {
    const tol = 1e-3;
    const sgdSteps = stepsTo(get("sgd", "elongated"), tol);
    const table = ["sgd", "momentum", "nesterov", "rmsprop", "adam"].map((l) => `${l.padEnd(10)} ${stepsTo(get(l, "elongated"), tol)}`);
    console.log(`elongated bowl, steps to loss < ${tol}:\n${table.join("\n")}`);
    expect(stepsTo(get("momentum", "elongated"), tol)).toBeLessThan(sgdSteps);
    expect(stepsTo(get("nesterov", "elongated"), tol)).toBeLessThan(sgdSteps);
    expect(stepsTo(get("rmsprop", "elongated"), tol)).toBeLessThan(sgdSteps);
  });

  it.each(CONFIGS.map((c) => c.label))("%s makes progress on Rosenbrock", (label) => {
    const r = get(label, "rosenbrock");
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]! / 10);
  });

  it("momentum, Nesterov and Adam follow Rosenbrock's valley close to the minimum at (1, 1)", () => {
    for (const l of ["momentum", "nesterov", "adam"]) expect(get(l, "rosenbrock").losses.at(-1)!, l).toBeLessThan(0.05);
  });

  it("the sensible optimizers escape the saddle; steps-to-escape recorded", () => {
    const rows = CONFIGS.map((c) => `| ${c.label.padEnd(26)} | ${String(get(c.label, "saddle").escapeStep ?? "stuck").padStart(6)} |`);
    console.log(`saddle f = x² − y² from (1, 1e-4), lr 0.01, steps until |y| > 1:\n| optimizer                  | steps  |\n${rows.join("\n")}`);
    for (const c of CONFIGS) expect(get(c.label, "saddle").escapeStep, c.label).not.toBeNull();
    // Adaptive methods rescale the tiny gradient along y; plain SGD grows y only by (1 + 2·lr) per step.
    expect(get("adam", "saddle").escapeStep!).toBeLessThan(get("sgd", "saddle").escapeStep!);
    expect(get("rmsprop", "saddle").escapeStep!).toBeLessThan(get("sgd", "saddle").escapeStep!);
    expect(get("momentum", "saddle").escapeStep!).toBeLessThan(get("sgd", "saddle").escapeStep!);
  });
});
