/** Moving averages: of a number series (with and without bias correction) and of model weights. */
import { describe, expect, it } from "vitest";
import { ExponentialMovingAverage, Parameter, tensor, WeightEma } from "../../src/index.js";

const f64 = (v: number): Parameter => new Parameter(tensor([v], { dtype: "float64" }));

describe("ExponentialMovingAverage", () => {
  it("v_t = βv + (1 − β)x, corrected by 1 − β^t", () => {
    const corrected = new ExponentialMovingAverage({ beta: 0.9 });
    expect(corrected.update(1)).toBeCloseTo(1, 15); // 0.1 / 0.1
    expect(corrected.update(2)).toBeCloseTo(0.29 / 0.19, 15);
    const raw = new ExponentialMovingAverage({ beta: 0.9, biasCorrection: false });
    expect(raw.update(1)).toBeCloseTo(0.1, 15);
    expect(raw.update(2)).toBeCloseTo(0.29, 15);
    const copy = new ExponentialMovingAverage({ beta: 0.9 });
    copy.loadStateDict(JSON.parse(JSON.stringify(corrected.stateDict())));
    expect(copy.update(3)).toBe(corrected.update(3));
    expect(() => new ExponentialMovingAverage({ beta: 1 })).toThrow("Invalid beta: 1 (expected 0 <= beta < 1)");
  });
});

describe("WeightEma", () => {
  it("averages the weights; withAveraged evaluates with them and puts the trained ones back", () => {
    const p = f64(1);
    const ema = new WeightEma([["layer.w", p]], { beta: 0.9 });
    ema.update();
    p.assign(tensor([3], { dtype: "float64" }));
    ema.update();
    const want = (0.9 * 0.1 + 0.1 * 3) / (1 - 0.81);
    expect(ema.averaged()["layer.w"]!.item()).toBeCloseTo(want, 14);
    expect(ema.withAveraged(() => p.item())).toBeCloseTo(want, 14);
    expect(p.item()).toBe(3);
    expect(() => ema.withAveraged(() => { throw new Error("boom"); })).toThrow("boom");
    expect(p.item()).toBe(3);
    ema.swap();
    expect(ema.isSwapped).toBe(true);
    expect(() => ema.update()).toThrow("swap() back first");
    ema.swap();
    expect(p.item()).toBe(3);
  });

  it("without bias correction it starts from the weights; state round-trips", async () => {
    const p = f64(2);
    const ema = new WeightEma({ w: p }, { beta: 0.5, biasCorrection: false });
    p.assign(tensor([4], { dtype: "float64" }));
    ema.update();
    expect(ema.averaged().w!.item()).toBe(3);
    const q = f64(4);
    const other = new WeightEma({ w: q }, { beta: 0.5, biasCorrection: false });
    other.loadStateDict(ema.stateDict());
    ema.update();
    other.update();
    expect(other.averaged().w!.item()).toBe(ema.averaged().w!.item());
    expect(await ema.withAveraged(async () => p.item())).toBe(3.5);
    expect(p.item()).toBe(4);
  });
});
