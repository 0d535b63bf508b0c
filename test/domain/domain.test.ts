import { describe, expect, it } from 'vitest';
import { deriveCall, foldText, searchNumbersOf, sipStatusFromCode } from '../../src/domain/call.js';
import { parseListCallsQuery, parseSearch } from '../../src/domain/call-filters.js';
import { CursorCodec } from '../../src/domain/cursor.js';
import { ApiError, errorRegistry } from '../../src/domain/errors.js';
import { formatDateTime, parseDateTime } from '../../src/domain/time.js';

describe('date-times', () => {
  it.each([
    ['2024-01-15T10:30:00Z', 1705314600, false],
    ['2024-01-15T10:30:00.123456Z', 1705314600, true],
    ['2024-01-15T10:30:00.000Z', 1705314600, false],
    ['2024-01-15T10:30:00.999999999Z', 1705314600, true],
    ['2024-01-15T11:30:00+01:00', 1705314600, false],
    ['2024-01-15T05:30:00-05:00', 1705314600, false],
    ['2024-01-15T11:30:00+0100', 1705314600, false],
    ['2024-01-15T11:30:00 01:00', 1705314600, false],
    ['2024-01-15 10:30:00Z', 1705314600, false],
    ['2024-01-15t10:30:00z', 1705314600, false],
    ['2024-01-15T10:30Z', 1705314600, false],
    ['2024-02-29T00:00:00Z', 1709164800, false],
  ])('reads %s', (text, seconds, fractional) => {
    expect(parseDateTime(text)).toEqual({ seconds, fractional });
  });

  it.each([
    'yesterday', '2024-01-15', '2024-01-15T10:30:00', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-15T24:00:00Z',
    '2024-01-15T10:60:00Z', '2024-01-15T10:30:61Z', '2024-13-01T00:00:00Z', '2024-01-15T10:30:00+25:00', '0999-01-01T00:00:00Z',
    '2024-01-15T10:30:00+00:00Z', '',
  ])('refuses %j', (text) => {
    expect(parseDateTime(text)).toBeNull();
  });

  it('writes UTC with Z and whole seconds', () => {
    expect(formatDateTime(1705314600)).toBe('2024-01-15T10:30:00Z');
    // The fast path agrees with the standard library across days, leap years and the epoch.
    for (let s = -86400 * 3; s < 4102444800; s += 86400 * 97 + 3607) {
      for (const t of [s, s + 59, s + 3599, s + 86399]) {
        expect(formatDateTime(t)).toBe(`${new Date(t * 1000).toISOString().slice(0, 19)}Z`);
      }
    }
  });
});

describe('call model', () => {
  it.each([
    [200, 'answer'], [487, 'cancel'], [408, 'no_answer'], [480, 'no_answer'], [486, 'busy'], [600, 'busy'],
    [404, 'unavailable'], [410, 'unavailable'], [484, 'unavailable'], [503, 'unavailable'], [603, 'unavailable'],
    [500, 'other'], [403, 'other'], [0, 'other'],
  ])('maps SIP %i to %s', (code, status) => {
    expect(sipStatusFromCode(code)).toBe(status);
  });

  const base = { callerNumber: '+33612345678', targetNumber: '+33198765432', startTime: 1000, endTime: 1130 };
  it('derives an answered call', () => {
    const c = deriveCall({ ...base, direction: 'inbound', sipCode: 200, answeredTime: 1010, answeredPhoneNumber: '+33198765432' });
    expect(c).toMatchObject({ callType: 'inbound', answered: true, waitDurationSec: 10, durationSec: 120, sipStatus: 'answer' });
  });
  it('derives missed, voicemail and outbound calls', () => {
    expect(deriveCall({ ...base, direction: 'inbound', sipCode: 487 })).toMatchObject({
      callType: 'missed', answered: false, waitDurationSec: 130, durationSec: 0, answeredPhoneNumber: null,
    });
    expect(deriveCall({ ...base, direction: 'inbound', sipCode: 480, voicemail: true }).callType).toBe('voicemail');
    expect(deriveCall({ ...base, direction: 'outbound', sipCode: 486 })).toMatchObject({ callType: 'outbound', sipStatus: 'busy' });
  });
  it('never derives negative durations from incoherent times', () => {
    const c = deriveCall({ ...base, direction: 'inbound', sipCode: 200, answeredTime: 1200, endTime: 900 });
    expect(c.endTime).toBe(1200);
    expect(c.durationSec).toBe(0);
    expect(c.waitDurationSec).toBe(200);
  });
  it('indexes digits of each number and folded names', () => {
    expect(searchNumbersOf(['+33 6 12', null, '(01) 23'])).toBe('33612 0123');
    expect(foldText('Élodie DUPONT-Müller')).toBe('elodie dupont-muller');
  });
});

