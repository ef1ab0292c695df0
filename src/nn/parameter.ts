/**
 * Parameter: a learnable tensor owned by a module. It is a Tensor (so ops take it directly) whose
 * value can be replaced by an optimizer step through `assign`. Each assign bumps `version`, and
 * backward refuses a graph recorded before the update, instead of silently mixing old and new
 * values (PyTorch's in-place version check).
 *
 * The storage an update replaces is freed at once (back to the backend's pool, where the next
 * step's update takes it) when nothing else can hold it: it was made for this parameter by an
 * optimizer step (`adopt`) and never wrapped by another tensor (a detach, reshape or snapshot
 * marks it shared: tensor/tensor.ts). A graph recorded before the update cannot read it, since
 * backward refuses such a graph. Storage given through `assign` stays the caller's too.
 */
import { ShapeError, DTypeError, fmtShape } from "../errors/errors.js";
import { sameShape } from "../tensor/shape.js";
import type { DataId } from "../backend/backend.js";
import { isShared, markShared, Tensor } from "../tensor/tensor.js";

export class Parameter extends Tensor {
  private _version = 0;

  /** Wraps a tensor's value as a leaf that requires gradients (unless requiresGrad is false). */
  constructor(value: Tensor, requiresGrad = true) {
    super(value.backend, value.dataId, value.shape, value.dtype, requiresGrad);
    markShared(value.dataId);
  }

  override get version(): number {
    return this._version;
  }

  /** Freezes (false) or unfreezes (true) this parameter. */
  override set requiresGrad(value: boolean) {
    this._requiresGrad = value;
  }

  override get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /** Replaces the value (same shape and dtype); clears nothing else, bumps the version. */
  assign(value: Tensor): void {
    if (!sameShape(value.shape, this.shape)) {
      throw new ShapeError(`Parameter.assign: new value has shape ${fmtShape(value.shape)}, parameter has ${fmtShape(this.shape)}`);
    }
    if (value.dtype !== this.dtype) throw new DTypeError(`Parameter.assign: new value is ${value.dtype}, parameter is ${this.dtype}`);
    if (value.backend !== this.backend) throw new DTypeError(`Parameter.assign: new value lives on ${value.backend.name}, parameter on ${this.backend.name}`);
    markShared(value.dataId);
    this.replaceStorage(value.dataId);
  }

  /**
   * @internal Takes `dataId`, fresh storage of this shape and dtype that no other tensor wraps
   * (an optimizer's fused update), as the new value; bumps the version.
   */
  adopt(dataId: DataId): void {
    this.replaceStorage(dataId);
  }

  private replaceStorage(dataId: DataId): void {
    const old = this._dataId;
    this._dataId = dataId;
    this._version++;
    if (old !== dataId && !isShared(old)) this.backend.dispose(old);
  }
}
