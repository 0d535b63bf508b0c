import { invalidParameter } from '../../../domain/errors.js';
import { parseDateTime } from '../../../domain/time.js';

/** A query string as the dashboard's routes read it: by hand, so that they word each refusal themselves. */
export type Query = Record<string, string | string[] | undefined>;

const EXAMPLE = 'an ISO 8601 date-time such as 2024-01-15T00:00:00+01:00';

/** A window end from the query string; `from` rounds up as the calls list's start_time does, so both cover the same calls. */
export function instant(query: Query, name: 'from' | 'to' | 'since', required: boolean): number | undefined {
  const raw = query[name];
  if (Array.isArray(raw)) throw invalidParameter(`Invalid parameter '${name}': give it once`);
  if (raw === undefined || raw.trim() === '') {
    if (required) throw invalidParameter(`Missing required parameter '${name}' (${EXAMPLE})`);
    return undefined;
  }
  const parsed = parseDateTime(raw);
  if (!parsed) throw invalidParameter(`Invalid parameter '${name}': '${raw.slice(0, 64)}' is not ${EXAMPLE}`);
  return name === 'from' && parsed.fractional ? parsed.seconds + 1 : parsed.seconds;
}

/** A positive integer up to `max` from the query string or the path, or undefined when absent or empty. */
export function positiveInteger(raw: unknown, name: string, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw invalidParameter(`Invalid parameter '${name}': expected an integer from 1 to ${max}`);
  }
  return Number(raw);
}
