/** Public exports of src/diagnose: explanations of training (the browser-safe parts; run folders are the CLI's). */
export { hessianOf, symmetricEigen, classifyCriticalPoint } from "./hessian.js";
export type { HessianResult, EigenResult, CriticalPoint } from "./hessian.js";
export { lanczos, hutchinsonTrace, spectralDensity } from "./lanczos.js";
export type { MatVec, LanczosOptions, LanczosResult, RitzPair, TraceEstimate, SpectralDensity, DensityOptions } from "./lanczos.js";
export { lossFunctionOf, float64Twin } from "./operator.js";
export type { LossFunctionOf } from "./operator.js";
export { analyzeCriticalPoint, classifyPoint } from "./critical.js";
export type { CriticalPointAnalysis, CriticalOptions, PointClass, LineSearch } from "./critical.js";
export { DIAGNOSIS_CODES, DIAGNOSIS_CODE_NAMES, finding } from "./codes.js";
export type { DiagnosisCode, Finding, Severity, LayerRef } from "./codes.js";
export { findingsOf, lossProgress } from "./findings.js";
export type { RunEvidence, ErrorSet, StepPoint, Findings, Progress } from "./findings.js";
export { gradcheckModel } from "./gradcheck-model.js";
export type { ModelGradcheck, TensorCheck, GradcheckVerdict, ModelGradcheckOptions } from "./gradcheck-model.js";
