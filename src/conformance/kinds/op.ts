/**
 * Kind `op`: runs one op on the case's inputs and returns its output, the gradient of
 * sum(output · gradOutput) for every floating input, and for batch norm in training the updated
 * running statistics. The table maps each op name to a call with PyTorch functional semantics.
 */
import { ConfigError } from "../../errors/errors.js";
import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import { gradients } from "../../autograd/backward.js";
import * as ops from "../../ops/index.js";
import { fromTensor, fromTensors, toTensor, toTensors } from "../values.js";
import type { CaseResult, ConformanceCase } from "./index.js";

type Attrs = Record<string, unknown>;
type OpResult = { output: Tensor; state?: Record<string, Tensor | null> };
type OpFn = (x: Record<string, Tensor>, attrs: Attrs) => OpResult;

function need<T>(attrs: Attrs, name: string): T {
  if (!(name in attrs)) throw new ConfigError(`missing attribute "${name}"`);
  return attrs[name] as T;
}

function input(x: Record<string, Tensor>, name: string): Tensor {
  const t = x[name];
  if (!t) throw new ConfigError(`missing input "${name}"`);
  return t;
}

const out = (output: Tensor): OpResult => ({ output });
type Dim = number | number[] | undefined;

const OPS: Record<string, OpFn> = {
  add: (x) => out(ops.add(input(x, "a"), input(x, "b"))),
  sub: (x) => out(ops.sub(input(x, "a"), input(x, "b"))),
  mul: (x) => out(ops.mul(input(x, "a"), input(x, "b"))),
  div: (x) => out(ops.div(input(x, "a"), input(x, "b"))),
  exp: (x) => out(ops.exp(input(x, "input"))),
  log: (x) => out(ops.log(input(x, "input"))),
  sqrt: (x) => out(ops.sqrt(input(x, "input"))),
  tanh: (x) => out(ops.tanh(input(x, "input"))),
  sigmoid: (x) => out(ops.sigmoid(input(x, "input"))),
  relu: (x) => out(ops.relu(input(x, "input"))),
  pow: (x, a) => out(ops.pow(input(x, "input"), need<number>(a, "exponent"))),
  leakyRelu: (x, a) => out(ops.leakyRelu(input(x, "input"), (a.negativeSlope as number | undefined) ?? 0.01)),
  elu: (x, a) => out(ops.elu(input(x, "input"), (a.alpha as number | undefined) ?? 1)),
  prelu: (x) => out(ops.prelu(input(x, "input"), input(x, "weight"))),
  softmax: (x, a) => out(ops.softmax(input(x, "input"), need<number>(a, "dim"))),
  logSoftmax: (x, a) => out(ops.logSoftmax(input(x, "input"), need<number>(a, "dim"))),
  sum: (x, a) => out(ops.sum(input(x, "input"), a.dim as Dim, Boolean(a.keepdim))),
  mean: (x, a) => out(ops.mean(input(x, "input"), a.dim as Dim, Boolean(a.keepdim))),
  max: (x, a) => out(ops.max(input(x, "input"), a.dim as Dim, Boolean(a.keepdim))),
  min: (x, a) => out(ops.min(input(x, "input"), a.dim as Dim, Boolean(a.keepdim))),
  matmul: (x) => out(ops.matmul(input(x, "a"), input(x, "b"))),
  linear: (x) => out(ops.linear(input(x, "input"), input(x, "weight"), x.bias ?? null)),
  conv2d: (x, a) =>
    out(
      ops.conv2d(input(x, "input"), input(x, "weight"), x.bias ?? null, {
        stride: (a.stride as ops.Pair | undefined) ?? 1,
        padding: (a.padding as ops.Padding | undefined) ?? 0,
        dilation: (a.dilation as ops.Pair | undefined) ?? 1,
        groups: (a.groups as number | undefined) ?? 1,
      }),
    ),
  maxPool2d: (x, a) => out(ops.maxPool2d(input(x, "input"), poolOptions(a))),
  avgPool2d: (x, a) => out(ops.avgPool2d(input(x, "input"), poolOptions(a))),
  globalAvgPool2d: (x) => out(ops.globalAvgPool2d(input(x, "input"))),
  batchNorm: (x, a) => {
    const r = ops.batchNorm(input(x, "input"), {
      weight: x.weight ?? null,
      bias: x.bias ?? null,
      runningMean: x["state.runningMean"] ?? null,
      runningVar: x["state.runningVar"] ?? null,
      training: Boolean(need(a, "training")),
      momentum: (a.momentum as number | undefined) ?? 0.1,
      eps: (a.eps as number | undefined) ?? 1e-5,
    });
    return { output: r.output, state: { runningMean: r.runningMean, runningVar: r.runningVar } };
  },
  layerNorm: (x, a) =>
    out(ops.layerNorm(input(x, "input"), need<number[]>(a, "normalizedShape"), { weight: x.weight ?? null, bias: x.bias ?? null, eps: (a.eps as number | undefined) ?? 1e-5 })),
  instanceNorm: (x, a) =>
    out(ops.instanceNorm(input(x, "input"), { weight: x.weight ?? null, bias: x.bias ?? null, eps: (a.eps as number | undefined) ?? 1e-5 })),
  groupNorm: (x, a) =>
    out(ops.groupNorm(input(x, "input"), need<number>(a, "numGroups"), { weight: x.weight ?? null, bias: x.bias ?? null, eps: (a.eps as number | undefined) ?? 1e-5 })),
};

function poolOptions(a: Attrs): ops.Pool2dOptions {
  const o: ops.Pool2dOptions = { kernelSize: need<ops.Pair>(a, "kernelSize") };
  if (a.stride !== undefined && a.stride !== null) o.stride = a.stride as ops.Pair;
  if (a.padding !== undefined) o.padding = a.padding as ops.Pair;
  if (a.dilation !== undefined) o.dilation = a.dilation as ops.Pair;
  return o;
}

export async function evaluateOpCase(c: ConformanceCase, dtype: DType): Promise<CaseResult> {
  const name = c.op as string;
  const fn = OPS[name];
  if (!fn) throw new ConfigError(`unsupported op "${name}"`);
  const raw = (c.inputs ?? {}) as Record<string, unknown>;
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "state") {
      for (const [sk, sv] of Object.entries(toTensors(v, dtype, "inputs.state"))) inputs[`state.${sk}`] = sv;
    } else {
      inputs[k] = toTensor(v, dtype, `inputs.${k}`);
    }
  }
  const names = Object.keys(raw).filter((k) => k !== "state" && inputs[k]!.dtype !== "int32");
  const leaves: Record<string, Tensor> = { ...inputs };
  for (const k of names) leaves[k] = inputs[k]!.requireGrad();
  const { output, state } = fn(leaves, (c.attrs ?? {}) as Attrs);
  const result: Record<string, unknown> = { output: await fromTensor(output) };
  if (c.gradOutput !== undefined) {
    const gOut = toTensor(c.gradOutput, dtype, "gradOutput");
    const gs = gradients([output], names.map((k) => leaves[k]!), { gradOutputs: [gOut], allowUnused: true });
    result.grads = await fromTensors(Object.fromEntries(names.map((k, i) => [k, gs[i]!])));
  }
  if (state) result.state = await fromTensors(Object.fromEntries(Object.entries(state).filter((e): e is [string, Tensor] => e[1] !== null && e[1] !== undefined)));
  return result;
}
