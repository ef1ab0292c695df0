/**
 * Elementwise ops, each forward next to its backward rule. Binary ops broadcast (NumPy rules);
 * their gradients are summed back to each operand's shape in one place, `binaryOp`, through
 * `sumToShape`. Rules use differentiable ops only, so they differentiate again.
 */
import type { BinaryOp, UnaryOp } from "../backend/backend.js";
import { record } from "../autograd/graph.js";
import { requireFloat, requireSameDType } from "../tensor/dtype.js";
import { broadcastShapes, broadcastStrides } from "../tensor/shape.js";
import { Tensor, type TensorOrScalar } from "../tensor/tensor.js";
import { sumToShape } from "./reduce.js";
import { asTensor, output, sameBackend } from "./util.js";

type UnaryRule = (g: Tensor, x: Tensor, y: Tensor) => Tensor | null;

/** Runs a unary kernel and records its rule; `rule` undefined means no gradient flows. */
export function unaryOp(name: string, x: Tensor, op: UnaryOp, rule?: UnaryRule, params: readonly number[] = [], float = true): Tensor {
  if (float) requireFloat(name, x.dtype);
  const y = output(x, x.backend.unary(op, x.dataId, x.size, x.dtype, params), x.shape);
  if (!rule) return y;
  return record(name, [x], y, (g) => [rule(g, x, y)]);
}

type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

function operands(name: string, a: TensorOrScalar, b: TensorOrScalar): [Tensor, Tensor] {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new TypeError(`${name}: at least one operand must be a tensor`);
  const ta = a instanceof Tensor ? a : asTensor(a, b as Tensor);
  const tb = b instanceof Tensor ? b : asTensor(b, ta);
  sameBackend(name, ta, tb);
  requireSameDType(name, ta.dtype, tb.dtype);
  return [ta, tb];
}

/** Runs a broadcasting binary kernel; the rule's gradients are reduced to each operand's shape here. */
export function binaryOp(name: string, a: TensorOrScalar, b: TensorOrScalar, op: BinaryOp, rule?: BinaryRule): Tensor {
  const [ta, tb] = operands(name, a, b);
  const shape = broadcastShapes(name, ta.shape, tb.shape);
  const info = { outShape: shape, strides: [broadcastStrides(ta.shape, shape), broadcastStrides(tb.shape, shape)] };
  const y = output(ta, ta.backend.binary(op, ta.dataId, tb.dataId, info, ta.dtype), shape);
  if (!rule) return y;
  return record(name, [ta, tb], y, (g) => {
    const [ga, gb] = rule(g, ta, tb, y);
    return [ga && ta.requiresGrad ? sumToShape(ga, ta.shape) : null, gb && tb.requiresGrad ? sumToShape(gb, tb.shape) : null];
  });
}

export function add(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("add", a, b, "add", (g) => [g, g]);
}

export function sub(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("sub", a, b, "sub", (g) => [g, neg(g)]);
}

export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("mul", a, b, "mul", (g, x, y) => [mul(g, y), mul(g, x)]);
}

/**
 * d(a/b) = da/b - (a/b) db/b. Integer operands are refused: an int32 kernel would truncate, where
 * PyTorch divides exactly (cast to a float dtype first).
 */
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  for (const t of [a, b]) if (t instanceof Tensor) requireFloat("div", t.dtype);
  return binaryOp("div", a, b, "div", (g, x, y, out) => [div(g, y), y.requiresGrad ? neg(div(mul(g, out), y)) : null]);
}

/**
 * x^p. With a number p: d/dx = p x^(p-1). With a tensor p: also d/dp = x^p log x, taken as 0
 * where x = 0 and p >= 0 (the limit), as PyTorch does.
 */
export function pow(x: TensorOrScalar, p: TensorOrScalar): Tensor {
  if (x instanceof Tensor && typeof p === "number") {
    return unaryOp("pow", x, "powScalar", (g, xx) => (p === 0 ? null : mul(g, mul(powScalar(xx, p - 1), p))), [p]);
  }
  return binaryOp("pow", x, p, "pow", (g, a, b, y) => [
    a.requiresGrad ? mul(g, mul(b, pow(a, sub(b, 1)))) : null,
    b.requiresGrad ? mul(g, where(eq(a, 0), 0, mul(y, log(a)))) : null,
  ]);
}

