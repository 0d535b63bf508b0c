import { recordFromCallObject } from '../call-object.js';
import type { FormatOptions, ParsedItem } from '../record.js';
import { isBlankRow, itemOf, readCsvBatches } from './text-records.js';

/**
 * SIPSIM's own CSV: a header row naming call-object fields, then one call per
 * row. The guide's export program writes `id, call_type, sip_status,
 * caller_number, target_number, duration_sec, start_time, answered`; any other
 * field of the call object may be a column too. Cells are text, so they are
 * typed here and the call object's own rules do the rest.
 */

const INTEGER_COLUMNS = new Set([
  'id',
  'wait_duration_sec',
  'duration_sec',
  'phone_id',
  'answered_phone_id',
  'employee_id',
  'sip_code',
]);
const BOOLEAN_COLUMNS = new Set(['answered']);
const TAG_COLUMNS = new Set(['tags']);

/** Every column this format understands; others are ignored. */
export const SIPSIM_CSV_COLUMNS = [
  'id', 'pbx_id', 'call_type', 'direction', 'sip_status', 'sip_code', 'caller_number', 'caller_name',
  'target_number', 'receiver_number', 'answered_phone_number', 'answered', 'wait_duration_sec', 'duration_sec',
  'play_record_link', 'phone_id', 'answered_phone_id', 'employee_id', 'registration_time', 'start_time',
  'answered_time', 'end_time', 'tags',
] as const;
const KNOWN = new Set<string>(SIPSIM_CSV_COLUMNS);

/** `True`, as Python's csv module writes it, counts as much as `true` and `1`. */
function booleanCell(text: string): boolean | string {
  switch (text.toLowerCase()) {
    case 'true':
    case '1':
    case 'yes':
      return true;
    case 'false':
    case '0':
    case 'no':
      return false;
    default:
      return text;
  }
}

function tagsCell(text: string): unknown {
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all: read it as a list of names.
    }
  }
  return text.split(/[;|]/).map((name) => name.trim()).filter((name) => name !== '');
}

/** A CSV cell as the call-object value it stands for; unreadable text is passed on for a precise refusal. */
function cellValue(column: string, text: string): unknown {
  if (INTEGER_COLUMNS.has(column)) return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
  if (BOOLEAN_COLUMNS.has(column)) return booleanCell(text);
  if (TAG_COLUMNS.has(column)) return tagsCell(text);
  return text;
}

function headerOf(fields: string[]): string[] | string {
  const columns = fields.map((f) => f.trim().toLowerCase().replace(/[\s-]+/g, '_'));
  if (!columns.includes('start_time') || !columns.some((c) => c === 'id' || c === 'pbx_id')) {
    return 'the first line must be a header naming the columns, with start_time and id or pbx_id among them';
  }
  const seen = new Set<string>();
  for (const column of columns) {
    if (column !== '' && seen.has(column)) return `the header names the column ${column} twice`;
    seen.add(column);
  }
  return columns;
}

export async function* readSipsimCsv(path: string, options: FormatOptions): AsyncGenerator<ParsedItem> {
  let columns: string[] | null = null;
  for await (const batch of readCsvBatches(path)) {
    for (const row of batch) {
      if (row.fields === undefined) {
        yield itemOf(path, row.line, row.raw, row.error ?? 'unreadable row');
        continue;
      }
      if (isBlankRow(row.fields)) continue;
      if (columns === null) {
        const header = headerOf(row.fields);
        if (typeof header === 'string') throw new Error(`${path}, line ${row.line}: ${header}`);
        columns = header;
        continue;
      }
      if (row.fields.length !== columns.length) {
        yield itemOf(path, row.line, row.raw, `the row has ${row.fields.length} cells but the header has ${columns.length} columns`);
        continue;
      }
      const call: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i]!;
        if (!KNOWN.has(column)) continue;
        const text = row.fields[i]!.trim();
        // An empty tags cell clears the tags; other empty cells are absent fields.
        if (text === '') {
          if (column === 'tags') call.tags = [];
          continue;
        }
        call[column] = cellValue(column, text);
      }
      const result = recordFromCallObject(call, options);
      yield itemOf(path, row.line, row.raw, result);
    }
  }
}
