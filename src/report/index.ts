/**
 * Public entry of src/report: HTML reports of run folders (docs/run-folder.md). The CLI imports
 * this folder directly (`descent report RUN`, `descent compare`); src/index.ts does not re-export it.
 */
export { renderRunReport, writeRunReport } from "./run.js";
export { renderCompareReport, writeCompareReport, type CompareRun } from "./compare.js";
export { readRunFolder, type RunData, type RunSummary, type StepRecord, type EpochRecord, type EventRecord, type Misclassified } from "./read.js";
