/** The descent version: `descent --version`, and `createdBy` in model files; kept equal to package.json by a test. */
export const DESCENT_VERSION = "0.1.0";
