/**
 * The bounds of what a model may allocate, known before it is built. A model file or config names
 * its sizes (outFeatures, outChannels, ...); built blindly, a damaged one claiming 2^28 outputs
 * allocates gigabytes before anything can be compared. buildSequential asks the layer table
 * (specElements in specs.ts) for the values each layer's spec allocates at the shape that reaches
 * it, and refuses the layer before constructing it when the model would pass its budget:
 * MAX_MODEL_ELEMENTS, or, for a saved model, the number of values its weights file holds.
 *
 * The counts mirror the layers' constructors; a test builds every layer type and checks that the
 * count equals what the built layer holds, so the two cannot drift apart.
 */

/** The most values (parameters and buffers) one model may allocate: 2^27, 512 MiB of float32. */
export const MAX_MODEL_ELEMENTS = 2 ** 27;

/** The most values one sample may have after any layer: 2^26. */
export const MAX_SAMPLE_ELEMENTS = 2 ** 26;
