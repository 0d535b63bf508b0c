import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';

const SALES = '+33198765432';
const CUSTOMER = '+33612345678';

/**
 * An SMS posted by a PBX is stored once and queues the documented `sms`
 * webhook with it; a bad one is refused naming the field.
 */
describeEngines('SMS at /api/v2/pbx/events', (engine) => {
  let h: ApiHarness;
  let token: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
  });
  afterAll(() => h?.close());

  beforeEach(async () => {
    await h.store.db.deleteFrom('webhook_deliveries').execute();
    await h.store.db.deleteFrom('sms_messages').execute();
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', [...WEBHOOK_EVENTS]);
  });

  const post = async (payload: unknown) => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v2/pbx/events',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    return { status: response.statusCode, body: response.json() };
  };
  const queued = async () => (await h.store.webhooks.list(h.accountId, { limit: 100 })).reverse().map((d) => ({ event: d.event, pbx_id: d.pbxId, body: JSON.parse(d.body) }));

  const inbound = { event: 'sms', caller: CUSTOMER, receiver: SALES, message: 'Can you call me back at 2pm?', direction: 'inbound', time: '2025-01-15T11:00:00Z' };
  const outbound = { event: 'sms', caller: SALES, receiver: CUSTOMER, message: 'Confirmed: 2pm.  ', direction: 'outbound', time: 1736939100 };

  it('stores each SMS and queues its webhook with the documented fields, once however often it is posted', async () => {
    const first = await post([inbound, outbound, inbound]);
    expect(first.status).toBe(202);
    expect(first.body.data).toMatchObject({ accepted: 2, duplicates: 1, rejected: 0, calls: [] });
    expect(first.body.data.events[0]).toEqual({ index: 0, status: 'accepted', sms_id: expect.any(Number) });
    expect(first.body.data.events[2]).toEqual({ index: 2, status: 'duplicate' });
    expect((await post(inbound)).body.data).toMatchObject({ accepted: 0, duplicates: 1 });

    expect(await queued()).toEqual([
      { event: 'sms', pbx_id: null, body: { event: 'sms', caller: CUSTOMER, receiver: SALES, message: 'Can you call me back at 2pm?', time: '2025-01-15T11:00:00Z', direction: 'inbound' } },
      // The text is kept as sent, spaces included.
      { event: 'sms', pbx_id: null, body: { event: 'sms', caller: SALES, receiver: CUSTOMER, message: 'Confirmed: 2pm.  ', time: '2025-01-15T11:05:00Z', direction: 'outbound' } },
    ]);
    const stored = await h.store.sms.list(h.accountId);
    expect(stored.map((s) => [s.direction, s.caller, s.receiver, s.message, s.time])).toEqual([
      ['outbound', SALES, CUSTOMER, 'Confirmed: 2pm.  ', 1736939100],
      ['inbound', CUSTOMER, SALES, 'Can you call me back at 2pm?', 1736938800],
    ]);
  });

  it('takes the time of receipt when the post has none', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { time: _omit, ...untimed } = inbound;
    expect((await post(untimed)).body.data.accepted).toBe(1);
    const [sms] = await h.store.sms.list(h.accountId);
    expect(sms!.time).toBeGreaterThanOrEqual(before);
    const [delivery] = await queued();
    expect(new Date(delivery!.body.time).getTime() / 1000).toBe(sms!.time);
  });

  it('queues nothing for an account not subscribed to sms, and still stores the SMS', async () => {
    await h.store.webhooks.setSubscription(h.accountId, 'sms', false);
    expect((await post(inbound)).body.data.accepted).toBe(1);
    expect(await queued()).toEqual([]);
    expect(await h.store.sms.list(h.accountId)).toHaveLength(1);
  });

  it('refuses a bad SMS naming the field, takes the good ones of the post, stores nothing for the bad', async () => {
    const bad = [
      { ...inbound, message: '' },
      { ...inbound, message: 42 },
      { ...inbound, direction: 'sideways' },
      { ...inbound, caller: undefined },
      { ...inbound, time: 'yesterday' },
      { ...inbound, message: 'x'.repeat(1601) },
    ];
    const all = await post(bad);
    expect(all.status).toBe(400);
    expect(all.body.errors).toEqual([
      'events[0]: message must not be empty',
      'events[1]: message must be a string',
      'events[2]: direction must be one of inbound, outbound',
      'events[3]: caller is required',
      'events[4]: time must be an RFC 3339 date-time or Unix seconds',
      'events[5]: message must be at most 1600 characters',
    ]);
    const mixed = await post([bad[2], outbound]);
    expect(mixed.status).toBe(202);
    expect(mixed.body.data).toMatchObject({ accepted: 1, rejected: 1 });
    expect((await h.store.sms.list(h.accountId)).map((s) => s.direction)).toEqual(['outbound']);
    expect((await queued()).map((q) => q.body.direction)).toEqual(['outbound']);
  });

  it('is described in the OpenAPI document\'s webhooks', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/v2/openapi.json' })).json();
    const text = JSON.stringify(doc.webhooks.sms);
    for (const field of ['caller', 'receiver', 'message', 'time', 'direction']) expect(text).toContain(`"${field}"`);
  });
});
