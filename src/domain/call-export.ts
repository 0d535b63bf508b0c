import type { CallResource } from './call.js';
import { LIST_CALLS_PARAMETERS, listItems, readCallFilters, single, type CallFilter } from './call-filters.js';
import { ParameterProblems } from './errors.js';
import { formatDateTime, nowSeconds } from './time.js';

/**
 * Exports of the call history: which calls (the list's filters), in which
 * format, with which CSV columns, and how each call becomes a line.
 */

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

/** Every field of the call object, in the order the list serves them. */
export const CALL_FIELDS = [
  'id',
  'call_type',
  'direction',
  'sip_status',
  'caller_number',
  'caller_name',
  'target_number',
  'receiver_number',
  'answered_phone_number',
  'answered',
  'wait_duration_sec',
  'duration_sec',
  'play_record_link',
  'phone_id',
  'answered_phone_id',
  'employee_id',
  'registration_time',
  'start_time',
  'answered_time',
  'end_time',
  'tags',
] as const satisfies ReadonlyArray<keyof CallResource>;
export type CallField = (typeof CALL_FIELDS)[number];

// A field added to the call object and not here fails the typecheck.
true satisfies [keyof CallResource] extends [CallField] ? true : false;

/** The columns of the Calls guide's "Export to CSV" example. */
export const DEFAULT_CSV_FIELDS: readonly CallField[] = [
  'id',
  'call_type',
  'sip_status',
  'caller_number',
  'target_number',
  'duration_sec',
  'start_time',
  'answered',
];

export const EXPORT_CALLS_PARAMETERS = [
  ...LIST_CALLS_PARAMETERS.filter((name) => name !== 'limit' && name !== 'page'),
  'format',
  'fields',
] as const;

export interface ExportCallsQuery {
  filter: CallFilter;
  format: ExportFormat;
  /** CSV columns; NDJSON lines always carry every field. */
  fields: CallField[];
  /** The query as the OpenAPI document describes it, for the route's schema to check. */
  canonical: Record<string, unknown>;
}

type RawQuery = Record<string, unknown>;

