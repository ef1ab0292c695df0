/** Public exports of src/losses (filled in as the folder is built). */
export {};
