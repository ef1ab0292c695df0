/**
 * Every op exported from src/ops, one row each in one table (STYLE habit 1):
 *  - gradcheck in float64: backprop against two-sided differences of the forward;
 *  - gradgradcheck for the ops that Hessian-vector products go through;
 *  - a reference: the forward on a small input worked out by hand (in the row's comment),
 *    because a gradcheck alone passes for a wrong forward with a consistent gradient.
 * Inputs come from a Generator seeded per row and are kept away from kinks and ties
 * (relu at 0, equal maxima, clamp bounds, integers for floor).
 */
import { describe, expect, it } from "vitest";
import {
  Generator, Tensor, fromValues, gradcheck, gradgradcheck, gradients, ones,
  add, sub, mul, div, pow, neg, exp, log, log1p, expm1, sqrt, square, reciprocal, abs, sign, floor, ceil, round, sin, cos,
  isNonFinite, clamp, maximum, minimum, eq, ne, lt, le, gt, ge, where,
  sigmoid, tanh, relu, leakyRelu, elu, softplus, prelu, softmax, logSoftmax, logSumExp,
  sum, mean, variance, std, max, min, argmax, argmin, sumToShape,
  reshape, flatten, squeeze, unsqueeze, permute, transpose, expand, slice, narrow, concat, stack, pad, take, scatterAdd,
  gather, indexSelect, oneHot, detach, cast, cpu, createBackend,
  matmul, mm, linear,
  conv2d, im2col, col2im, windowOutputSize,
  maxPool2d, avgPool2d, globalAvgPool2d,
  batchNorm, layerNorm, instanceNorm, groupNorm,
  dropout,
  type GradcheckOptions, type NestedArray,
} from "../../src/index.js";
import type { Backend, WindowInfo } from "../../src/backend/backend.js";
import { currentBackend, withBackend } from "../../src/backend/registry.js";
import { record } from "../../src/autograd/graph.js";
import { asyncCpu, awayFromZero, distinct, expectClose, f64, i32, normal, uniform } from "./helpers.js";

type Fn = (...xs: Tensor[]) => Tensor;

interface Row {
  name: string;
  /** float64 inputs (int32 ones are indices, left out of the check) */
  inputs: (rng: Generator) => Tensor[];
  f: Fn;
  /** also check second derivatives */
  gg?: boolean;
  /** f on small inputs, with the value worked out by hand */
  ref?: { inputs: Tensor[]; want: NestedArray; atol?: number };
  /** int outputs or no gradient defined: the reference only */
  refOnly?: boolean;
  options?: GradcheckOptions;
}

/** Two tensors whose values are all distinct from each other (no ties between a and b). */
function distinctPair(rng: Generator, a: number[], b: number[]): Tensor[] {
  const na = a.reduce((p, q) => p * q, 1);
  const nb = b.reduce((p, q) => p * q, 1);
  const d = distinct(rng, [na + nb], 0.15);
  return [reshape(narrow(d, 0, 0, na), a), reshape(narrow(d, 0, na, nb), b)];
}

/** Values whose fractional parts lie in [0.1, 0.4): away from the jumps of floor/ceil/round/sign. */
function offInteger(rng: Generator, shape: number[]): Tensor {
  return add(distinct(rng, shape, 1), 0.1);
}

/** The geometry im2col/col2im take, for an [n, c, h, w] input, stride 1 and no padding. */
function window(n: number, c: number, h: number, w: number, kh: number, kw: number): WindowInfo {
  return {
    n, c, h, w, kh, kw, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, dilationH: 1, dilationW: 1,
    outH: h - kh + 1, outW: w - kw + 1,
  };
}

/** The mask dropout must draw: the i-th uniform of Generator(seed) keeps the element when >= p. */
function dropoutMask(seed: number, n: number, p: number): number[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => (g.uniform() >= p ? 1 / (1 - p) : 0));
}

