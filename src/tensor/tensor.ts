/**
 * Tensor: an immutable value with a shape, a dtype, a handle to its backend's storage, and, when it
 * takes part in differentiation, the GradNode of the op that made it. Ops never change a tensor;
 * they make new ones (reshape shares storage, which is safe because storage is never written).
 * The one mutable thing is `grad`, where `backward()` accumulates gradients of leaves.
 *
 * A tensor that wraps another's storage (reshape, detach, requireGrad, a module's snapshot, a
 * Parameter around its initial value) is made with `sharingStorage`, which marks that storage
 * shared. A Parameter frees the storage an optimizer step replaces only when it was never shared
 * (nn/parameter.ts), so the next step takes the same array back instead of new memory.
 *
 * Methods are thin conveniences over the functions in src/ops, which hold the math.
 */
import type { Backend, DataId } from "../backend/backend.js";
import type { GradNode } from "../autograd/graph.js";
import { DTypeError, GradError, ShapeError } from "../errors/errors.js";
import type { DType, TypedArray } from "./dtype.js";
import { sizeOf, type Shape } from "./shape.js";
import { formatTensor } from "./format.js";
import * as E from "../ops/elementwise.js";
import * as A from "../ops/activations.js";
import * as R from "../ops/reduce.js";
import * as M from "../ops/movement.js";
import * as L from "../ops/linalg.js";
import { backward as runBackward, type BackwardOptions } from "../autograd/backward.js";
import { settleChecks } from "../ops/checks.js";

export type Scalar = number;
export type TensorOrScalar = Tensor | number;
export type NestedArray = number | NestedArray[];

/** Storage that more than one tensor has wrapped: see the file header. */
const sharedStorage = new WeakSet<DataId>();

/** @internal Marks storage as wrapped by more than one tensor (or held by a caller): it is never freed early. */
export function markShared(id: DataId): void {
  sharedStorage.add(id);
}

/** @internal Whether storage was ever wrapped by a second tensor (markShared). */
export function isShared(id: DataId): boolean {
  return sharedStorage.has(id);
}

