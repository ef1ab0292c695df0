/** Public exports of src/schedules (filled in as the folder is built). */
export {};
