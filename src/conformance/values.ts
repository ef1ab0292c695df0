/**
 * The value format of conformance cases: a tensor is `{ shape, data, dtype? }` (row-major data,
 * dtype "int32" for integer tensors, otherwise the case's float dtype). Conversion both ways.
 */
import { FileFormatError } from "../errors/errors.js";
import type { DType } from "../tensor/dtype.js";
import { sizeOf } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { tensor } from "../tensor/creation.js";

export interface TensorValue {
  shape: number[];
  data: number[];
  dtype?: "int32";
}

export function isTensorValue(v: unknown): v is TensorValue {
  return typeof v === "object" && v !== null && Array.isArray((v as TensorValue).shape) && Array.isArray((v as TensorValue).data);
}

/** A case tensor as a descent tensor: int32 when marked so, else the case's float dtype. */
export function toTensor(v: unknown, floatDType: DType, where: string): Tensor {
  if (!isTensorValue(v)) throw new FileFormatError(`${where}: expected a tensor { shape, data }`);
  if (sizeOf(v.shape) !== v.data.length) {
    throw new FileFormatError(`${where}: shape [${v.shape.join(",")}] needs ${sizeOf(v.shape)} values, data has ${v.data.length}`);
  }
  return tensor(Float64Array.from(v.data), { shape: v.shape, dtype: v.dtype === "int32" ? "int32" : floatDType });
}

/** A descent tensor as a case tensor, its values read with `await` (any backend). */
export async function fromTensor(t: Tensor): Promise<TensorValue> {
  const out: TensorValue = { shape: [...t.shape], data: Array.from(await t.data()) };
  if (t.dtype === "int32") out.dtype = "int32";
  return out;
}

/** Named descent tensors as case tensors. */
export async function fromTensors(record: Readonly<Record<string, Tensor>>): Promise<Record<string, TensorValue>> {
  const out: Record<string, TensorValue> = {};
  for (const [k, t] of Object.entries(record)) out[k] = await fromTensor(t);
  return out;
}

/** The case's named tensors as descent tensors. */
export function toTensors(record: unknown, floatDType: DType, where: string): Record<string, Tensor> {
  if (typeof record !== "object" || record === null) throw new FileFormatError(`${where}: expected an object of tensors`);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, toTensor(v, floatDType, `${where}.${k}`)]));
}
