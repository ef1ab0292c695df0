/** Public exports of src/init: weight initializers with their formulas. */
export {
  computeFans, calculateGain, zerosInit, constantInit, uniformInit, normalInit, xavierUniform, xavierNormal, heUniform, heNormal,
  initialize, validateInitSpec, defaultLayerInit, INIT_NAMES,
} from "./initializers.js";
export type { InitOptions, RandomInitOptions, Nonlinearity, FanMode, HeOptions, InitName, InitSpec } from "./initializers.js";