/** @internal A tensor over x's storage with another shape (or leaf status): the storage is marked shared. */
export function sharingStorage(x: Tensor, shape: Shape, requiresGrad = false): Tensor {
  markShared(x.dataId);
  return new Tensor(x.backend, x.dataId, shape, x.dtype, requiresGrad);
}

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  readonly backend: Backend;
  private _grad: Tensor | null = null;
  /** whether _grad is this leaf's alone: made for it by backward, and not read through `grad` since */
  private _gradAlone = false;
  protected _dataId: DataId;
  protected _requiresGrad: boolean;
  private _node: GradNode | null = null;

  /** @internal Tensors are made by creation functions and ops, not by `new`. */
  constructor(backend: Backend, dataId: DataId, shape: Shape, dtype: DType, requiresGrad = false) {
    this.backend = backend;
    this._dataId = dataId;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this._requiresGrad = requiresGrad;
  }

  /**
   * Gradient accumulated here by `backward()` when this is a leaf that requires gradients. A
   * gradient backward made for this leaf alone, and that no one has read here, is freed when the
   * leaf lets go of it (set to null by zeroGrad, or summed with the next backward's), so a training
   * loop reuses its storage; one read here stays valid for as long as its reader holds it.
   */
  get grad(): Tensor | null {
    this._gradAlone = false;
    return this._grad;
  }

  set grad(value: Tensor | null) {
    this.setGrad(value, false);
  }

  /**
   * @internal Sets the gradient; `alone`: storage no one else holds or can reach (backward's own).
   * The gradient it replaces is freed when it was this leaf's alone.
   */
  setGrad(value: Tensor | null, alone: boolean): void {
    const old = this._grad;
    if (old && this._gradAlone && old !== value && !isShared(old.dataId)) old.backend.dispose(old.dataId);
    this._grad = value;
    this._gradAlone = alone && value !== null;
  }

  /** @internal The gradient, without counting as a read that may keep it (an optimizer's fused step, which keeps nothing). */
  peekGrad(): Tensor | null {
    return this._grad;
  }

  /** @internal The backend storage handle. */
  get dataId(): DataId {
    return this._dataId;
  }

  /** @internal The op that made this tensor, when it was recorded. */
  get node(): GradNode | null {
    return this._node;
  }

  /** @internal Set once by autograd's `record`, before the tensor is handed out. */
  _attach(node: GradNode): void {
    this._node = node;
  }

  /** Bumped when a Parameter's value is replaced; always 0 for plain tensors. */
  get version(): number {
    return 0;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True for a leaf marked to require gradients, and for every result computed from one. */
  get requiresGrad(): boolean {
    return this._requiresGrad || this._node !== null;
  }

  get isLeaf(): boolean {
    return this._node === null;
  }

  /** A leaf with the same storage that requires gradients (tensors themselves never change). */
  requireGrad(): Tensor {
    return sharingStorage(this, this.shape, true);
  }

  /**
   * Reads the values (a copy). With `expected`, refuses a tensor of another dtype. On an
   * asynchronous backend, a value check an op deferred (an index out of range) throws here first.
   */
  async data(expected?: DType): Promise<TypedArray> {
    this.checkReadable(expected);
    await settleChecks(this.backend);
    return this.backend.read(this._dataId);
  }

  /** Reads the values synchronously (a copy); only backends with synchronous storage allow it. */
  dataSync(expected?: DType): TypedArray {
    this.checkReadable(expected);
    if (!this.backend.readSync) {
      throw new DTypeError(`dataSync: the ${this.backend.name} backend reads asynchronously; use await t.data()`);
    }
    return this.backend.readSync(this._dataId);
  }

  /** The value of a one-element tensor as a number. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: expected a tensor with one element, got shape [${this.shape.join(",")}]`);
    return this.dataSync()[0]!;
  }

  /** The values as nested arrays, like PyTorch's `tolist()`. */
  toArray(): NestedArray {
    const v = this.dataSync();
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.rank) return v[off]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    if (!this.backend.readSync) return `tensor(<${this.backend.name}>, shape=[${this.shape.join(", ")}], dtype=${this.dtype})`;
    return formatTensor(this.dataSync(), this.shape, this.dtype, this.requiresGrad);
  }

  /** Frees the storage now instead of when garbage is collected (matters for wasm and webgpu). */
  dispose(): void {
    this.backend.dispose(this._dataId);
  }

  private checkReadable(expected?: DType): void {
    if (expected !== undefined && expected !== this.dtype) {
      throw new DTypeError(`data: expected a ${expected} tensor, this one is ${this.dtype} (cast it first)`);
    }
  }

  /**
   * Accumulates d(this)/d(leaf) into every leaf's `grad`; see autograd/backward.ts. The options
   * may come first when there is no gradient to give: `loss.backward({ retainGraph: true })`.
   */
  backward(gradient?: Tensor | BackwardOptions, options: BackwardOptions = {}): void {
    if (gradient === undefined || gradient instanceof Tensor) runBackward(this, gradient, options);
    else runBackward(this, undefined, gradient);
  }

  // elementwise
  add(other: TensorOrScalar): Tensor { return E.add(this, other); }
  sub(other: TensorOrScalar): Tensor { return E.sub(this, other); }
  mul(other: TensorOrScalar): Tensor { return E.mul(this, other); }
  div(other: TensorOrScalar): Tensor { return E.div(this, other); }
  pow(exponent: TensorOrScalar): Tensor { return E.pow(this, exponent); }
  neg(): Tensor { return E.neg(this); }
  exp(): Tensor { return E.exp(this); }
  log(): Tensor { return E.log(this); }
  sqrt(): Tensor { return E.sqrt(this); }
  abs(): Tensor { return E.abs(this); }
  square(): Tensor { return E.square(this); }
  clamp(min: number, max: number): Tensor { return E.clamp(this, min, max); }
  maximum(other: TensorOrScalar): Tensor { return E.maximum(this, other); }
  minimum(other: TensorOrScalar): Tensor { return E.minimum(this, other); }
  eq(other: TensorOrScalar): Tensor { return E.eq(this, other); }
  ne(other: TensorOrScalar): Tensor { return E.ne(this, other); }
  lt(other: TensorOrScalar): Tensor { return E.lt(this, other); }
  le(other: TensorOrScalar): Tensor { return E.le(this, other); }
  gt(other: TensorOrScalar): Tensor { return E.gt(this, other); }
  ge(other: TensorOrScalar): Tensor { return E.ge(this, other); }
  // activations
  sigmoid(): Tensor { return A.sigmoid(this); }
  tanh(): Tensor { return A.tanh(this); }
  relu(): Tensor { return A.relu(this); }
  softmax(dim: number): Tensor { return A.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return A.logSoftmax(this, dim); }
  // reductions
  sum(dim?: number | readonly number[], keepdim = false): Tensor { return R.sum(this, dim, keepdim); }
  mean(dim?: number | readonly number[], keepdim = false): Tensor { return R.mean(this, dim, keepdim); }
  max(dim?: number | readonly number[], keepdim = false): Tensor { return R.max(this, dim, keepdim); }
  min(dim?: number | readonly number[], keepdim = false): Tensor { return R.min(this, dim, keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return R.argmax(this, dim, keepdim); }
  // movement
  reshape(shape: readonly number[]): Tensor { return M.reshape(this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return M.flatten(this, startDim, endDim); }
  squeeze(dim?: number): Tensor { return M.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return M.unsqueeze(this, dim); }
  permute(dims: readonly number[]): Tensor { return M.permute(this, dims); }
  transpose(dim0 = -2, dim1 = -1): Tensor { return M.transpose(this, dim0, dim1); }
  expand(shape: readonly number[]): Tensor { return M.expand(this, shape); }
  detach(): Tensor { return M.detach(this); }
  cast(dtype: DType): Tensor { return M.cast(this, dtype); }
  // linear algebra
  matmul(other: Tensor): Tensor { return L.matmul(this, other); }
}
