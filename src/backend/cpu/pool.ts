/**
 * Recycled storage for the cpu-family backends. A large typed array fresh from the allocator costs
 * more than the kernel that fills it: the C library maps new pages for it and the kernel faults
 * each 4 KiB page in on first write (1-1.5 ms for the 3 MB activations of the W2 CNN, against
 * 0.2 ms for its SIMD ReLU), and the garbage collector then runs more often for the external
 * memory. Storage the autograd engine knows to be dead (a backward rule's temporaries and spent
 * gradients, src/autograd/backward.ts) comes back here through `dispose`, and the next kernel of
 * the same dtype and size takes it instead of a new array.
 *
 * Bounded: arrays below MIN_BYTES are left to the allocator (V8 keeps typed arrays of up to 64
 * bytes in its own heap, nearly free; a larger one costs 0.6-1.2 µs of the C allocator and an
 * ArrayBuffer, measured at 64-1,000 floats), and the pool holds at most MAX_BYTES in all; past
 * that, given arrays are dropped for the collector.
 * `take(…, zeroed)` clears a recycled array only when the kernel relies on zeros (scatter-add,
 * col2im, a zero fill); kernels that write every element take it as it is.
 */
import { dtypeOfArray, typedArrayFor, type DType, type TypedArray } from "../../tensor/dtype.js";

const MIN_BYTES = 128;
const MAX_BYTES = 256 * 2 ** 20;
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

export class BufferPool {
  private readonly free = new Map<string, TypedArray[]>();
  private bytes = 0;

  /** An array of `size` elements of `dtype`: recycled where one is free (cleared if `zeroed`), else new (zero). */
  take(dtype: DType, size: number, zeroed: boolean): TypedArray {
    if (size * BYTES[dtype] >= MIN_BYTES) {
      const recycled = this.free.get(`${dtype}:${size}`)?.pop();
      if (recycled) {
        this.bytes -= recycled.byteLength;
        if (zeroed) recycled.fill(0);
        return recycled;
      }
    }
    return typedArrayFor(dtype, size);
  }

  /** Takes back an array nothing refers to any more. */
  give(values: TypedArray): void {
    if (values.byteLength < MIN_BYTES || this.bytes + values.byteLength > MAX_BYTES) return;
    const key = `${dtypeOfArray(values)}:${values.length}`;
    const list = this.free.get(key);
    if (list) list.push(values);
    else this.free.set(key, [values]);
    this.bytes += values.byteLength;
  }

  /** Bytes held for reuse. */
  get heldBytes(): number {
    return this.bytes;
  }
}
