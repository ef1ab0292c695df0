/**
 * The SIMD stages of the fused optimizer update give the TypeScript kernel's bits (both round
 * every op to float32), on sizes with and without a scalar tail, with values spread over many
 * magnitudes; programs with a stage the module lacks are declined and left untouched.
 */
import { describe, expect, it } from "vitest";
import { applyUpdateInto } from "../../src/backend/cpu/update.js";
import { applyUpdateSimd, isResident, residentCopy } from "../../src/backend/cpu/simd/update-simd.js";
import { stageSlots, type UpdateStage } from "../../src/backend/update.js";

const wave = (n: number, k: number, scale: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * scale * 10 ** ((i % 9) - 4));

const PROGRAMS: Record<string, UpdateStage[]> = {
  adamw: [
    { op: "adam", b1: 0.9, b2: 0.999, eps: 1e-8, amsgrad: false, bc1: 1 - 0.9 ** 3, bc2Sqrt: Math.sqrt(1 - 0.999 ** 3) },
    { op: "weightDecay", wd: 0.01 },
    { op: "scale", factor: -1e-3 },
  ],
  "adam + coupled decay": [
    { op: "weightDecay", wd: 0.1 },
    { op: "adam", b1: 0.8, b2: 0.99, eps: 1e-6, amsgrad: false, bc1: 0.2, bc2Sqrt: 0.1 },
    { op: "scale", factor: -0.05 },
  ],
  sgd: [{ op: "scale", factor: -0.1 }],
  "momentum, first step": [{ op: "momentum", mu: 0.9, dampening: 0, nesterov: false, first: true }, { op: "scale", factor: -0.1 }],
  "momentum, dampened": [{ op: "momentum", mu: 0.8, dampening: 0.3, nesterov: false, first: false }, { op: "scale", factor: -0.1 }],
  nesterov: [{ op: "weightDecay", wd: 0.01 }, { op: "momentum", mu: 0.9, dampening: 0, nesterov: true, first: false }, { op: "scale", factor: -0.1 }],
  adagrad: [{ op: "adagrad", eps: 1e-10, decay: null }, { op: "scale", factor: -0.01 }],
  "adagrad, lr decay": [{ op: "adagrad", eps: 1e-6, decay: 1.3 }, { op: "scale", factor: -0.01 }],
  rmsprop: [{ op: "rms", alpha: 0.99, eps: 1e-8, centered: false, momentum: 0 }, { op: "scale", factor: -0.01 }],
  "rmsprop, centered": [{ op: "rms", alpha: 0.9, eps: 1e-8, centered: true, momentum: 0 }, { op: "scale", factor: -0.01 }],
  "rmsprop, momentum": [{ op: "rms", alpha: 0.9, eps: 1e-8, centered: false, momentum: 0.5 }, { op: "scale", factor: -0.01 }],
  "rmsprop, centered with momentum": [{ op: "rms", alpha: 0.95, eps: 1e-7, centered: true, momentum: 0.9 }, { op: "scale", factor: -0.01 }],
  "scale not last": [{ op: "scale", factor: 3 }, { op: "weightDecay", wd: 0.5 }],
};

describe("SIMD fused update", () => {
  for (const [name, stages] of Object.entries(PROGRAMS)) {
    for (const n of [1, 3, 4, 7, 1001]) {
      it(`${name}, n = ${n}: the same bits as the TypeScript kernel`, () => {
        const slotCount = stages.reduce((k, s) => k + stageSlots(s), 0);
        const theta = wave(n, 1, 1), grad = wave(n, 2, 3);
        const slotsA = Array.from({ length: slotCount }, (_, j) => wave(n, 3 + j, j === 1 ? 1e-2 : 1).map(Math.abs));
        const slotsB = slotsA.map((s) => s.slice());
        const outA = new Float32Array(n), outB = new Float32Array(n);
        expect(applyUpdateSimd(stages, theta, grad, slotsA, outA)).toBe(true);
        applyUpdateInto(stages, theta, grad, slotsB, outB);
        expect(Array.from(outA)).toEqual(Array.from(outB));
        slotsA.forEach((s, j) => expect(Array.from(s)).toEqual(Array.from(slotsB[j]!)));
      });
    }
  }

  it("rewrites resident slots where they live, with the same bits as copied ones, over several steps", () => {
    const stages = PROGRAMS["rmsprop, centered with momentum"]!;
    const n = 1001;
    const theta = wave(n, 1, 1);
    const plain = [1, 2, 3].map((j) => wave(n, 3 + j, 1).map(Math.abs));
    const resident = plain.map((s) => residentCopy(s)!);
    resident.forEach((s, j) => {
      expect(isResident(s)).toBe(true);
      expect(s).not.toBe(plain[j]);
      expect(Array.from(s)).toEqual(Array.from(plain[j]!));
    });
    // one resident slot beside copied ones, too
    const mixed = [resident[0]!.slice(), residentCopy(plain[1]!)!, plain[2]!.slice()];
    let a = theta, b = theta, c = theta;
    for (let step = 0; step < 3; step++) {
      const grad = wave(n, 10 + step, 3);
      const outA = new Float32Array(n), outB = new Float32Array(n), outC = new Float32Array(n);
      expect(applyUpdateSimd(stages, a, grad, resident, outA)).toBe(true);
      applyUpdateInto(stages, b, grad, plain, outB);
      expect(applyUpdateSimd(stages, c, grad, mixed, outC)).toBe(true);
      expect(Array.from(outA)).toEqual(Array.from(outB));
      expect(Array.from(outC)).toEqual(Array.from(outB));
      [a, b, c] = [outA, outB, outC];
    }
    resident.forEach((s, j) => expect(Array.from(s), `slot ${j}`).toEqual(Array.from(plain[j]!)));
    mixed.forEach((s, j) => expect(Array.from(s), `mixed slot ${j}`).toEqual(Array.from(plain[j]!)));
  });

  it("declines a program with a stage it has no SIMD form of, writing nothing", () => {
    const out = new Float32Array(4).fill(7);
    const stages: UpdateStage[] = [{ op: "adam", b1: 0.9, b2: 0.999, eps: 1e-8, amsgrad: true, bc1: 0.1, bc2Sqrt: 0.03 }];
    expect(applyUpdateSimd(stages, wave(4, 1, 1), wave(4, 2, 1), [wave(4, 3, 1), wave(4, 4, 1), wave(4, 5, 1)], out)).toBe(false);
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
  });
});
