/** Public exports of src/optim (filled in as the folder is built). */
export {};