const E5 = 1 / Math.sqrt(1 + 1e-5); // 1/sqrt(var + eps) for a unit variance and the default eps
const x3x3 = () => f64([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);

const rows: Row[] = [
  // ---- elementwise (binary ops broadcast) ----
  // [[1,2,3],[4,5,6]] + [10,20,30] = [[11,22,33],[14,25,36]]
  { name: "add (broadcast [2,3]+[3])", inputs: (r) => [normal(r, [2, 3]), normal(r, [3])], f: (a, b) => add(a, b), gg: true,
    ref: { inputs: [f64([[1, 2, 3], [4, 5, 6]]), f64([10, 20, 30])], want: [[11, 22, 33], [14, 25, 36]] } },
  // [1,2] + 0.5 = [1.5, 2.5]
  { name: "add (scalar)", inputs: (r) => [normal(r, [2, 3])], f: (a) => add(a, 0.5), gg: true,
    ref: { inputs: [f64([1, 2])], want: [1.5, 2.5] } },
  // [[1],[2]] - [[1,2,3]] = [[0,-1,-2],[1,0,-1]]
  { name: "sub (broadcast [2,1]-[1,3])", inputs: (r) => [normal(r, [2, 1]), normal(r, [1, 3])], f: (a, b) => sub(a, b), gg: true,
    ref: { inputs: [f64([[1], [2]]), f64([[1, 2, 3]])], want: [[0, -1, -2], [1, 0, -1]] } },
  // [[1,2,3],[4,5,6]] * [[2],[-1]] = [[2,4,6],[-4,-5,-6]]
  { name: "mul (broadcast [2,3]*[2,1])", inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 1])], f: (a, b) => mul(a, b), gg: true,
    ref: { inputs: [f64([[1, 2, 3], [4, 5, 6]]), f64([[2], [-1]])], want: [[2, 4, 6], [-4, -5, -6]] } },
  // [1,2,3] / [2,4,8] = [0.5,0.5,0.375]
  { name: "div (broadcast [2,3]/[3])", inputs: (r) => [normal(r, [2, 3]), uniform(r, [3], 0.5, 2)], f: (a, b) => div(a, b), gg: true,
    ref: { inputs: [f64([1, 2, 3]), f64([2, 4, 8])], want: [0.5, 0.5, 0.375] } },
  // [1,2,3]^3 = [1,8,27]; negative bases are fine for an integer exponent
  { name: "pow (scalar exponent 3)", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => pow(a, 3), gg: true,
    ref: { inputs: [f64([1, 2, -3])], want: [1, 8, -27] } },
  // [4, 0.25]^-1.5 = [1/8, 8]
  { name: "pow (scalar exponent -1.5)", inputs: (r) => [uniform(r, [2, 3], 0.5, 2)], f: (a) => pow(a, -1.5), gg: true,
    ref: { inputs: [f64([4, 0.25])], want: [0.125, 8] } },
  // [4, 9, 2]^[0.5, 2, -1] = [2, 81, 0.5]
  { name: "pow (tensor exponent)", inputs: (r) => [uniform(r, [2, 3], 0.5, 2), normal(r, [3])], f: (a, p) => pow(a, p), gg: true,
    ref: { inputs: [f64([4, 9, 2]), f64([0.5, 2, -1])], want: [2, 81, 0.5] } },
  { name: "neg", inputs: (r) => [normal(r, [2, 3])], f: (a) => neg(a), gg: true,
    ref: { inputs: [f64([1, -2])], want: [-1, 2] } },
  // e^0 = 1, e^1 = 2.718281828459045, e^-1 = 0.36787944117144233
  { name: "exp", inputs: (r) => [normal(r, [2, 3])], f: (a) => exp(a), gg: true,
    ref: { inputs: [f64([0, 1, -1])], want: [1, 2.718281828459045, 0.36787944117144233] } },
  // log 1 = 0, log e = 1, log 0.5 = -0.6931471805599453
  { name: "log", inputs: (r) => [uniform(r, [2, 3], 0.5, 3)], f: (a) => log(a), gg: true,
    ref: { inputs: [f64([1, Math.E, 0.5])], want: [0, 1, -0.6931471805599453] } },
  // log1p(0) = 0, log1p(1) = ln 2, log1p(e - 1) = 1
  { name: "log1p", inputs: (r) => [uniform(r, [2, 3], -0.5, 2)], f: (a) => log1p(a), gg: true,
    ref: { inputs: [f64([0, 1, Math.E - 1])], want: [0, 0.6931471805599453, 1] } },
  // expm1(0) = 0, expm1(ln 2) = 1, expm1(1e-10) = 1e-10 (no cancellation)
  { name: "expm1", inputs: (r) => [normal(r, [2, 3])], f: (a) => expm1(a), gg: true,
    ref: { inputs: [f64([0, Math.LN2, 1e-10])], want: [0, 1, 1e-10], atol: 1e-20 } },
  // sqrt([4, 0.25, 2]) = [2, 0.5, 1.4142135623730951]
  { name: "sqrt", inputs: (r) => [uniform(r, [2, 3], 0.5, 3)], f: (a) => sqrt(a), gg: true,
    ref: { inputs: [f64([4, 0.25, 2])], want: [2, 0.5, 1.4142135623730951] } },
  { name: "square", inputs: (r) => [normal(r, [2, 3])], f: (a) => square(a), gg: true,
    ref: { inputs: [f64([-3, 0.5])], want: [9, 0.25] } },
  { name: "reciprocal", inputs: (r) => [awayFromZero(r, [2, 3], 0.5)], f: (a) => reciprocal(a), gg: true,
    ref: { inputs: [f64([2, -4, 0.5])], want: [0.5, -0.25, 2] } },
  { name: "abs", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => abs(a), gg: true,
    ref: { inputs: [f64([-2, 3, -0.5])], want: [2, 3, 0.5] } },
  // sign has derivative 0 wherever it exists
  { name: "sign", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => sign(a), gg: true,
    ref: { inputs: [f64([-2, 0, 3])], want: [-1, 0, 1] } },
  { name: "floor", inputs: (r) => [offInteger(r, [2, 3])], f: (a) => floor(a),
    ref: { inputs: [f64([-1.5, 0.5, 2.7])], want: [-2, 0, 2] } },
  { name: "ceil", inputs: (r) => [offInteger(r, [2, 3])], f: (a) => ceil(a),
    ref: { inputs: [f64([-1.5, 0.5, 2.7])], want: [-1, 1, 3] } },
  // half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, 2.6 -> 3
  { name: "round", inputs: (r) => [offInteger(r, [2, 3])], f: (a) => round(a),
    ref: { inputs: [f64([0.5, 1.5, 2.5, -0.5, 2.6])], want: [0, 2, 2, -0, 3] } },
  // sin 0 = 0, sin(pi/2) = 1, sin(pi/6) = 1/2
  { name: "sin", inputs: (r) => [normal(r, [2, 3])], f: (a) => sin(a), gg: true,
    ref: { inputs: [f64([0, Math.PI / 2, Math.PI / 6])], want: [0, 1, 0.5] } },
  { name: "cos", inputs: (r) => [normal(r, [2, 3])], f: (a) => cos(a), gg: true,
    ref: { inputs: [f64([0, Math.PI, Math.PI / 3])], want: [1, -1, 0.5] } },
  { name: "isNonFinite", inputs: (r) => [normal(r, [2, 3])], f: (a) => isNonFinite(a),
    ref: { inputs: [f64([1, Infinity, NaN, -Infinity])], want: [0, 1, 1, 1] } },
  // the distinct values sit >= 0.02 from the bounds -0.25 and 0.35
  { name: "clamp", inputs: (r) => [distinct(r, [3, 4], 0.1)], f: (a) => clamp(a, -0.25, 0.35), gg: true,
    ref: { inputs: [f64([-2, 0.3, 1, -0.25])], want: [-0.25, 0.3, 0.35, -0.25] } },
  { name: "maximum", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => maximum(a, b), gg: true,
    ref: { inputs: [f64([1, 5, -1]), f64([3, 2, -2])], want: [3, 5, -1] } },
  { name: "minimum", inputs: (r) => distinctPair(r, [2, 3], [2, 3]), f: (a, b) => minimum(a, b), gg: true,
    ref: { inputs: [f64([1, 5, -1]), f64([3, 2, -2])], want: [1, 2, -2] } },
  // comparisons: 1 or 0, no gradient
  { name: "eq", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => eq(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([1, 0, 3])], want: [1, 0, 1] } },
  { name: "ne", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => ne(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([1, 0, 3])], want: [0, 1, 0] } },
  { name: "lt", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => lt(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([2, 2, 2])], want: [1, 0, 0] } },
  { name: "le", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => le(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([2, 2, 2])], want: [1, 1, 0] } },
  { name: "gt", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => gt(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([2, 2, 2])], want: [0, 0, 1] } },
  { name: "ge", inputs: (r) => distinctPair(r, [2, 3], [3]), f: (a, b) => ge(a, b),
    ref: { inputs: [f64([1, 2, 3]), f64([2, 2, 2])], want: [0, 1, 1] } },
  // where([1,0,1], [1,2,3], [10,20,30]) = [1,20,3]; the int32 condition broadcasts over rows
  { name: "where", inputs: (r) => [i32([1, 0, 1]), normal(r, [2, 3]), normal(r, [3])], f: (c, a, b) => where(c, a, b), gg: true,
    ref: { inputs: [i32([1, 0, 1]), f64([1, 2, 3]), f64([10, 20, 30])], want: [1, 20, 3] } },

  // ---- activations ----
  // sigmoid(0) = 1/2, sigmoid(ln 3) = 1/(1 + 1/3) = 3/4
  { name: "sigmoid", inputs: (r) => [normal(r, [2, 3], 2)], f: (a) => sigmoid(a), gg: true,
    ref: { inputs: [f64([0, Math.log(3)])], want: [0.5, 0.75] } },
  // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6
  { name: "tanh", inputs: (r) => [normal(r, [2, 3])], f: (a) => tanh(a), gg: true,
    ref: { inputs: [f64([0, Math.LN2])], want: [0, 0.6] } },
  { name: "relu", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => relu(a), gg: true,
    ref: { inputs: [f64([-1, 2, -0.5, 0.25])], want: [0, 2, 0, 0.25] } },
  { name: "leakyRelu (slope 0.1)", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => leakyRelu(a, 0.1), gg: true,
    ref: { inputs: [f64([-2, 3])], want: [-0.2, 3] } },
  // elu(-ln 2) = e^(-ln 2) - 1 = -1/2; with alpha 2: -1
  { name: "elu (alpha 2)", inputs: (r) => [awayFromZero(r, [2, 3])], f: (a) => elu(a, 2), gg: true,
    ref: { inputs: [f64([-Math.LN2, 2])], want: [-1, 2] } },
  // softplus(0) = ln 2, softplus(ln 3) = ln 4, softplus(800) = 800 (no overflow)
  { name: "softplus", inputs: (r) => [normal(r, [2, 3], 2)], f: (a) => softplus(a), gg: true,
    ref: { inputs: [f64([0, Math.log(3), 800])], want: [Math.LN2, 2 * Math.LN2, 800] } },
  // the channel is dim 1: [[-1, -2], [3, -4]] with slopes [0.1, 0.5] -> [[-0.1, -1], [3, -2]]
  { name: "prelu (weight [C])", inputs: (r) => [awayFromZero(r, [2, 3, 2]), normal(r, [3])], f: (x, w) => prelu(x, w), gg: true,
    ref: { inputs: [f64([[-1, -2], [3, -4]]), f64([0.1, 0.5])], want: [[-0.1, -1], [3, -2]] } },
  { name: "prelu (weight [1])", inputs: (r) => [awayFromZero(r, [2, 3]), normal(r, [1])], f: (x, w) => prelu(x, w), gg: true,
    ref: { inputs: [f64([[-2, 3]]), f64([0.25])], want: [[-0.5, 3]] } },
  // softmax([0, ln 3]) = [1/4, 3/4]; a huge offset changes nothing
  { name: "softmax (dim 1)", inputs: (r) => [normal(r, [2, 4])], f: (a) => softmax(a, 1), gg: true,
    ref: { inputs: [f64([[0, Math.log(3)], [1000, 1000 + Math.log(3)]])], want: [[0.25, 0.75], [0.25, 0.75]] } },
  { name: "softmax (dim 0)", inputs: (r) => [normal(r, [3, 2])], f: (a) => softmax(a, 0), gg: true,
    ref: { inputs: [f64([[0, 0], [Math.log(3), 0]])], want: [[0.25, 0.5], [0.75, 0.5]] } },
  // logSoftmax([0, ln 3]) = [ln 1/4, ln 3/4]
  { name: "logSoftmax (dim -1)", inputs: (r) => [normal(r, [2, 4])], f: (a) => logSoftmax(a, -1), gg: true,
    ref: { inputs: [f64([[0, Math.log(3)], [-1000, -1000 + Math.log(3)]])],
      want: [[-1.3862943611198906, -0.2876820724517809], [-1.3862943611198906, -0.2876820724517809]] } },
  // logSumExp over both dims of [[0, ln 3]]: ln(1 + 3) = ln 4
  { name: "logSumExp (dims [0,2])", inputs: (r) => [normal(r, [2, 3, 2])], f: (a) => logSumExp(a, [0, 2]), gg: true,
    ref: { inputs: [f64([[[0], [1]], [[Math.log(3)], [1]]])], want: [2 * Math.LN2, 1 + Math.LN2] } },
  { name: "logSumExp (dim 1, keepdim)", inputs: (r) => [normal(r, [2, 3])], f: (a) => logSumExp(a, 1, true), gg: true,
    ref: { inputs: [f64([[0, Math.log(3)], [800, 800]])], want: [[2 * Math.LN2], [800 + Math.LN2]] } },

  // ---- reductions ----
  { name: "sum (all)", inputs: (r) => [normal(r, [2, 3])], f: (a) => sum(a), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]])], want: 10 } },
  // sum over dims 0 and 2 of [[[1,2],[3,4]],[[5,6],[7,8]]] = [1+2+5+6, 3+4+7+8] = [14, 22]
  { name: "sum (dims [0,2], keepdim)", inputs: (r) => [normal(r, [2, 3, 2])], f: (a) => sum(a, [0, 2], true), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])], want: [[[14], [22]]] } },
  { name: "sum (dim -1)", inputs: (r) => [normal(r, [2, 3])], f: (a) => sum(a, -1), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]])], want: [3, 7] } },
  { name: "mean (dim 0)", inputs: (r) => [normal(r, [3, 2])], f: (a) => mean(a, 0), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]])], want: [2, 3] } },
  { name: "mean (dims [1,2], keepdim)", inputs: (r) => [normal(r, [2, 2, 3])], f: (a) => mean(a, [1, 2], true), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 6]]])], want: [[[3]]] } },
  { name: "max (all)", inputs: (r) => [distinct(r, [3, 4])], f: (a) => max(a), gg: true,
    ref: { inputs: [f64([[1, 5], [4, 2]])], want: 5 } },
  // max over dims 0 and 2 of [[[1,9],[3,4]],[[5,6],[8,7]]] = [9, 8]
  { name: "max (dims [0,2], keepdim)", inputs: (r) => [distinct(r, [2, 3, 2])], f: (a) => max(a, [0, 2], true), gg: true,
    ref: { inputs: [f64([[[1, 9], [3, 4]], [[5, 6], [8, 7]]])], want: [[[9], [8]]] } },
  { name: "min (dim 1)", inputs: (r) => [distinct(r, [3, 4])], f: (a) => min(a, 1), gg: true,
    ref: { inputs: [f64([[1, 5], [4, 2]])], want: [1, 2] } },
  { name: "min (dims [0,1])", inputs: (r) => [distinct(r, [2, 3, 2])], f: (a) => min(a, [0, 1]), gg: true,
    ref: { inputs: [f64([[[1, 9], [3, 4]], [[5, 6], [8, -7]]])], want: [1, -7] } },
  // var([1,2,3,4]) = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3 (Bessel); rows: [1,3] -> 2
  { name: "variance (dim 1)", inputs: (r) => [normal(r, [3, 4])], f: (a) => variance(a, 1), gg: true,
    ref: { inputs: [f64([[1, 2, 3, 4], [1, 3, 1, 3]])], want: [5 / 3, 4 / 3] } },
  { name: "variance (dims [0,2], keepdim, correction 0)", inputs: (r) => [normal(r, [2, 3, 2])],
    f: (a) => variance(a, [0, 2], { keepdim: true, correction: 0 }), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 4]]])], want: [[[1.25]]] } },
  // std([2,4,4,4,5,5,7,9], population) = 2
  { name: "std (all, correction 0)", inputs: (r) => [normal(r, [2, 3])], f: (a) => std(a, undefined, { correction: 0 }), gg: true,
    ref: { inputs: [f64([2, 4, 4, 4, 5, 5, 7, 9])], want: 2 } },
  { name: "std (dim 0, keepdim)", inputs: (r) => [normal(r, [3, 2])], f: (a) => std(a, 0, { keepdim: true }), gg: true,
    ref: { inputs: [f64([[1, 0], [3, 0]])], want: [[Math.SQRT2, 0]] } },
  // over dims [0,2] of [[[1,3]],[[5,7]]]: {1,3,5,7} has mean 4 and unbiased var 20/3
  { name: "std (dims [0,2], keepdim)", inputs: (r) => [normal(r, [2, 3, 2])], f: (a) => std(a, [0, 2], { keepdim: true }), gg: true,
    ref: { inputs: [f64([[[1, 3]], [[5, 7]]])], want: [[[Math.sqrt(20 / 3)]]] } },
  { name: "argmax (first of ties)", inputs: () => [], f: (a) => argmax(a, 1), refOnly: true,
    ref: { inputs: [f64([[1, 5, 3], [7, 2, 7]])], want: [1, 0] } },
  { name: "argmin (flattened)", inputs: () => [], f: (a) => argmin(a), refOnly: true,
    ref: { inputs: [f64([[3, 1], [0, 4]])], want: 2 } },
  // the adjoint of expand: [1,3,2] to [3,1] sums the leading dim and each row
  { name: "sumToShape", inputs: (r) => [normal(r, [2, 3, 4])], f: (a) => sumToShape(a, [3, 1]), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 4], [5, 6]]])], want: [[3], [7], [11]] } },

  // ---- movement ----
  { name: "reshape", inputs: (r) => [normal(r, [2, 3, 2])], f: (a) => reshape(a, [3, -1]), gg: true,
    ref: { inputs: [f64([[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]])], want: [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] } },
  { name: "flatten (from dim 1)", inputs: (r) => [normal(r, [2, 3, 2])], f: (a) => flatten(a, 1), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 4]]])], want: [[1, 2, 3, 4]] } },
  { name: "squeeze (dim 1)", inputs: (r) => [normal(r, [2, 1, 3])], f: (a) => squeeze(a, 1), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 4]]])], want: [[1, 2], [3, 4]] } },
  { name: "squeeze (all)", inputs: (r) => [normal(r, [1, 3, 1])], f: (a) => squeeze(a), gg: true,
    ref: { inputs: [f64([[[1], [2]]])], want: [1, 2] } },
  { name: "unsqueeze (dim -1)", inputs: (r) => [normal(r, [2, 3])], f: (a) => unsqueeze(a, -1), gg: true,
    ref: { inputs: [f64([1, 2])], want: [[1], [2]] } },
  // permute [1,0] of [[1,2],[3,4]] = [[1,3],[2,4]]; [2,0,1] of [1,2,3] gives [3,1,2]
  { name: "permute", inputs: (r) => [normal(r, [2, 3, 4])], f: (a) => permute(a, [2, 0, 1]), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 4]]])], want: [[[1, 3]], [[2, 4]]] } },
  { name: "transpose (0, 2)", inputs: (r) => [normal(r, [2, 3, 4])], f: (a) => transpose(a, 0, 2), gg: true,
    ref: { inputs: [f64([[[1, 2, 3]], [[4, 5, 6]]])], want: [[[1, 4]], [[2, 5]], [[3, 6]]] } },
  { name: "expand ([3,1] to [2,3,4])", inputs: (r) => [normal(r, [3, 1])], f: (a) => expand(a, [2, 3, 4]), gg: true,
    ref: { inputs: [f64([[1], [2], [3]])], want: [[[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]], [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]] } },
  // rows 1..-1 (1, 2), columns from -4 step 2 (1, 3) of a 4x5 counting 0..19
  { name: "slice (steps and negatives)", inputs: (r) => [normal(r, [4, 5])],
    f: (a) => slice(a, [{ start: 1, end: -1 }, { start: -4, step: 2 }]), gg: true,
    ref: { inputs: [f64([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]])], want: [[6, 8], [11, 13]] } },
  { name: "slice (step 3, trailing dim whole)", inputs: (r) => [normal(r, [7, 2])], f: (a) => slice(a, [{ step: 3 }]), gg: true,
    ref: { inputs: [f64([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]])], want: [[0, 0], [3, 3], [6, 6]] } },
  { name: "narrow", inputs: (r) => [normal(r, [3, 4])], f: (a) => narrow(a, 1, 1, 2), gg: true,
    ref: { inputs: [f64([[0, 1, 2, 3], [4, 5, 6, 7]])], want: [[1, 2], [5, 6]] } },
  { name: "narrow (negative start)", inputs: (r) => [normal(r, [4, 2])], f: (a) => narrow(a, 0, -3, 2), gg: true,
    ref: { inputs: [f64([[0], [1], [2], [3]])], want: [[1], [2]] } },
  { name: "concat (dim 1)", inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 1])], f: (a, b) => concat([a, b], 1), gg: true,
    ref: { inputs: [f64([[1], [2]]), f64([[3], [4]])], want: [[1, 3], [2, 4]] } },
  { name: "stack (dim 1)", inputs: (r) => [normal(r, [2, 2]), normal(r, [2, 2]), normal(r, [2, 2])],
    f: (a, b, c) => stack([a, b, c], 1), gg: true,
    ref: { inputs: [f64([1, 2]), f64([3, 4]), f64([5, 6])], want: [[1, 3, 5], [2, 4, 6]] } },
  // pad([1,2], [[1,2]], 0.5) = [0.5, 1, 2, 0.5, 0.5]
  { name: "pad (value 0.5)", inputs: (r) => [normal(r, [2, 3])], f: (a) => pad(a, [[1, 0], [2, 1]], 0.5), gg: true,
    ref: { inputs: [f64([[1, 2]])], want: [[0.5, 0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 1, 2, 0.5]] } },
  // take([10,20,30], [2,0,2]) = [30,10,30]: the repeated index gets both gradients
  { name: "take", inputs: (r) => [normal(r, [3, 4]), i32([[1, 11, 1], [0, 5, 7]])], f: (a, i) => take(a, i), gg: true,
    ref: { inputs: [f64([10, 20, 30]), i32([2, 0, 2])], want: [30, 10, 30] } },
  // scatterAdd([1,2,3], [0,2,0], 4) = [1+3, 0, 2, 0]
  { name: "scatterAdd", inputs: (r) => [normal(r, [5]), i32([3, 0, 3, 1, 3])], f: (a, i) => scatterAdd(a, i, 4), gg: true,
    ref: { inputs: [f64([1, 2, 3]), i32([0, 2, 0])], want: [4, 0, 2, 0] } },
  // torch.gather's doc example: gather([[1,2],[3,4]], 1, [[0,0],[1,0]]) = [[1,1],[4,3]]
  { name: "gather (dim 1)", inputs: (r) => [normal(r, [3, 4]), i32([[0, 3], [2, 2], [1, 0]])], f: (a, i) => gather(a, 1, i), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), i32([[0, 0], [1, 0]])], want: [[1, 1], [4, 3]] } },
  { name: "gather (dim 0)", inputs: (r) => [normal(r, [3, 2]), i32([[2, 0], [2, 1]])], f: (a, i) => gather(a, 0, i), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4], [5, 6]]), i32([[2, 0]])], want: [[5, 2]] } },
  { name: "indexSelect (dim 0)", inputs: (r) => [normal(r, [4, 3]), i32([2, 0, 2])], f: (a, i) => indexSelect(a, 0, i), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4], [5, 6]]), i32([2, 0, 2])], want: [[5, 6], [1, 2], [5, 6]] } },
  { name: "indexSelect (dim 1)", inputs: (r) => [normal(r, [2, 4]), i32([3, 1])], f: (a, i) => indexSelect(a, 1, i), gg: true,
    ref: { inputs: [f64([[1, 2, 3], [4, 5, 6]]), i32([2, 0])], want: [[3, 1], [6, 4]] } },
  { name: "oneHot", inputs: () => [], f: (l) => oneHot(l, 3), refOnly: true,
    ref: { inputs: [i32([2, 0])], want: [[0, 0, 1], [1, 0, 0]] } },
  // detach's forward is the identity; that no gradient flows is in autograd.test.ts
  { name: "detach", inputs: () => [], f: (a) => detach(a), refOnly: true,
    ref: { inputs: [f64([1, -2])], want: [1, -2] } },
  { name: "cast (float64 -> float64)", inputs: (r) => [normal(r, [2, 3])], f: (a) => cast(a, "float64"), gg: true,
    ref: { inputs: [f64([0.1, -2])], want: [0.1, -2] } },
  // through float32 and back: 0.1 becomes fround(0.1); a wider eps sees past the float32 rounding
  { name: "cast (float64 -> float32 -> float64)", inputs: (r) => [normal(r, [2, 3])],
    f: (a) => cast(cast(a, "float32"), "float64"), options: { eps: 1e-3 },
    ref: { inputs: [f64([0.1, -2])], want: [0.10000000149011612, -2] } },
  // float to int truncates toward zero
  { name: "cast (float64 -> int32)", inputs: () => [], f: (a) => cast(a, "int32"), refOnly: true,
    ref: { inputs: [f64([1.5, -2.7, 3])], want: [1, -2, 3] } },

  // ---- linear algebra ----
  // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]
  { name: "matmul (2-D)", inputs: (r) => [normal(r, [2, 3]), normal(r, [3, 4])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([[5, 6], [7, 8]])], want: [[19, 22], [43, 50]] } },
  { name: "matmul (batched)", inputs: (r) => [normal(r, [2, 2, 3]), normal(r, [2, 3, 2])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 4]]]), f64([[[1], [1]], [[2], [-1]]])], want: [[[3]], [[2]]] } },
  // batch dims [2,1] and [3] broadcast to [2,3]
  { name: "matmul (broadcast batch)", inputs: (r) => [normal(r, [2, 1, 2, 3]), normal(r, [3, 3, 2])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 4]]]), f64([[1], [10]])], want: [[[21]], [[43]]] } },
  // [1,2,3] . [4,5,6] = 32
  { name: "matmul (1-D @ 1-D)", inputs: (r) => [normal(r, [3]), normal(r, [3])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([1, 2, 3]), f64([4, 5, 6])], want: 32 } },
  { name: "matmul (1-D @ 2-D)", inputs: (r) => [normal(r, [3]), normal(r, [3, 2])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([1, 2]), f64([[1, 2], [3, 4]])], want: [7, 10] } },
  { name: "matmul (3-D @ 1-D)", inputs: (r) => [normal(r, [2, 2, 3]), normal(r, [3])], f: (a, b) => matmul(a, b), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([1, 2])], want: [5, 11] } },
  // A = [[1,2],[3,4]], B = [[5,6],[7,8]]: A B = [[19,22],[43,50]], A^T B = [[26,30],[38,44]],
  // A B^T = [[17,23],[39,53]], A^T B^T = [[23,31],[34,46]]
  { name: "mm (A B)", inputs: (r) => [normal(r, [2, 3]), normal(r, [3, 4])], f: (a, b) => mm(a, b, false, false), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([[5, 6], [7, 8]])], want: [[19, 22], [43, 50]] } },
  { name: "mm (A^T B)", inputs: (r) => [normal(r, [3, 2]), normal(r, [3, 4])], f: (a, b) => mm(a, b, true, false), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([[5, 6], [7, 8]])], want: [[26, 30], [38, 44]] } },
  { name: "mm (A B^T)", inputs: (r) => [normal(r, [2, 3]), normal(r, [4, 3])], f: (a, b) => mm(a, b, false, true), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([[5, 6], [7, 8]])], want: [[17, 23], [39, 53]] } },
  { name: "mm (A^T B^T)", inputs: (r) => [normal(r, [3, 2]), normal(r, [4, 3])], f: (a, b) => mm(a, b, true, true), gg: true,
    ref: { inputs: [f64([[1, 2], [3, 4]]), f64([[5, 6], [7, 8]])], want: [[23, 31], [34, 46]] } },
  { name: "mm (batched A^T B^T, broadcast B)", inputs: (r) => [normal(r, [2, 3, 2]), normal(r, [4, 3])],
    f: (a, b) => mm(a, b, true, true), gg: true,
    ref: { inputs: [f64([[[1, 2], [3, 4]], [[1, 0], [0, 1]]]), f64([[5, 6], [7, 8]])], want: [[[23, 31], [34, 46]], [[5, 7], [6, 8]]] } },
  // [[1,2]] W^T + b with W = [[1,0],[0,1],[1,1]], b = [0.5,0,-1]: [1.5, 2, 2]
  { name: "linear (bias)", inputs: (r) => [normal(r, [2, 3]), normal(r, [4, 3]), normal(r, [4])], f: (x, w, b) => linear(x, w, b), gg: true,
    ref: { inputs: [f64([[1, 2]]), f64([[1, 0], [0, 1], [1, 1]]), f64([0.5, 0, -1])], want: [[1.5, 2, 2]] } },
  { name: "linear (no bias)", inputs: (r) => [normal(r, [2, 3]), normal(r, [4, 3])], f: (x, w) => linear(x, w), gg: true,
    ref: { inputs: [f64([[1, 2]]), f64([[1, -1]])], want: [[-1]] } },
  { name: "linear (3-D input)", inputs: (r) => [normal(r, [2, 2, 3]), normal(r, [4, 3]), normal(r, [4])], f: (x, w, b) => linear(x, w, b), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 4]]]), f64([[1, 1]]), f64([1])], want: [[[4]], [[8]]] } },

  // ---- convolution ----
  // [[1,2,3],[4,5,6],[7,8,9]] * [[1,2],[3,4]] (cross-correlation): 1+4+12+20 = 37, 47, 67, 77; + bias 1
  { name: "conv2d (bias)", inputs: (r) => [normal(r, [1, 2, 4, 4]), normal(r, [3, 2, 3, 3]), normal(r, [3])],
    f: (x, w, b) => conv2d(x, w, b), gg: true,
    ref: { inputs: [x3x3(), f64([[[[1, 2], [3, 4]]]]), f64([1])], want: [[[[38, 48], [68, 78]]]] } },
  // a 3x3 kernel with only its centre set, padding 1 and stride 2, picks the corners [[1,3],[7,9]]
  { name: "conv2d (stride 2, padding 1)", inputs: (r) => [normal(r, [2, 1, 5, 5]), normal(r, [2, 1, 3, 3]), normal(r, [2])],
    f: (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }), gg: true,
    ref: { inputs: [x3x3(), f64([[[[0, 0, 0], [0, 1, 0], [0, 0, 0]]]]), f64([0])], want: [[[[1, 3], [7, 9]]]] } },
  { name: "conv2d (padding same, odd kernel)", inputs: (r) => [normal(r, [1, 2, 4, 3]), normal(r, [2, 2, 3, 3])],
    f: (x, w) => conv2d(x, w, null, { padding: "same" }), gg: true,
    // 3x3 ones over a padded 3x3: corners sum 4 values, e.g. 1+2+4+5 = 12
    ref: { inputs: [x3x3(), f64([[[[1, 1, 1], [1, 1, 1], [1, 1, 1]]]])], want: [[[[12, 21, 16], [27, 45, 33], [24, 39, 28]]]] } },
  // even kernel: total padding 1 goes after (bottom/right), as PyTorch: [[1,2],[3,4]] * ones(2,2) = [[10,6],[7,4]]
  { name: "conv2d (padding same, even kernel)", inputs: (r) => [normal(r, [1, 1, 4, 4]), normal(r, [2, 1, 2, 2]), normal(r, [2])],
    f: (x, w, b) => conv2d(x, w, b, { padding: "same" }), gg: true,
    ref: { inputs: [f64([[[[1, 2], [3, 4]]]]), f64([[[[1, 1], [1, 1]]]]), f64([0])], want: [[[[10, 6], [7, 4]]]] } },
  // dilation 2: a 2x2 ones kernel touches the corners 1+3+7+9 = 20
  { name: "conv2d (dilation 2)", inputs: (r) => [normal(r, [1, 1, 5, 5]), normal(r, [2, 1, 2, 2])],
    f: (x, w) => conv2d(x, w, null, { dilation: 2 }), gg: true,
    ref: { inputs: [x3x3(), f64([[[[1, 1], [1, 1]]]])], want: [[[[20]]]] } },
  // groups 2: channel 0 only meets weight 0: [3, 5] with weights [2, 10] -> [6, 50]
  { name: "conv2d (groups 2)", inputs: (r) => [normal(r, [1, 4, 3, 3]), normal(r, [4, 2, 2, 2]), normal(r, [4])],
    f: (x, w, b) => conv2d(x, w, b, { groups: 2 }), gg: true,
    ref: { inputs: [f64([[[[3]], [[5]]]]), f64([[[[2]]], [[[10]]]]), f64([0, 0])], want: [[[[6]], [[50]]]] } },
  // 2x2 windows over 3x3 planes: row (c, ki, kj) lists x[c][oy + ki][ox + kj] for the 4 outputs
  { name: "im2col", inputs: (r) => [normal(r, [1, 2, 3, 3])], f: (x) => im2col(x, window(1, 2, 3, 3, 2, 2)), gg: true,
    ref: { inputs: [f64([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[10, 20, 30], [40, 50, 60], [70, 80, 90]]]])],
      want: [[[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9],
        [10, 20, 40, 50], [20, 30, 50, 60], [40, 50, 70, 80], [50, 60, 80, 90]]] } },
  // col2im of ones counts the windows covering each pixel: [[1,2,1],[2,4,2],[1,2,1]]
  { name: "col2im", inputs: (r) => [normal(r, [1, 8, 4])], f: (c) => col2im(c, window(1, 2, 3, 3, 2, 2)), gg: true,
    ref: { inputs: [ones([1, 8, 4], { dtype: "float64" })], want: [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]]] } },

  // ---- pooling ----
  { name: "maxPool2d (2x2)", inputs: (r) => [distinct(r, [1, 2, 4, 4])], f: (x) => maxPool2d(x, { kernelSize: 2 }), gg: true,
    ref: { inputs: [f64([[[[1, 5], [3, 2]]]])], want: [[[[5]]]] } },
  // padding never wins: windows of [[1,5],[3,2]] padded by 1, stride 1
  { name: "maxPool2d (3x3, stride 2, padding 1)", inputs: (r) => [distinct(r, [2, 1, 5, 5])],
    f: (x) => maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), gg: true,
    ref: { inputs: [f64([[[[-1, -5], [-3, -2]]]])], want: [[[[-1]]]] } },
  { name: "maxPool2d (2x2, stride 1, padding 1)", inputs: (r) => [distinct(r, [1, 1, 3, 3])],
    f: (x) => maxPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }), gg: true,
    ref: { inputs: [f64([[[[1, 5], [3, 2]]]])], want: [[[[1, 5, 5], [3, 5, 5], [3, 3, 2]]]] } },
  { name: "maxPool2d (dilation 2)", inputs: (r) => [distinct(r, [1, 1, 5, 5])],
    f: (x) => maxPool2d(x, { kernelSize: 2, stride: 1, dilation: 2 }), gg: true,
    ref: { inputs: [f64([[[[9, 1, 2], [1, 1, 1], [3, 1, 4]]]])], want: [[[[9]]]] } },
  { name: "avgPool2d (2x2)", inputs: (r) => [normal(r, [1, 2, 4, 4])], f: (x) => avgPool2d(x, { kernelSize: 2 }), gg: true,
    ref: { inputs: [f64([[[[1, 2, 0, 0], [3, 4, 0, 8]]]])], want: [[[[2.5, 2]]]] } },
  // padded zeros count: windows of [[1,2],[3,4]] padded by 1, /4 each
  { name: "avgPool2d (2x2, stride 1, padding 1)", inputs: (r) => [normal(r, [1, 2, 4, 4])],
    f: (x) => avgPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }), gg: true,
    ref: { inputs: [f64([[[[1, 2], [3, 4]]]])], want: [[[[0.25, 0.75, 0.5], [1, 2.5, 1.5], [0.75, 1.75, 1]]]] } },
  // one window covers the padded 2x2: (1 + 2 + 3 + 4) / 9
  { name: "avgPool2d (3x3, stride 2, padding 1)", inputs: (r) => [normal(r, [1, 2, 5, 5])],
    f: (x) => avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), gg: true,
    ref: { inputs: [f64([[[[1, 2], [3, 4]]]])], want: [[[[10 / 9]]]] } },
  { name: "globalAvgPool2d", inputs: (r) => [normal(r, [2, 3, 2, 2])], f: (x) => globalAvgPool2d(x), gg: true,
    ref: { inputs: [f64([[[[1, 2], [3, 4]], [[0, 0], [0, 8]]]])], want: [[[[2.5]], [[2]]]] } },

  // ---- normalization ----
  // one channel [1, 3]: mean 2, biased var 1 -> ±1/sqrt(1 + eps), then ·2 + 0.5
  { name: "batchNorm (train, [N,C])", inputs: (r) => [normal(r, [4, 3]), normal(r, [3]), normal(r, [3])],
    f: (x, w, b) => batchNorm(x, { weight: w, bias: b, training: true }).output, gg: true,
    ref: { inputs: [f64([[1], [3]]), f64([2]), f64([0.5])], want: [[0.5 - 2 * E5], [0.5 + 2 * E5]] } },
  { name: "batchNorm (train, [N,C,H,W])", inputs: (r) => [normal(r, [2, 2, 2, 2]), normal(r, [2]), normal(r, [2])],
    f: (x, w, b) => batchNorm(x, { weight: w, bias: b, training: true }).output, gg: true,
    ref: { inputs: [f64([[[[1]], [[5]]], [[[3]], [[5.5]]]]), f64([1, 1]), f64([0, 0])],
      want: [[[[-1 / Math.sqrt(1 + 1e-5)]], [[-0.25 / Math.sqrt(0.0625 + 1e-5)]]], [[[1 / Math.sqrt(1 + 1e-5)]], [[0.25 / Math.sqrt(0.0625 + 1e-5)]]]] } },
  // eval: (x − running mean) / sqrt(running var + eps): (3 − 1) / sqrt(4 + eps) ≈ 1
  { name: "batchNorm (eval)", inputs: (r) => [normal(r, [3, 2]), normal(r, [2]), uniform(r, [2], 0.5, 2), normal(r, [2]), normal(r, [2])],
    f: (x, rm, rv, w, b) => batchNorm(x, { runningMean: rm, runningVar: rv, weight: w, bias: b, training: false }).output, gg: true,
    ref: { inputs: [f64([[1], [3]]), f64([1]), f64([4]), f64([1]), f64([0])], want: [[0], [2 / Math.sqrt(4 + 1e-5)]] } },
  // normalizedShape = the weight's shape. [1,2]: mean 1.5, var 0.25; [3,7]: mean 5, var 4; then ·[1,2] + [0,1]
  { name: "layerNorm ([3,4] of [2,3,4])", inputs: (r) => [normal(r, [2, 3, 4]), normal(r, [3, 4]), normal(r, [3, 4])],
    f: (x, w, b) => layerNorm(x, w.shape, { weight: w, bias: b }), gg: true,
    ref: { inputs: [f64([[[1, 2]], [[3, 7]]]), f64([[1, 2]]), f64([[0, 1]])],
      want: [[[-0.5 / Math.sqrt(0.25 + 1e-5), 1 / Math.sqrt(0.25 + 1e-5) + 1]], [[-2 / Math.sqrt(4 + 1e-5), 4 / Math.sqrt(4 + 1e-5) + 1]]] } },
  // [1,2,3]: mean 2, biased var 2/3 -> (x − 2)/sqrt(2/3 + eps)
  { name: "layerNorm (last dim, no affine)", inputs: (r) => [normal(r, [3, 4])], f: (x) => layerNorm(x, [x.shape[x.rank - 1]!]), gg: true,
    ref: { inputs: [f64([[1, 2, 3]])], want: [[-1 / Math.sqrt(2 / 3 + 1e-5), 0, 1 / Math.sqrt(2 / 3 + 1e-5)]] } },
  // one plane [[1,2],[3,4]]: mean 2.5, var 1.25
  { name: "instanceNorm", inputs: (r) => [normal(r, [2, 2, 2, 3]), normal(r, [2]), normal(r, [2])],
    f: (x, w, b) => instanceNorm(x, { weight: w, bias: b }), gg: true,
    ref: { inputs: [f64([[[[1, 2], [3, 4]]]]), f64([1]), f64([0])],
      want: [[[[-1.5, -0.5], [0.5, 1.5]].map((row) => row.map((v) => v / Math.sqrt(1.25 + 1e-5)))]] } },
  // one group of [[1,3],[5,7]]: mean 4, var 5; two groups: each channel ±1/sqrt(1 + eps)
  { name: "groupNorm (2 groups of 4 channels)", inputs: (r) => [normal(r, [2, 4, 3]), normal(r, [4]), normal(r, [4])],
    f: (x, w, b) => groupNorm(x, 2, { weight: w, bias: b }), gg: true,
    ref: { inputs: [f64([[[1, 3], [5, 7]]]), f64([1, 1]), f64([0, 0])], want: [[[-E5, E5], [-E5, E5]]] } },
  { name: "groupNorm (1 group)", inputs: (r) => [normal(r, [2, 2, 2, 2])], f: (x) => groupNorm(x, 1), gg: true,
    ref: { inputs: [f64([[[1, 3], [5, 7]]])], want: [[[-3, -1], [1, 3]].map((row) => row.map((v) => v / Math.sqrt(5 + 1e-5)))] } },

  // ---- dropout: a fresh Generator(5) each call, so every evaluation drops the same units ----
  { name: "dropout (p 0.4, fixed generator)", inputs: (r) => [normal(r, [3, 4])],
    f: (x) => dropout(x, { p: 0.4, training: true, rng: new Generator(5) }), gg: true,
    ref: { inputs: [ones([12], { dtype: "float64" })], want: dropoutMask(5, 12, 0.4) } },
];

