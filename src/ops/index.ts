/** Every op, by family. */
export * from "./elementwise.js";
export * from "./activations.js";
export * from "./reduce.js";
export * from "./movement.js";
export * from "./linalg.js";
export * from "./conv.js";
export * from "./window.js";
export * from "./pool.js";
export * from "./norm.js";
export * from "./dropout.js";
