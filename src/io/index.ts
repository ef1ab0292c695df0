/** Public exports of src/io: file formats and atomic writes. */
export { writeFileAtomic } from "./atomic.js";
