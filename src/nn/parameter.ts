/**
 * Parameter: a learnable tensor owned by a module. It is a Tensor (so ops take it directly) whose
 * value can be replaced by an optimizer step through `assign`. Each assign bumps `version`, and
 * backward refuses a graph recorded before the update, instead of silently mixing old and new
 * values (PyTorch's in-place version check).
 */
import { ShapeError, DTypeError, fmtShape } from "../errors/errors.js";
import { sameShape } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

export class Parameter extends Tensor {
  private _version = 0;

  /** Wraps a tensor's value as a leaf that requires gradients (unless requiresGrad is false). */
  constructor(value: Tensor, requiresGrad = true) {
    super(value.backend, value.dataId, value.shape, value.dtype, requiresGrad);
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
    this._dataId = value.dataId;
    this._version++;
  }
}
