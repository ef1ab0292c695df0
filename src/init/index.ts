/** Public exports of src/init (filled in as the folder is built). */
export {};
