/**
 * Data types. float32 is the default; float64 runs wherever the CPU backend does (gradcheck and
 * Hessian work); int32 holds labels and indices. Each dtype maps to one typed array type, and a
 * value is never reinterpreted as another dtype's bytes: conversion is always by value.
 */
import { DTypeError } from "../errors/errors.js";

export type DType = "float32" | "float64" | "int32";
export type FloatDType = "float32" | "float64";
export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ["float32", "float64", "int32"];

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === "float32" || dtype === "float64";
}

export function typedArrayFor(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    default:
      return dtype satisfies never;
  }
}

export function dtypeOfArray(values: TypedArray): DType {
  if (values instanceof Float32Array) return "float32";
  if (values instanceof Float64Array) return "float64";
  return "int32";
}

export function assertDType(value: string, where: string): DType {
  if ((DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new DTypeError(`${where}: unknown dtype "${value}" (expected one of ${DTYPES.join(", ")})`);
}

/** Refuses an int tensor where an op computes with real numbers. */
export function requireFloat(op: string, dtype: DType, what = "input"): void {
  if (!isFloat(dtype)) {
    throw new DTypeError(`${op}: expected a floating ${what} (float32 or float64), got ${dtype}`);
  }
}

/** Refuses two tensors of different dtypes meeting in one op. */
export function requireSameDType(op: string, a: DType, b: DType): void {
  if (a !== b) {
    throw new DTypeError(`${op}: dtype mismatch: ${a} and ${b} (cast one of them first)`);
  }
}
