/**
 * Non-finite values read from a file. A weight of NaN or ±Infinity is never what a user meant to
 * save (training stops at the first non-finite loss), and once loaded it makes every prediction NaN
 * without a word; so loaders of model files and checkpoints refuse it, naming the file, the tensor
 * and the element.
 */
import { FileFormatError } from "../errors/errors.js";
import type { Tensor } from "../tensor/tensor.js";
import { knownHostValues } from "../tensor/host.js";

/**
 * Refuses a float tensor holding NaN or ±Infinity: `<source>: tensor "0.weight" element 17 is NaN`.
 * The tensors were decoded from a file: on a backend that reads asynchronously their host values
 * are known (tensor/host.ts); elsewhere they are read (and not kept, so a loaded model does not
 * hold its weights twice).
 */
export function refuseNonFinite(tensors: Readonly<Record<string, Tensor>>, source: string, prefix = ""): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype === "int32") continue;
    const values = knownHostValues(t) ?? t.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new FileFormatError(`${source}: tensor "${prefix}${name}" element ${i} is ${values[i]}: the file holds a non-finite weight`);
      }
    }
  }
}
