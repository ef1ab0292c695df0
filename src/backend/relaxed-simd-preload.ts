/**
 * Switches relaxed SIMD on in Node 20 (./node-flags.ts) when loaded before the library:
 * `node --import descent-dl/relaxed-simd app.js`, or the benchmarks' `--import` of this file. Its
 * only effect is that flag; on Node 22+ it does nothing.
 */
import { enableRelaxedSimd } from "./node-flags.js";

enableRelaxedSimd();