describe('search terms', () => {
  it.each([
    ['+33612345678', { kind: 'number', digits: '33612345678' }],
    [' 33612345678', { kind: 'number', digits: '33612345678' }],
    ['0033 6 12', { kind: 'number', digits: '33612' }],
    ['(612) 345-678', { kind: 'number', digits: '612345678' }],
    ['06.12.34', { kind: 'number', digits: '061234' }],
    ['06 12 34 56 78', { kind: 'number', digits: '612345678' }],
    ['01 98 76 54 32', { kind: 'number', digits: '198765432' }],
    ['Élodie  Dupont', { kind: 'name', text: 'elodie dupont' }],
    ['Agence 42', { kind: 'name', text: 'agence 42' }],
    ['   ', null],
  ])('reads %j', (text, term) => {
    expect(parseSearch(text)).toEqual(term);
  });
});

describe('list query', () => {
  it('applies defaults and normalises lists', () => {
    const q = parseListCallsQuery({ start_time: '2024-01-01T00:00:00Z', employees: '3, 1,3,', call_types: 'outgoing,Missed' }, 1, 2_000_000_000);
    expect(q.limit).toBe(1000);
    expect(q.filter).toMatchObject({ endTime: 2_000_000_000, employeeIds: [1, 3], callTypes: ['outbound', 'missed'], tagIds: null });
  });
  it('gives the same fingerprint to the same filters written differently', () => {
    const a = parseListCallsQuery({ start_time: '2024-01-01T00:00:00Z', tags: '2,1', limit: '20' }, 1);
    const b = parseListCallsQuery({ start_time: '2024-01-01T01:00:00+01:00', tags: '1,2,2' }, 1);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(parseListCallsQuery({ start_time: '2024-01-01T00:00:00Z', tags: '1' }, 1).fingerprint).not.toBe(a.fingerprint);
    // A token of one account means nothing to another.
    expect(parseListCallsQuery({ start_time: '2024-01-01T00:00:00Z', tags: '1,2' }, 2).fingerprint).not.toBe(a.fingerprint);
  });
});

describe('page tokens', () => {
  const codec = new CursorCodec(Buffer.alloc(32, 7));
  it('round-trips a position for the same filters only', () => {
    const token = codec.encode([1705314600, 42], 'fp1');
    expect(codec.decode(token, 'fp1', 2)).toEqual([1705314600, 42]);
    expect(codec.decode(token, 'fp2', 2)).toBe('filters');
    expect(new CursorCodec(Buffer.alloc(32, 8)).decode(token, 'fp1', 2)).toBe('tampered');
    expect(codec.decode('x', 'fp1', 2)).toBe('malformed');
    expect(codec.decode(`${token}x`, 'fp1', 2)).toBe('tampered');
    // A token of a list with another sort key is not taken for this one's.
    expect(codec.decode(codec.encode([42], 'fp1'), 'fp1', 2)).toBe('malformed');
  });
});

describe('error registry', () => {
  it('is pinned: codes and statuses are part of the API', () => {
    expect(Object.fromEntries(Object.entries(errorRegistry).map(([code, e]) => [code, e.status]))).toEqual({
      INVALID_PARAMETER: 400,
      INVALID_BODY: 400,
      INVALID_PAGE_TOKEN: 400,
      MALFORMED_AUTHORIZATION: 401,
      MISSING_TOKEN: 401,
      INVALID_TOKEN: 401,
      INVALID_CLIENT: 401,
      INVALID_LOGIN: 401,
      NO_SESSION: 401,
      INSUFFICIENT_SCOPE: 403,
      CSRF: 403,
      ADMIN_ONLY: 403,
      NOT_FOUND: 404,
      ROUTE_NOT_FOUND: 404,
      METHOD_NOT_ALLOWED: 405,
      CONFLICT: 409,
      NO_RECORDING: 409,
      GONE: 410,
      BAD_URL: 400,
      BODY_TOO_LARGE: 413,
      PATH_PARAMETER_TOO_LONG: 414,
      UNSUPPORTED_MEDIA_TYPE: 415,
      SIGN_IN_LOCKED: 429,
      RATE_LIMITED: 429,
      INTERNAL: 500,
      STORE_UNAVAILABLE: 503,
      SHUTTING_DOWN: 503,
      CLICK_TO_CALL_OFF: 503,
      AI_OFF: 503,
    });
    expect(new ApiError('NOT_FOUND', 'Call').messages).toEqual(['Call not found']);
  });
});
