import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

const SALES = '+33198765432';

describeEngines('events of one call posted at once', (engine) => {
  let h: ApiHarness;
  let basic: string;
  beforeAll(async () => {
    h = await createHarness(engine);
    const employee = (await h.store.directory.createEmployee(h.accountId, { name: 'Marie Lefèvre' })).id;
    await h.store.directory.createPhone(h.accountId, { number: '+33198765401', name: 'Marie', internalNumber: 101, employeeId: employee });
    await h.store.directory.createPhone(h.accountId, { number: SALES, name: 'Sales line' });
    const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.write' });
    basic = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
  });
  afterAll(() => h?.close());

  it('takes every event, once, and makes each call whole whatever order its requests ran in', async () => {
    const calls = 25;
    const bodies: unknown[] = [];
    for (let c = 0; c < calls; c++) {
      const t = Date.UTC(2025, 3, 1, 9, 0, 0) / 1000 + c * 120;
      const caller = `+3361200${String(c).padStart(4, '0')}`;
      const events = [
        { event: 'incoming_call_start', pbx_id: `api-${c}`, caller, receiver: SALES, time: t },
        { event: 'incoming_call_answer', pbx_id: `api-${c}`, caller, receiver: '101', time: t + 3 },
        { event: 'incoming_call_end', pbx_id: `api-${c}`, caller, receiver: SALES, time: t + 63, duration: 60, status: 'ANSWER' },
      ];
      bodies.push(...(c % 3 === 0 ? events.reverse() : events));
    }
    // Every event posted twice, all at once: one of each pair is taken, the other is a duplicate.
    const responses = await Promise.all(
      [...bodies, ...bodies].map((body) =>
        h.app.inject({ method: 'POST', url: '/api/v2/pbx/events', headers: { authorization: basic, 'content-type': 'application/json' }, payload: JSON.stringify(body) }),
      ),
    );
    expect(responses.map((r) => r.statusCode).every((s) => s === 202)).toBe(true);
    const statuses = responses.map((r) => r.json().data.events[0].status as string);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(calls * 3);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(calls * 3);
    const stored = await h.store.db
      .selectFrom('calls')
      .select(['pbx_id', 'start_time', 'answered_time', 'end_time', 'answered_phone_number'])
      .where('account_id', '=', h.accountId)
      .where('pbx_id', 'like', 'api-%')
      .orderBy('start_time')
      .execute();
    expect(stored.map((r) => ({ ...r, start_time: Number(r.start_time), answered_time: Number(r.answered_time), end_time: Number(r.end_time) }))).toEqual(
      Array.from({ length: calls }, (_, c) => {
        const t = Date.UTC(2025, 3, 1, 9, 0, 0) / 1000 + c * 120;
        return { pbx_id: `api-${c}`, start_time: t, answered_time: t + 3, end_time: t + 63, answered_phone_number: '+33198765401' };
      }),
    );
  });
});
