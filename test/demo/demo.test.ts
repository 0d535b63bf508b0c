import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_TYPES, SIP_STATUSES } from '../../src/domain/call.js';
import { createDemo, type DemoResult } from '../../src/demo/seed.js';
import { parseDateTime } from '../../src/domain/time.js';
import { openTestStore } from '../helpers/engines.js';
import type { Store } from '../../src/store/store.js';

describe('demo data', () => {
  let store: Store;
  let close: () => Promise<void>;
  let demo: DemoResult;
  const until = parseDateTime('2026-11-27T12:00:00Z')!.seconds;

  beforeAll(async () => {
    ({ store, close } = await openTestStore('sqlite'));
    demo = await createDemo(store, { seed: 3, calls: 6000, until });
  });
  afterAll(() => close?.());

  const allCalls = async () => {
    const out = [];
    let after = null;
    const filter = { startTime: 0, endTime: until, employeeIds: null, tagIds: null, callTypes: null, search: null };
    do {
      const page = await store.calls.list(demo.accountId, filter, 1000, after);
      out.push(...page.calls);
      after = page.next;
    } while (after);
    return out;
  };

  it('creates the requested number of finished calls over the last 90 days', async () => {
    const calls = await allCalls();
    expect(calls).toHaveLength(6000);
    for (const c of calls) {
      const start = parseDateTime(c.start_time)!.seconds;
      const end = parseDateTime(c.end_time)!.seconds;
      expect(start).toBeGreaterThanOrEqual(until - 90 * 86400);
      expect(end).toBeLessThanOrEqual(until);
      expect(c.caller_number).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(c.target_number).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(c.answered).toBe(c.answered_time !== null);
      expect(c.play_record_link !== null).toBe(c.answered);
    }
    expect(new Set(calls.map((c) => c.call_type))).toEqual(new Set(CALL_TYPES));
    expect(new Set(calls.map((c) => c.sip_status))).toEqual(new Set(SIP_STATUSES));
    expect(calls.some((c) => c.caller_number.startsWith('+33'))).toBe(true);
    expect(calls.some((c) => !c.caller_number.startsWith('+33'))).toBe(true);
    expect(calls.filter((c) => c.caller_name).length).toBeGreaterThan(3000);
    expect(calls.filter((c) => c.tags.length).length).toBeGreaterThan(1000);
    expect(calls.some((c) => c.duration_sec > 1800)).toBe(true);
  });

  it('follows office hours and weekdays', async () => {
    const calls = await allCalls();
    const hours = new Array(24).fill(0);
    let weekend = 0;
    for (const c of calls) {
      const d = new Date(c.start_time);
      hours[d.getUTCHours()]++;
      if (d.getUTCDay() === 0 || d.getUTCDay() === 6) weekend++;
    }
    // Paris office hours are 8:00 to 17:00 UTC in winter, 7:00 to 16:00 in summer.
    const office = hours.slice(7, 17).reduce((a, b) => a + b, 0);
    expect(office / calls.length).toBeGreaterThan(0.85);
    expect(weekend / calls.length).toBeLessThan(0.1);
  });

  it('is the same history for the same seed and end', async () => {
    const again = await openTestStore('sqlite');
    try {
      const second = await createDemo(again.store, { seed: 3, calls: 6000, until });
      const filter = { startTime: 0, endTime: until, employeeIds: null, tagIds: null, callTypes: null, search: null };
      const a = await store.calls.list(demo.accountId, filter, 1000, null);
      const b = await again.store.calls.list(second.accountId, filter, 1000, null);
      expect(b.calls).toEqual(a.calls);
      const other = await openTestStore('sqlite');
      const third = await createDemo(other.store, { seed: 4, calls: 6000, until });
      const c = await other.store.calls.list(third.accountId, filter, 1000, null);
      expect(c.calls).not.toEqual(a.calls);
      await other.close();
    } finally {
      await again.close();
    }
  });
});
