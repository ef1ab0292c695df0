/** Public exports of src/nn: Module, layers, Sequential and its specs, summary, regularization. */
export { Parameter } from "./parameter.js";
export { Module, functionalCall } from "./module.js";
export type { WindowGeometry, LoadReport } from "./module.js";
export { Linear, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, Dropout } from "./layers.js";
export type { LinearOptions, Conv2dOptions as Conv2dLayerOptions, Pool2dLayerOptions, FlattenOptions, DropoutLayerOptions } from "./layers.js";
export { ReLU, LeakyReLU, PReLU, ELU, Sigmoid, Tanh, Softmax } from "./activations.js";
export type { PReLUOptions } from "./activations.js";
export { BatchNorm1d, BatchNorm2d, LayerNorm, InstanceNorm2d, GroupNorm } from "./normalization.js";
export type { BatchNormLayerOptions, LayerNormOptions, InstanceNormOptions, GroupNormOptions } from "./normalization.js";
export { Sequential, buildSequential } from "./sequential.js";
export type { BuildOptions, SpecLayer } from "./sequential.js";
export { LAYER_TYPES, validateLayerSpecs, presetSpecs, MAX_LAYER_SIZE } from "./specs.js";
export { MAX_MODEL_ELEMENTS, MAX_SAMPLE_ELEMENTS, specElements } from "./budget.js";
export type { LayerSpec, LayerType } from "./specs.js";
export { summary, summarize, receptiveFields, receptiveFieldStep, convOutputSize } from "./summary.js";
export type { SummaryRow, ModelSummary } from "./summary.js";
export { l1Penalty, l2Penalty, selectParameters } from "./regularization.js";
export type { PenaltyOptions, ParameterSelection, ParameterSelector, ParameterPredicate, ParameterPattern } from "./regularization.js";
