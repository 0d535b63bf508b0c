import { CALL_TYPES, type CallType, foldText } from './call.js';
import { ParameterProblems, withArticle } from './errors.js';
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
  /** The query as the OpenAPI document describes it, for the route's schema to check. */
  canonical: Record<string, unknown>;
}

export const LIMIT_MIN = 20;
export const LIMIT_MAX = 1000;
export const LIMIT_DEFAULT = 1000;
export const MAX_IDS = 500;
export const MAX_SEARCH_LENGTH = 200;
/** Page tokens the API issues are far shorter. */
export const PAGE_TOKEN_MAX_LENGTH = 512;

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

/** One value per parameter; a repeated scalar parameter is a problem. */
export function single(query: RawQuery, name: string, problems: ParameterProblems): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    problems.add(`Invalid parameter '${name}': given more than once`);
    return undefined;
  }
  return String(value);
}

/** List parameters may be comma lists, repeated, or both. */
export function listItems(query: RawQuery, name: string): string[] | null {
  const value = query[name];
  if (value === undefined) return null;
  const items = (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return items.length ? items : null;
}

function idList(query: RawQuery, name: string, what: string, problems: ParameterProblems): number[] | null {
  const items = listItems(query, name);
  if (!items) return null;
  if (items.length > MAX_IDS) {
    problems.add(`Invalid parameter '${name}': at most ${MAX_IDS} ${what} ids at once`);
    return null;
  }
  const bad = items.find((item) => !/^\d{1,15}$/.test(item) || Number(item) < 1);
  if (bad !== undefined) {
    problems.add(
      `Invalid parameter '${name}': '${clip(bad)}' is not ${withArticle(what)} id (a comma-separated list of positive integers is expected)`,
    );
    return null;
  }
  return [...new Set(items.map(Number))].sort((a, b) => a - b);
}

/** Unix seconds; undefined when absent or refused (the refusal is among the problems). */
function dateTime(query: RawQuery, name: string, required: boolean, problems: ParameterProblems): number | undefined {
  const text = single(query, name, problems);
  if (text === undefined || text.trim() === '') {
    if (required && !Array.isArray(query[name])) {
      problems.add(`Missing required parameter '${name}' (an ISO 8601 date-time such as 2024-01-01T00:00:00Z)`);
    }
    return undefined;
  }
  const parsed = parseDateTime(text);
  if (!parsed) {
    problems.add(
      `Invalid parameter '${name}': '${clip(text)}' is not an ISO 8601 date-time (expected e.g. 2024-01-15T10:30:00Z or 2024-01-15T10:30:00+01:00)`,
    );
    return undefined;
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

export interface ParsedFilters {
  filter: CallFilter;
  /** The filter parameters as the OpenAPI document describes them: ids as integers, lists as arrays. */
  canonical: Record<string, unknown>;
  /** Whether end_time was given, rather than left to default to now. */
  givenEnd: number | null;
}

/**
 * Reads the filters shared by `GET /calls` and `GET /calls/export`, adding
 * every problem found to `problems`; null when there was any.
 */
export function readCallFilters(query: RawQuery, problems: ParameterProblems, now: number): ParsedFilters | null {
  const startTime = dateTime(query, 'start_time', true, problems);
  const givenEnd = dateTime(query, 'end_time', false, problems);
  const endTime = givenEnd ?? now;
  if (startTime !== undefined && endTime < startTime) {
    problems.add(
      givenEnd === undefined
        ? "Invalid parameter 'start_time': it is in the future and 'end_time' defaults to now"
        : "Invalid parameter 'end_time': it must not be before 'start_time'",
    );
  }

  const typeItems = listItems(query, 'call_types');
  let callTypes: CallType[] | null = null;
  if (typeItems) {
    const unknown = typeItems.find((item) => !CALL_TYPE_ALIASES[item.toLowerCase()]);
    if (unknown !== undefined) {
      problems.add(
        `Invalid parameter 'call_types': unknown call type '${clip(unknown)}' (allowed: ${Object.keys(CALL_TYPE_ALIASES).join(', ')})`,
      );
    } else {
      const types = typeItems.map((item) => CALL_TYPE_ALIASES[item.toLowerCase()]!);
      callTypes = CALL_TYPES.filter((t) => types.includes(t));
    }
  }

  const searchText = single(query, 'search', problems);
  if (searchText !== undefined && searchText.length > MAX_SEARCH_LENGTH) {
    problems.add(`Invalid parameter 'search': at most ${MAX_SEARCH_LENGTH} characters`);
  }
  const employeeIds = idList(query, 'employees', 'employee', problems);
  const tagIds = idList(query, 'tags', 'tag', problems);
  if (problems.any || startTime === undefined) return null;

  const filter: CallFilter = {
    startTime,
    endTime,
    employeeIds,
    tagIds,
    callTypes,
    search: searchText === undefined ? null : parseSearch(searchText),
  };
  const canonical: Record<string, unknown> = { start_time: String(query.start_time).trim() };
  if (givenEnd !== undefined) canonical.end_time = String(query.end_time).trim();
  if (employeeIds) canonical.employees = employeeIds;
  if (tagIds) canonical.tags = tagIds;
  if (typeItems) canonical.call_types = typeItems.map((item) => item.toLowerCase());
  if (searchText !== undefined) canonical.search = searchText;
  return { filter, canonical, givenEnd: givenEnd ?? null };
}

/**
 * Validates the query of `GET /calls` into a filter, or throws one 400 that
 * lists every invalid parameter.
 */
export function parseListCallsQuery(query: RawQuery, accountId: number, now = nowSeconds()): ListCallsQuery {
  const problems = new ParameterProblems();
  const allowed = new Set<string>(LIST_CALLS_PARAMETERS);
  for (const name of Object.keys(query)) {
    if (!allowed.has(name)) problems.add(`Unknown parameter '${clip(name)}'; allowed: ${LIST_CALLS_PARAMETERS.join(', ')}`);
  }
  const filters = readCallFilters(query, problems, now);

  const limitText = single(query, 'limit', problems);
  let limit = LIMIT_DEFAULT;
  if (limitText !== undefined && limitText.trim() !== '') {
    const trimmed = limitText.trim();
    if (!/^\d{1,7}$/.test(trimmed) || Number(trimmed) < LIMIT_MIN || Number(trimmed) > LIMIT_MAX) {
      problems.add(`Invalid parameter 'limit': '${clip(limitText)}' is not an integer from ${LIMIT_MIN} to ${LIMIT_MAX}`);
    } else {
      limit = Number(trimmed);
    }
  }

  const pageText = single(query, 'page', problems)?.trim();
  if (pageText !== undefined && pageText.length > PAGE_TOKEN_MAX_LENGTH) {
    problems.add(`Invalid parameter 'page': at most ${PAGE_TOKEN_MAX_LENGTH} characters`);
  }
  problems.throwIfAny();
  const { filter, canonical, givenEnd } = filters!;
  const page = pageText || null;

  // A page token stays valid for the filters it was issued with; when end_time
  // was left to default, "now" moves, but later pages only go back in time.
  const fingerprint = fingerprintOf([
    accountId,
    filter.startTime,
    givenEnd,
    filter.employeeIds,
    filter.tagIds,
    filter.callTypes,
    filter.search,
  ]);
  return { filter, limit, page, fingerprint, canonical: { ...canonical, limit, ...(page ? { page } : {}) } };
}
