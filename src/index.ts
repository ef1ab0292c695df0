/**
 * The public API of descent: everything a user imports comes from this list. It is browser-safe
 * (test/browser/entry.test.ts fails if anything it reaches imports a Node built-in); what needs
 * Node (files, run folders, experiments) is added by src/node.ts, the "descent/node" entry.
 */
export { Tensor } from "./tensor/tensor.js";
export type { TensorOrScalar, NestedArray } from "./tensor/tensor.js";
export type { DType, FloatDType, TypedArray } from "./tensor/dtype.js";
export { Generator } from "./tensor/random.js";
export type { GeneratorState } from "./tensor/random.js";
export {
  tensor, scalar, full, zeros, ones, zerosLike, onesLike, fullLike, arange, linspace, eye, rand, randn, randint, fromValues,
} from "./tensor/creation.js";
export type { CreateOptions, RandomOptions } from "./tensor/creation.js";
export { broadcastShapes, sizeOf } from "./tensor/shape.js";

export type { Backend } from "./backend/backend.js";
export { cpu, CpuBackend, type CpuBackendOptions } from "./backend/cpu/cpu.js";
export { currentBackend, withBackend } from "./backend/registry.js";

export { noGrad, enableGrad, isGradEnabled } from "./autograd/mode.js";
export { gradients, backward, grad, valueAndGrad, hvp } from "./autograd/backward.js";
export type { BackwardOptions, GradientsOptions, GradOptions } from "./autograd/backward.js";
export { gradcheck, gradgradcheck } from "./autograd/gradcheck.js";
export type { GradcheckOptions, GradcheckReport, GradcheckMismatch } from "./autograd/gradcheck.js";

export {
  add, sub, mul, div, pow, neg, exp, log, log1p, expm1, sqrt, square, reciprocal, abs, sign, floor, ceil, round, sin, cos,
  isNonFinite, clamp, maximum, minimum, eq, ne, lt, le, gt, ge, where,
  sigmoid, tanh, relu, leakyRelu, elu, softplus, prelu, softmax, logSoftmax, logSumExp,
  sum, mean, variance, std, max, min, argmax, argmin, sumToShape,
  reshape, flatten, squeeze, unsqueeze, permute, transpose, expand, slice, narrow, concat, stack, pad, take, scatterAdd,
  gather, indexSelect, oneHot, detach, cast,
  matmul, mm, linear,
  conv2d, im2col, col2im, windowOutputSize,
  maxPool2d, avgPool2d, globalAvgPool2d,
  batchNorm, layerNorm, instanceNorm, groupNorm,
  dropout,
} from "./ops/index.js";
export type { SliceRange, Conv2dOptions, Padding, Pair, Pool2dOptions, BatchNormOptions, BatchNormResult, DropoutOptions } from "./ops/index.js";

export {
  DescentError, ShapeError, DTypeError, ConfigError, GradError, FileFormatError, NonFiniteError,
} from "./errors/errors.js";

export * from "./nn/index.js";
export * from "./init/index.js";
export * from "./losses/index.js";
export * from "./optim/index.js";
export * from "./schedules/index.js";
export * from "./data/index.js";
export * from "./io/index.js";
export * from "./diagnose/index.js";
export * from "./train/index.js";

// choosing the backend, and what the runtime offers its kernels
export { setBackend, createBackend, BACKENDS, DEFAULT_BACKEND, type BackendChoice } from "./backend/registry.js";
export { WasmBackend } from "./backend/wasm/wasm.js";
export { NativeBackend } from "./backend/native/native.js";
export { wasmFeatures, type WasmFeatures } from "./backend/features.js";
export type { UpdateStage } from "./backend/update.js";
