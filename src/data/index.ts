/** Public exports of src/data (filled in as the folder is built). */
export {};
