/** The descent version written into model files (`createdBy`); kept equal to package.json by a test. */
export const DESCENT_VERSION = "0.1.0";
