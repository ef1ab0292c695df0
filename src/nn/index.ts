/** Public exports of src/nn: Module, layers, parameters. */
export { Parameter } from "./parameter.js";