describe("ops: gradcheck, gradgradcheck and a reference for every op", () => {
  it.each(rows.map((row) => [row.name, row] as const))("%s", async (_name, row) => {
    if (row.ref) {
      const out = row.f(...row.ref.inputs);
      expectClose(out, row.ref.want, { atol: row.ref.atol ?? 1e-12 });
    }
    if (row.refOnly) return;
    const inputs = row.inputs(new Generator(rows.indexOf(row) + 1));
    const report = await gradcheck(row.f, inputs, row.options);
    expect(report.ok, report.message).toBe(true);
    expect(report.checked).toBeGreaterThan(0);
    if (row.gg) {
      const second = await gradgradcheck(row.f, inputs, row.options);
      expect(second.ok, second.message).toBe(true);
    }
  });
});

describe("ops: every row forward, backward and gradcheck on a backend without synchronous reads", () => {
  const slow = asyncCpu();
  /** The row's output and the gradients of sum(output · weights) for its float inputs, made on `backend`. */
  const run = (row: Row, backend: Backend): Tensor[] => withBackend(backend, () => {
    // reference-only rows run on their hand-worked inputs, copied onto the backend
    const made = row.refOnly
      ? row.ref!.inputs.map((x) => fromValues(x.dataSync(), x.shape, { backend }))
      : row.inputs(new Generator(rows.indexOf(row) + 1));
    const inputs = made.map((x) => (x.dtype === "int32" ? x : x.requireGrad()));
    const y = row.f(...inputs);
    if (row.refOnly || !y.requiresGrad) return [y];
    sum(mul(y, uniform(new Generator(7), [...y.shape], 0.5, 1.5))).backward();
    return [y, ...inputs.flatMap((x) => (x.grad ? [x.grad] : []))];
  });
  it.each(rows.map((row) => [row.name, row] as const))("%s", async (_name, row) => {
    const got = run(row, slow);
    expect(got.every((t) => t.backend === slow)).toBe(true);
    const want = run(row, currentBackend());
    const read = (ts: Tensor[]) => Promise.all(ts.map(async (t) => Array.from(await t.data())));
    expect(await read(got)).toEqual(await read(want));
  });
  it.each(rows.filter((row) => !row.refOnly).map((row) => [row.name, row] as const))("gradcheck of %s gives cpu's report", async (_name, row) => {
    const checks = async (backend: Backend) => {
      const inputs = withBackend(backend, () => row.inputs(new Generator(rows.indexOf(row) + 1)));
      expect(inputs.every((t) => t.backend === backend)).toBe(true);
      return [await gradcheck(row.f, inputs, row.options), ...(row.gg ? [await gradgradcheck(row.f, inputs, row.options)] : [])];
    };
    const got = await checks(slow);
    expect(got.every((r) => r.ok)).toBe(true);
    expect(got).toEqual(await checks(currentBackend()));
  });
});

