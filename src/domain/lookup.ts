/**
 * A table of words looked up with text a client sent. Its lookups see only its
 * own entries: `table['constructor']` or `table['__proto__']` is undefined,
 * never a function or object inherited from Object.prototype.
 */
export function wordTable<T extends Record<string, unknown>>(entries: T): Readonly<T> {
  return Object.freeze(Object.assign(Object.create(null) as T, entries));
}
