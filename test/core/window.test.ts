/**
 * Sliding-window geometry has one source (ops/window.ts): the conv op's windowInfo, the Conv2d and
 * pooling layers' outputShape and the summary's convOutputSize agree on every size and refuse the
 * same kernels, with one message.
 */
import { describe, expect, it } from "vitest";
import { windowInfo } from "../../src/ops/conv.js";
import { Conv2d, MaxPool2d } from "../../src/nn/layers.js";
import { convOutputSize } from "../../src/nn/summary.js";
import { Generator } from "../../src/tensor/random.js";

describe("one window geometry", () => {
  it("the op, the layers and convOutputSize agree", () => {
    let checked = 0;
    for (const n of [1, 4, 7, 9]) for (const f of [1, 2, 3, 5]) for (const s of [1, 2, 3]) for (const d of [1, 2]) for (const p of [0, 1, 2, "same"] as const) {
      if (p === "same" && s !== 1) continue;
      const opOut = (): number => windowInfo("conv2d", [1, 1, n, n], [f, f], [s, s], p, [d, d]).outH;
      const layerOut = (): number => new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: f, stride: s, padding: p, dilation: d, rng: new Generator(0) }).outputShape([1, n, n])[1]!;
      const summaryOut = (): number => convOutputSize(n, { kernelSize: f, stride: s, padding: p, dilation: d });
      const outcomes = [opOut, layerOut, summaryOut].map((fn) => {
        try {
          return fn();
        } catch (e) {
          return (e as Error).message.replace(/^[^:]+: /, "").replace(/^[^:]+: /, "");
        }
      });
      expect(new Set(outcomes).size, `n ${n} f ${f} s ${s} d ${d} p ${p}: ${outcomes.join(" | ")}`).toBe(1);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });

  it("pooling layers use the same rule and the same refusal", () => {
    expect(new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }).outputShape([2, 7, 7])).toEqual([2, 4, 4]);
    expect(() => new MaxPool2d({ kernelSize: 5 }).outputShape([2, 3, 3])).toThrow(/kernel 5 is larger than the padded input 3x3 \(input 3x3\)/);
    expect(() => new MaxPool2d({ kernelSize: 3, padding: 2 })).toThrow(/invalid padding 2 \(expected at most half the kernel 3\)/);
  });
});