describe("ops: every row forward and backward in float32 on the wasm backend equals the cpu backend", () => {
  // the wasm backend's kernels are bit-identical to cpu's except sums (float64 lanes in another
  // order): the tolerance is a few float32 ulps of the values compared
  const wasm = createBackend("wasm");
  const run = (row: Row, backend: Backend): Tensor[] | string => withBackend(backend, () => {
    try {
      const made = row.refOnly ? row.ref!.inputs : row.inputs(new Generator(rows.indexOf(row) + 1));
      const inputs = made.map((x) => (x.dtype === "int32" ? fromValues(x.dataSync(), x.shape, { backend })
        : fromValues(Float32Array.from(x.dataSync()), x.shape, { backend }).requireGrad()));
      const y = row.f(...inputs);
      if (!y.requiresGrad) return [y];
      sum(mul(y, cast(uniform(new Generator(7), [...y.shape], 0.5, 1.5), y.dtype))).backward();
      return [y, ...inputs.flatMap((x) => (x.grad ? [x.grad] : []))];
    } catch (e) {
      return (e as Error).message;
    }
  });
  it.each(rows.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const want = run(row, cpu);
    const got = run(row, wasm);
    if (typeof want === "string") return void expect(got).toBe(want);
    expect(typeof got).not.toBe("string");
    const gotTensors = got as Tensor[];
    expect(gotTensors.every((t) => t.backend === wasm)).toBe(true);
    expect(gotTensors.map((t) => t.shape)).toEqual(want.map((t) => t.shape));
    gotTensors.forEach((t, i) => {
      const a = t.dataSync(), b = want[i]!.dataSync();
      for (let k = 0; k < a.length; k++) {
        const x = a[k]!, y = b[k]!;
        if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
        expect(Math.abs(x - y), `${row.name}: output ${i}, element ${k}: wasm ${x}, cpu ${y}`).toBeLessThanOrEqual(4e-7 * Math.max(Math.abs(x), Math.abs(y), 1e-3));
      }
    });
  });
});

