import type { CallColumn, CallSelection } from './call-resource.js';

/**
 * A row array (the driver's array mode, values in `columns` order) seen as
 * the CallSelection it stands for, so that the one mapping from a row to a
 * call (FIELD_SOURCES) builds the call from it. Each column is a getter on a
 * shared prototype reading its index: one small object per row instead of a
 * copy of every column. A million rows as objects cost better-sqlite3 more
 * than the export's query itself.
 */
export function rowViewOf(columns: readonly CallColumn[]): (row: readonly unknown[]) => CallSelection {
  const prototype: Record<string, unknown> = {};
  columns.forEach((column, index) => {
    Object.defineProperty(prototype, column, {
      get(this: { row: readonly unknown[] }) {
        return this.row[index];
      },
    });
  });
  function RowView(this: { row: readonly unknown[] }, row: readonly unknown[]) {
    this.row = row;
  }
  RowView.prototype = prototype;
  const View = RowView as unknown as new (row: readonly unknown[]) => CallSelection;
  return (row) => new View(row);
}
