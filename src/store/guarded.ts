/** Runs one store operation, mapping driver errors onto domain errors: what each sub-store receives from `Store`. */
export type Guarded = <T>(operation: () => Promise<T> | T) => Promise<T>;
