/** A page of a list read in id order (tags, employees, phones). */
export interface DirectoryPage<T> {
  items: T[];
  /** The id the next page starts after, or null on the last page. */
  next: number | null;
}

/** Cuts a list read with one row too many into a page and where the next one starts. */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): DirectoryPage<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, next: more ? items[items.length - 1]!.id : null };
}