function powScalar(x: Tensor, p: number): Tensor {
  return p === 1 ? x : pow(x, p);
}

export function neg(x: Tensor): Tensor {
  return unaryOp("neg", x, "neg", (g) => neg(g), [], false);
}

export function exp(x: Tensor): Tensor {
  return unaryOp("exp", x, "exp", (g, _x, y) => mul(g, y));
}

export function log(x: Tensor): Tensor {
  return unaryOp("log", x, "log", (g, xx) => div(g, xx));
}

export function log1p(x: Tensor): Tensor {
  return unaryOp("log1p", x, "log1p", (g, xx) => div(g, add(xx, 1)));
}

export function expm1(x: Tensor): Tensor {
  return unaryOp("expm1", x, "expm1", (g, _x, y) => mul(g, add(y, 1)));
}

export function sqrt(x: Tensor): Tensor {
  return unaryOp("sqrt", x, "sqrt", (g, _x, y) => div(g, mul(y, 2)));
}

export function square(x: Tensor): Tensor {
  return unaryOp("square", x, "square", (g, xx) => mul(g, mul(xx, 2)));
}

export function reciprocal(x: Tensor): Tensor {
  return unaryOp("reciprocal", x, "reciprocal", (g, _x, y) => neg(mul(g, mul(y, y))));
}

export function abs(x: Tensor): Tensor {
  return unaryOp("abs", x, "abs", (g, xx) => mul(g, sign(xx)), [], false);
}

/** -1, 0 or 1; its derivative is 0 wherever it exists. */
export function sign(x: Tensor): Tensor {
  return unaryOp("sign", x, "sign", undefined, [], false);
}

export function floor(x: Tensor): Tensor {
  return unaryOp("floor", x, "floor");
}

export function ceil(x: Tensor): Tensor {
  return unaryOp("ceil", x, "ceil");
}

/** Rounds half to even, as PyTorch does. */
export function round(x: Tensor): Tensor {
  return unaryOp("round", x, "round");
}

export function sin(x: Tensor): Tensor {
  return unaryOp("sin", x, "sin", (g, xx) => mul(g, cos(xx)));
}

export function cos(x: Tensor): Tensor {
  return unaryOp("cos", x, "cos", (g, xx) => neg(mul(g, sin(xx))));
}

/** 1 where a value is NaN or infinite, else 0 (in x's dtype). */
export function isNonFinite(x: Tensor): Tensor {
  return unaryOp("isNonFinite", x, "nonFinite");
}

/** Limits values to [min, max]; the gradient passes where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  return unaryOp("clamp", x, "clamp", (g, xx) => mul(g, mul(ge(xx, min), le(xx, max))), [min, max], false);
}

/** Where both are equal, each operand gets half the gradient (as PyTorch does). */
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("maximum", a, b, "maximum", (g, x, y) => {
    const half = mul(eq(x, y), 0.5);
    return [mul(g, add(gt(x, y), half)), mul(g, add(lt(x, y), half))];
  });
}

export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp("minimum", a, b, "minimum", (g, x, y) => {
    const half = mul(eq(x, y), 0.5);
    return [mul(g, add(lt(x, y), half)), mul(g, add(gt(x, y), half))];
  });
}

// Comparisons give 1 or 0 in the operands' dtype and carry no gradient.
export const eq = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("eq", a, b, "eq");
export const ne = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("ne", a, b, "ne");
export const lt = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("lt", a, b, "lt");
export const le = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("le", a, b, "le");
export const gt = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("gt", a, b, "gt");
export const ge = (a: TensorOrScalar, b: TensorOrScalar): Tensor => binaryOp("ge", a, b, "ge");

/** cond != 0 ? a : b, all three broadcast together; the gradient goes to the branch taken. */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [ta, tb] = operands("where", a, b);
  sameBackend("where", cond, ta);
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, ta.shape), tb.shape);
  const info = { outShape: shape, strides: [cond.shape, ta.shape, tb.shape].map((s) => broadcastStrides(s, shape)) };
  const y = output(ta, ta.backend.select(cond.dataId, ta.dataId, tb.dataId, info, cond.dtype, ta.dtype), shape);
  return record("where", [ta, tb], y, (g) => [
    ta.requiresGrad ? sumToShape(where(cond, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumToShape(where(cond, 0, g), tb.shape) : null,
  ]);
}
