import { CALL_TYPES, type CallType, foldText } from './call.js';
import { invalidParameter } from './errors.js';
import { nowSeconds, parseDateTime } from './time.js';
import { fingerprintOf } from './cursor.js';
import { wordTable } from './lookup.js';

/** How a search term is matched: as a run of digits of a number, or as part of a name. */
export type SearchTerm = { kind: 'number'; digits: string } | { kind: 'name'; text: string };

export interface CallFilter {
  /** Unix seconds, both ends inclusive, on the call's start_time. */
  startTime: number;
  endTime: number;
  employeeIds: number[] | null;
  tagIds: number[] | null;
  callTypes: CallType[] | null;
  search: SearchTerm | null;
}

export interface ListCallsQuery {
  filter: CallFilter;
  limit: number;
  page: string | null;
  /** Identifies the account and filters a page token was issued for. */
  fingerprint: string;
}

export const LIMIT_MIN = 20;
export const LIMIT_MAX = 1000;
export const LIMIT_DEFAULT = 1000;
const MAX_IDS = 500;
const MAX_SEARCH_LENGTH = 200;

/** Every spelling of a call type that the documentation uses. */
export const CALL_TYPE_ALIASES: Readonly<Record<string, CallType>> = wordTable({
  inbound: 'inbound',
  incoming: 'inbound',
  outbound: 'outbound',
  outgoing: 'outbound',
  missed: 'missed',
  voicemail: 'voicemail',
});

export const LIST_CALLS_PARAMETERS = [
  'start_time',
  'end_time',
  'employees',
  'tags',
  'call_types',
  'search',
  'limit',
  'page',
] as const;

type RawQuery = Record<string, unknown>;

/** One value per parameter; a repeated scalar parameter is an error. */
function single(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    throw invalidParameter(`Invalid parameter '${name}': given more than once`);
  }
  return String(value);
}

/** List parameters may be comma lists, repeated, or both. */
function list(query: RawQuery, name: string): string[] | null {
  const value = query[name];
  if (value === undefined) return null;
  const items = (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return items.length ? items : null;
}

function idList(query: RawQuery, name: string, what: string): number[] | null {
  const items = list(query, name);
  if (!items) return null;
  if (items.length > MAX_IDS) {
    throw invalidParameter(`Invalid parameter '${name}': at most ${MAX_IDS} ${what} ids at once`);
  }
  const ids = items.map((item) => {
    if (!/^\d{1,15}$/.test(item) || Number(item) < 1) {
      throw invalidParameter(
        `Invalid parameter '${name}': '${clip(item)}' is not a ${what} id (a comma-separated list of positive integers is expected)`,
      );
    }
    return Number(item);
  });
  return [...new Set(ids)].sort((a, b) => a - b);
}

function dateTime(query: RawQuery, name: string, required: boolean): number | undefined {
  const text = single(query, name);
  if (text === undefined || text.trim() === '') {
    if (required) throw invalidParameter(`Missing required parameter '${name}' (an ISO 8601 date-time such as 2024-01-01T00:00:00Z)`);
    return undefined;
  }
  const parsed = parseDateTime(text);
  if (!parsed) {
    throw invalidParameter(
      `Invalid parameter '${name}': '${clip(text)}' is not an ISO 8601 date-time (expected e.g. 2024-01-15T10:30:00Z or 2024-01-15T10:30:00+01:00)`,
    );
  }
  // Stored times are whole seconds: the window keeps every call inside it.
  return name === 'start_time' && parsed.fractional ? parsed.seconds + 1 : parsed.seconds;
}

export function parseSearch(raw: string): SearchTerm | null {
  const text = raw.trim();
  if (text === '') return null;
  const compact = text.replace(/[\s\-.()/]/g, '');
  const number = /^(?:\+|00)?(\d+)$/.exec(compact);
  if (number) {
    // A national number ("06 12 34 56 78") is stored in E.164 ("+33612345678"):
    // without its trunk 0 it still matches, and so does every literal match.
    const national = /^0([1-9]\d{7,})$/.exec(compact);
    return { kind: 'number', digits: national ? national[1]! : number[1]! };
  }
  return { kind: 'name', text: foldText(text).replace(/\s+/g, ' ') };
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Validates the query of `GET /calls` into a filter, or throws a 400 naming the parameter. */
export function parseListCallsQuery(query: RawQuery, accountId: number, now = nowSeconds()): ListCallsQuery {
  const allowed = new Set<string>(LIST_CALLS_PARAMETERS);
  for (const name of Object.keys(query)) {
    if (!allowed.has(name)) {
      throw invalidParameter(`Unknown parameter '${clip(name)}'; allowed: ${LIST_CALLS_PARAMETERS.join(', ')}`);
    }
  }

  const startTime = dateTime(query, 'start_time', true)!;
  const givenEnd = dateTime(query, 'end_time', false);
  const endTime = givenEnd ?? now;
  if (endTime < startTime) {
    throw invalidParameter(
      givenEnd === undefined
        ? "Invalid parameter 'start_time': it is in the future and 'end_time' defaults to now"
        : "Invalid parameter 'end_time': it must not be before 'start_time'",
    );
  }

  const typeItems = list(query, 'call_types');
  let callTypes: CallType[] | null = null;
  if (typeItems) {
    const types = typeItems.map((item) => {
      const type = CALL_TYPE_ALIASES[item.toLowerCase()];
      if (!type) {
        throw invalidParameter(
          `Invalid parameter 'call_types': unknown call type '${clip(item)}' (allowed: inbound, outgoing, outbound, missed, voicemail)`,
        );
      }
      return type;
    });
    callTypes = CALL_TYPES.filter((t) => types.includes(t));
  }

  const searchText = single(query, 'search');
  if (searchText !== undefined && searchText.length > MAX_SEARCH_LENGTH) {
    throw invalidParameter(`Invalid parameter 'search': at most ${MAX_SEARCH_LENGTH} characters`);
  }

  const limitText = single(query, 'limit');
  let limit = LIMIT_DEFAULT;
  if (limitText !== undefined && limitText.trim() !== '') {
    const trimmed = limitText.trim();
    if (!/^\d{1,7}$/.test(trimmed) || Number(trimmed) < LIMIT_MIN || Number(trimmed) > LIMIT_MAX) {
      throw invalidParameter(
        `Invalid parameter 'limit': '${clip(limitText)}' is not an integer from ${LIMIT_MIN} to ${LIMIT_MAX}`,
      );
    }
    limit = Number(trimmed);
  }

  const page = single(query, 'page')?.trim() || null;

  const filter: CallFilter = {
    startTime,
    endTime,
    employeeIds: idList(query, 'employees', 'employee'),
    tagIds: idList(query, 'tags', 'tag'),
    callTypes,
    search: searchText === undefined ? null : parseSearch(searchText),
  };
  // A page token stays valid for the filters it was issued with; when end_time
  // was left to default, "now" moves, but later pages only go back in time.
  const fingerprint = fingerprintOf([
    accountId,
    filter.startTime,
    givenEnd ?? null,
    filter.employeeIds,
    filter.tagIds,
    filter.callTypes,
    filter.search,
  ]);
  return { filter, limit, page, fingerprint };
}
