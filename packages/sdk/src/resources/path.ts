/** An id as a path segment; the server answers 400 for anything that is not a positive integer. */
export const id = (value: number | string): string => encodeURIComponent(String(value));
