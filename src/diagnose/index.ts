/** Public exports of src/diagnose: explanations of training. */
export { hessianOf, symmetricEigen, classifyCriticalPoint } from "./hessian.js";
export type { HessianResult, EigenResult, CriticalPoint } from "./hessian.js";