describe("ops: behaviour beyond the table", () => {
  it("gradcheck notices a wrong gradient (the table's check can fail)", async () => {
    // x^2 computed through a path whose recorded rule is that of x^3
    const wrong = (x: Tensor) => add(pow(x, 3), detach(sub(square(x), pow(x, 3))));
    const report = await gradcheck(wrong, [f64([0.5, 1.5, -2])]);
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/input 0 at \[\d\]/);
  });

  it("gradgradcheck notices a wrong second derivative that gradcheck cannot see", async () => {
    // x^2 whose rule 2·detach(x)·g is right once but has no second derivative (it should be 2)
    const badSquare = (x: Tensor) => record("badSquare", [x], mul(detach(x), detach(x)), (g) => [mul(g, mul(detach(x), 2))]);
    const x = f64([0.5, 1.5, -2]);
    expect((await gradcheck(badSquare, [x])).ok).toBe(true);
    const second = await gradgradcheck(badSquare, [x]);
    expect(second.ok).toBe(false);
    expect(second.message).toMatch(/gradcheck failed/);
  });

  it("batchNorm in training returns running statistics with momentum and the unbiased variance", () => {
    // x = [1, 3]: mean 2, unbiased var 2; running (0, 1) -> (0.9·0 + 0.1·2, 0.9·1 + 0.1·2) = (0.2, 1.1)
    const r = batchNorm(f64([[1], [3]]), { training: true, runningMean: f64([0]), runningVar: f64([1]) });
    expectClose(r.runningMean!, [0.2]);
    expectClose(r.runningVar!, [1.1]);
    expect(r.runningMean!.requiresGrad).toBe(false);
  });

  it("dropout keeps about 1 − p of the units, scales them by 1/(1 − p), and is the identity in eval", () => {
    const x = ones([20000], { dtype: "float64" });
    const y = dropout(x, { p: 0.25, training: true, rng: new Generator(1) }).dataSync();
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-12)).toBe(true);
    expect(Math.abs(kept.length / y.length - 0.75)).toBeLessThan(0.02);
    expect(dropout(x, { p: 0.25, training: false, rng: new Generator(1) })).toBe(x);
  });

  it("relu's gradient is PyTorch's threshold_backward: +0 where x <= 0 (whatever the upstream gradient), g where x > 0 or x is NaN", () => {
    for (const backend of [cpu, createBackend("wasm"), createBackend("native")]) {
      withBackend(backend, () => {
        const n = 300; // past the native and SIMD kernels' small-array cut-offs
        const xv = Float32Array.from({ length: n }, (_, i) => [-2, -0, 0, 3, NaN][i % 5]!);
        const gv = Float32Array.from({ length: n }, (_, i) => [-1.5, Infinity, NaN, -4, 7][(i * 3) % 5]!);
        const x = fromValues(xv, [n], { requiresGrad: true });
        const [gx] = gradients(relu(x), [x], { gradOutputs: [fromValues(gv, [n])] });
        const want = Float32Array.from(xv, (v, i) => (v > 0 || Number.isNaN(v) ? gv[i]! : 0));
        expect(Array.from(new Uint32Array(Float32Array.from(gx!.dataSync()).buffer)), backend.name).toEqual(Array.from(new Uint32Array(want.buffer)));
      });
    }
  });

  it("windowOutputSize is floor((n + pad − d·(f − 1) − 1) / s) + 1", () => {
    expect(windowOutputSize(5, 3, 2, 2)).toBe(3); // (5 + 2 − 2 − 1)/2 + 1
    expect(windowOutputSize(5, 3, 1, 0, 2)).toBe(1); // (5 − 4 − 1)/1 + 1
    expect(windowOutputSize(28, 2, 2, 0)).toBe(14);
  });

  it("conv2d 'same' keeps H and W for odd and even kernels", () => {
    const x = f64([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]]]);
    for (const k of [1, 2, 3, 4]) {
      const w = ones([1, 1, k, k], { dtype: "float64" });
      expect([...conv2d(x, w, null, { padding: "same" }).shape]).toEqual([1, 1, 3, 4]);
    }
  });
});
