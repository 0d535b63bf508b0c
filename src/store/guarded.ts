/** Runs one store operation, turning driver errors into the domain's (unavailable, conflict); every sub-store gets one. */
export type Guarded = <T>(operation: () => Promise<T> | T) => Promise<T>;