const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}…` : text);

/** The format an Accept header prefers among the two, or null when it names neither. */
export function formatFromAccept(accept: string | undefined): ExportFormat | null {
  if (!accept) return null;
  let best: { format: ExportFormat; q: number } | null = null;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const format = type === 'text/csv' ? 'csv' : type === 'application/x-ndjson' ? 'ndjson' : null;
    if (!format) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    if (!best || q > best.q) best = { format, q };
  }
  return best?.format ?? null;
}

/**
 * Validates the query of `GET /calls/export`: the filters of `GET /calls`
 * (parsed by the very same code), `format`, and `fields`. Throws a 400 naming
 * the parameter and what it allows.
 */
export function parseExportCallsQuery(query: RawQuery, accountId: number, accept?: string, now = nowSeconds()): ExportCallsQuery {
  const problems = new ParameterProblems();
  const allowed = new Set<string>(EXPORT_CALLS_PARAMETERS);
  for (const name of Object.keys(query)) {
    if (allowed.has(name)) continue;
    if (name === 'limit' || name === 'page') {
      problems.add(`Invalid parameter '${name}': an export holds every matching call, it has no pages`);
    } else {
      problems.add(`Unknown parameter '${clip(name)}'; allowed: ${EXPORT_CALLS_PARAMETERS.join(', ')}`);
    }
  }

  // The filters by the list's own reader: the same calls, the same messages.
  const filters = readCallFilters(query, problems, now);

  const formatText = single(query, 'format', problems)?.trim();
  let format: ExportFormat | null = null;
  if (formatText === undefined || formatText === '') {
    format = Array.isArray(query.format) ? null : (formatFromAccept(accept) ?? 'csv');
  } else if ((EXPORT_FORMATS as readonly string[]).includes(formatText.toLowerCase())) {
    format = formatText.toLowerCase() as ExportFormat;
  } else {
    problems.add(`Invalid parameter 'format': '${clip(formatText)}' is not a format (allowed: ${EXPORT_FORMATS.join(', ')})`);
  }

  const fieldItems = query.fields === undefined ? null : (listItems(query, 'fields') ?? []);
  let fields = [...DEFAULT_CSV_FIELDS];
  if (fieldItems) {
    const unknown = fieldItems.find((item) => !(CALL_FIELDS as readonly string[]).includes(item));
    if (format !== null && format !== 'csv') {
      problems.add("Invalid parameter 'fields': it chooses CSV columns; NDJSON lines are whole call objects");
    } else if (fieldItems.length === 0) {
      problems.add(`Invalid parameter 'fields': empty (allowed: ${CALL_FIELDS.join(', ')})`);
    } else if (unknown !== undefined) {
      problems.add(`Invalid parameter 'fields': unknown field '${clip(unknown)}' (allowed: ${CALL_FIELDS.join(', ')})`);
    } else {
      fields = [...new Set(fieldItems as CallField[])];
    }
  }
  problems.throwIfAny();

  const canonical: Record<string, unknown> = { ...filters!.canonical, format: format! };
  if (fieldItems) canonical.fields = fields;
  return { filter: filters!.filter, format: format!, fields, canonical };
}

/** `calls-20240101T000000Z-20240131T235959Z.csv`: the window, without characters file systems refuse. */
export function exportFileName(filter: CallFilter, format: ExportFormat): string {
  const compact = (seconds: number) => formatDateTime(seconds).replace(/[-:]/g, '');
  return `calls-${compact(filter.startTime)}-${compact(filter.endTime)}.${format}`;
}

// ---- encoding ----

export interface CallEncoder {
  /** What the file starts with, before any call. */
  header: string;
  /** A batch of calls as lines, each ending with its line break. */
  encode(calls: CallResource[]): string;
}

const NEEDS_QUOTES = /[",\r\n]/;
/** A leading character that makes a spreadsheet read a cell as a formula (OWASP's list). */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?\d+(?:\.\d+)?$/;

/**
 * One text cell: a value a spreadsheet would run as a formula gets a leading
 * apostrophe (caller names come from the outside world), except a plain
 * number such as an E.164 `+33612345678`; then quoted per RFC 4180 if it
 * holds a quote, a comma or a line break.
 */
export function csvText(text: string): string {
  // Phone numbers, the commonest text, need neither.
  if (PLAIN_NUMBER.test(text)) return text;
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Fields whose values are numbers, booleans, fixed words or times: written as they are. */
const PLAIN_FIELDS = new Set<CallField>([
  'id',
  'call_type',
  'direction',
  'sip_status',
  'answered',
  'wait_duration_sec',
  'duration_sec',
  'phone_id',
  'answered_phone_id',
  'employee_id',
  'registration_time',
  'start_time',
  'answered_time',
  'end_time',
]);

type CellOf = (call: CallResource) => string;

function cellOf(field: CallField): CellOf {
  if (field === 'tags') return (call) => csvText(call.tags.map((tag) => tag.name).join(';'));
  if (PLAIN_FIELDS.has(field)) {
    return (call) => {
      const value = call[field];
      return value === null ? '' : String(value);
    };
  }
  return (call) => {
    const value = call[field] as string | null;
    return value === null ? '' : csvText(value);
  };
}

/** RFC 4180: a header row, comma-separated cells, CRLF line breaks. */
export function csvEncoder(fields: readonly CallField[]): CallEncoder {
  const cells = fields.map(cellOf);
  const last = cells.length - 1;
  return {
    header: `${fields.join(',')}\r\n`,
    encode(calls) {
      let out = '';
      for (const call of calls) {
        for (let i = 0; i < last; i++) out += `${cells[i]!(call)},`;
        out += `${cells[last]!(call)}\r\n`;
      }
      return out;
    },
  };
}

/** One call object per line, exactly as the list serves it. */
export const ndjsonEncoder: CallEncoder = {
  header: '',
  encode(calls) {
    let out = '';
    for (const call of calls) out += `${JSON.stringify(call)}\n`;
    return out;
  },
};

export function encoderFor(format: ExportFormat, fields: readonly CallField[]): CallEncoder {
  return format === 'csv' ? csvEncoder(fields) : ndjsonEncoder;
}
