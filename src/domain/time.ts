/**
 * Date-times on the wire: RFC 3339 / ISO 8601 with `Z` or an offset and any
 * number of fractional digits. A space is taken where `+` was meant, because an
 * unencoded `+` in a query string arrives as a space.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+\- ]\d{2}(?::?\d{2})?)$/;

export interface ParsedInstant {
  /** Whole Unix seconds, rounded down. */
  seconds: number;
  /** True when the text had a non-zero fraction of a second. */
  fractional: boolean;
}

export function parseDateTime(text: string): ParsedInstant | null {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m as unknown as string[];
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const seconds = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offsetMinutes * 60;
  return { seconds, fractional: /[1-9]/.test(frac) };
}

let lastDay = NaN;
let lastDayPrefix = '';
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * Unix seconds to the wire format: UTC, whole seconds, `Z`. A page formats four
 * times per call and most share a day, so the date part is kept from the last call.
 */
export function formatDateTime(seconds: number): string {
  const day = Math.floor(seconds / 86400);
  if (day !== lastDay) {
    lastDay = day;
    lastDayPrefix = new Date(day * 86400000).toISOString().slice(0, 11);
  }
  const inDay = seconds - day * 86400;
  return `${lastDayPrefix}${two(Math.floor(inDay / 3600))}:${two(Math.floor(inDay / 60) % 60)}:${two(inDay % 60)}Z`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
