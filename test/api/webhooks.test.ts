import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { WEBHOOK_EVENTS, testMessage } from '../../src/webhooks/events.js';

const SALES = '+33198765432';
const CUSTOMER = '+33612345678';

/**
 * What each change queues in the outbox: live events mirror themselves, a
 * finished call tells its end, a change of tags tells the whole list, history
 * tells nothing unless asked, and an account only gets what it subscribed to.
 */
describeEngines('webhooks queued by changes', (engine) => {
  let h: ApiHarness;
  let token: string;
  let reader: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    reader = await h.token('webhooks.read');
    await h.store.createPhone(h.accountId, { number: SALES, name: 'Sales line', internalNumber: 101 });
  });
  afterAll(() => h?.close());

  beforeEach(async () => {
    await h.store.db.deleteFrom('webhook_deliveries').execute();
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', [...WEBHOOK_EVENTS]);
  });

  const send = async (method: string, url: string, payload?: unknown, bearer = token) => {
    const response = await h.app.inject({
      method: method as 'POST',
      url,
      headers: { authorization: `Bearer ${bearer}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.body ? response.json() : null };
  };
  const queued = async () =>
    (await h.store.webhooks.list(h.accountId, { limit: 1000 }))
      .reverse()
      .map((d) => ({ event: d.event, pbx_id: d.pbxId, status: d.status, body: JSON.parse(d.body) }));

  const lifecycle = (pbxId: string) => [
    { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:30:00Z', pbx_id: pbxId },
    { event: 'incoming_call_start_chain_member_call', caller: CUSTOMER, receiver: '101', time: '2025-01-15T10:30:01Z', pbx_id: pbxId },
    { event: 'incoming_call_answer', caller: CUSTOMER, receiver: '101', time: 1736937005, pbx_id: pbxId },
    { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:34:50+00:00', pbx_id: pbxId, duration: 285, sip_code: 200, caller_name: 'Jean Dupont' },
  ];

  it('mirrors each new live event with SIPSIM\'s fields, once however often it is posted', async () => {
    expect((await send('POST', '/api/v2/pbx/events', lifecycle('wh-1'))).status).toBe(202);
    // The same events again, and one twice in one post: nothing new.
    expect((await send('POST', '/api/v2/pbx/events', [...lifecycle('wh-1'), lifecycle('wh-1')[0]])).body.data.duplicates).toBe(5);
    expect(await queued()).toEqual([
      { event: 'incoming_call_start', pbx_id: 'wh-1', status: 'pending', body: { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:30:00Z', pbx_id: 'wh-1' } },
      { event: 'incoming_call_start_chain_member_call', pbx_id: 'wh-1', status: 'pending', body: { event: 'incoming_call_start_chain_member_call', caller: CUSTOMER, receiver: '101', time: '2025-01-15T10:30:01Z', pbx_id: 'wh-1' } },
      { event: 'incoming_call_answer', pbx_id: 'wh-1', status: 'pending', body: { event: 'incoming_call_answer', caller: CUSTOMER, receiver: '101', time: '2025-01-15T10:30:05Z', pbx_id: 'wh-1' } },
      {
        event: 'incoming_call_end',
        pbx_id: 'wh-1',
        status: 'pending',
        body: { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:34:50Z', pbx_id: 'wh-1', duration: 285, audio_path: null, status: 'ANSWER' },
      },
    ]);
  });

  it('gives end events the documented status words and a voicemail its recording', async () => {
    await send('POST', '/api/v2/pbx/events', [
      { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T11:00:30Z', pbx_id: 'wh-2', status: 'missed' },
      { event: 'outgoing_call_end', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T11:05:30Z', pbx_id: 'wh-3', sip_code: 486 },
      { event: 'outgoing_call_end', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T11:06:30Z', pbx_id: 'wh-4', sip_code: 404 },
      { event: 'voicemail', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T11:10:00Z', pbx_id: 'wh-5', duration: 15, audio_path: 'https://rec.example/vm.mp3' },
    ]);
    const bodies = (await queued()).map((q) => q.body);
    expect(bodies.map((b) => b.status)).toEqual(['MISSED', 'BUSY', 'NOANSWER', undefined]);
    expect(bodies[3]).toEqual({ event: 'voicemail', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T11:10:00Z', pbx_id: 'wh-5', duration: 15, audio_path: 'https://rec.example/vm.mp3' });
  });

  it('queues only the events the account subscribes to, and nothing without a URL', async () => {
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', ['incoming_call_end']);
    await send('POST', '/api/v2/pbx/events', lifecycle('wh-6'));
    expect((await queued()).map((q) => q.event)).toEqual(['incoming_call_end']);
    await h.store.webhooks.setUrl(h.accountId, null);
    await send('POST', '/api/v2/pbx/events', lifecycle('wh-7'));
    expect(await queued()).toHaveLength(1);
    // Subscriptions come back with the URL, as they were.
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/again');
    expect((await send('GET', '/api/v2/webhooks', undefined, reader)).body.data).toEqual([{ event: 'incoming_call_end' }]);
  });

  it('enables and disables events through the API, and the outbox follows', async () => {
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', []);
    expect((await send('GET', '/api/v2/webhooks', undefined, reader)).body.data).toEqual([]);
    const enabled = await send('POST', '/api/v2/webhooks/outgoing_call_end');
    expect(enabled).toMatchObject({ status: 200, body: { data: { url: 'https://hooks.example/sipsim', events: [{ event: 'outgoing_call_end' }] } } });
    expect((await send('POST', '/api/v2/webhooks/outgoing_call_end')).body.data.events).toEqual([{ event: 'outgoing_call_end' }]);
    await send('POST', '/api/v2/pbx/events', [
      { event: 'outgoing_call_start', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T12:00:00Z', pbx_id: 'wh-8' },
      { event: 'outgoing_call_end', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T12:00:30Z', pbx_id: 'wh-8', status: 'NOANSWER' },
    ]);
    expect((await queued()).map((q) => q.event)).toEqual(['outgoing_call_end']);
    expect((await send('DELETE', '/api/v2/webhooks/outgoing_call_end')).body.data.events).toEqual([]);
    expect((await send('DELETE', '/api/v2/webhooks/outgoing_call_end')).status).toBe(200);
    const unknown = await send('POST', '/api/v2/webhooks/call_end');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0]).toMatch(/event.*must be one of incoming_call_start, .*rating/);
    // Reading is not writing.
    const denied = await send('POST', '/api/v2/webhooks/tags', undefined, reader);
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0]).toContain("'webhooks.write'");
    expect((await send('GET', '/api/v2/webhooks/available', undefined, reader)).body.data.map((e: { event: string }) => e.event)).toEqual([...WEBHOOK_EVENTS]);
  });

  it('tells a change of a call\'s tags with the whole list, and only when it changed', async () => {
    await send('POST', '/api/v2/pbx/events', lifecycle('wh-9'));
    await h.store.db.deleteFrom('webhook_deliveries').execute();
    const callId = (await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', 'wh-9').executeTakeFirstOrThrow()).id;
    const vip = (await send('POST', '/api/v2/tags', { name: 'VIP' })).body.data.id;
    const sales = (await send('POST', '/api/v2/tags', { name: 'sales' })).body.data.id;
    expect((await send('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [vip, sales] })).status).toBe(200);
    expect((await send('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [vip] })).status).toBe(200); // no change
    expect((await send('DELETE', `/api/v2/calls/${callId}/tags/${vip}`)).status).toBe(200);
    expect((await send('PATCH', `/api/v2/tags/${sales}`, { name: 'Sales' })).status).toBe(200); // renamed on every call
    expect((await send('PATCH', `/api/v2/tags/${sales}`, { color: '#FF0000' })).status).toBe(200); // names unchanged
    expect((await send('DELETE', `/api/v2/tags/${sales}`)).status).toBe(204); // off every call
    const tagEvents = await queued();
    expect(tagEvents.map((q) => q.body.tags)).toEqual([['VIP', 'sales'], ['sales'], ['Sales'], []]);
    expect(tagEvents[0]!.body).toMatchObject({ event: 'tags', caller: CUSTOMER, receiver: SALES, pbx_id: 'wh-9' });
    expect(tagEvents[0]!.body.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('tells the end of a call that came in finished, but not history unless asked', async () => {
    const record = (pbxId: string, extra: object = {}) => ({
      pbx_id: pbxId, caller_number: CUSTOMER, target_number: SALES, start_time: '2025-01-15T13:00:00Z', answered_time: '2025-01-15T13:00:05Z', end_time: '2025-01-15T13:01:05Z', ...extra,
    });
    expect((await send('POST', '/api/v2/calls/import', [record('wh-10')])).status).toBe(200);
    expect(await queued()).toEqual([]);
    const asked = await send('POST', '/api/v2/calls/import?emit_webhooks=true', [record('wh-10'), record('wh-11', { answered_time: null, play_record_link: 'https://rec.example/vm-11.mp3', call_type: 'voicemail' })]);
    expect(asked.body.data).toMatchObject({ created: 1, unchanged: 1 });
    expect(await queued()).toEqual([
      { event: 'incoming_call_end', pbx_id: 'wh-11', status: 'pending', body: { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T13:01:05Z', pbx_id: 'wh-11', duration: 0, audio_path: null, status: 'MISSED' } },
      { event: 'voicemail', pbx_id: 'wh-11', status: 'pending', body: { event: 'voicemail', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T13:01:05Z', pbx_id: 'wh-11', duration: 0, audio_path: 'https://rec.example/vm-11.mp3' } },
    ]);
    expect((await send('POST', '/api/v2/calls/import?emit_webhooks=maybe', [record('wh-12')])).status).toBe(400);

    // FreeSWITCH posts a CDR as the call ends: its end goes out, and a repost sends nothing.
    await h.store.db.deleteFrom('webhook_deliveries').execute();
    const cdr = { variables: { uuid: 'wh-13', caller_id_number: CUSTOMER, destination_number: SALES, start_epoch: '1736946000', answer_epoch: '1736946004', end_epoch: '1736946064', hangup_cause: 'NORMAL_CLEARING' } };
    expect((await send('POST', '/api/v2/pbx/freeswitch/cdr', cdr)).body.data.outcome).toBe('created');
    expect((await send('POST', '/api/v2/pbx/freeswitch/cdr', cdr)).body.data.outcome).toBe('unchanged');
    expect((await queued()).map((q) => q.body)).toEqual([
      { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T13:01:04Z', pbx_id: 'wh-13', duration: 60, audio_path: null, status: 'ANSWER' },
    ]);
  });

  it('sends bodies that match the payloads the OpenAPI document gives under webhooks', async () => {
    await send('POST', '/api/v2/pbx/events', [
      ...lifecycle('wh-doc'),
      { event: 'incoming_call_end_chain_member_call', caller: CUSTOMER, receiver: '101', time: '2025-01-15T10:30:05Z', pbx_id: 'wh-doc' },
      { event: 'outgoing_call_start', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T12:00:00Z', pbx_id: 'wh-doc-2' },
      { event: 'outgoing_call_answer', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T12:00:05Z', pbx_id: 'wh-doc-2' },
      { event: 'outgoing_call_end', caller: SALES, receiver: CUSTOMER, time: '2025-01-15T12:00:35Z', pbx_id: 'wh-doc-2', sip_code: 486 },
      { event: 'voicemail', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T12:10:00Z', pbx_id: 'wh-doc-3', duration: 12 },
      { event: 'sms', caller: CUSTOMER, receiver: SALES, message: 'Rappelez-moi', direction: 'inbound', time: '2025-01-15T12:20:00Z' },
    ]);
    const callId = (await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', 'wh-doc').executeTakeFirstOrThrow()).id;
    const tag = (await send('POST', '/api/v2/tags', { name: 'documented' })).body.data.id;
    await send('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [tag] });
    await h.store.webhooks.queue(h.accountId, [testMessage(Math.floor(Date.now() / 1000))], { ignoreSubscriptions: true });
    const doc = (await h.app.inject({ method: 'GET', url: '/api/v2/openapi.json' })).json();
    const ajv = new Ajv2020({ strict: false });
    formats.default(ajv);
    const bodies = await queued();
    expect(new Set(bodies.map((b) => b.event))).toEqual(new Set([...WEBHOOK_EVENTS.filter((e) => !['speech', 'summary', 'rating'].includes(e)), 'test']));
    for (const { event, body } of bodies) {
      const schema = doc.webhooks[event].post.requestBody.content['application/json'].schema;
      const validate = ajv.compile(schema);
      expect(validate(body), `${event}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('queues nothing for a change that was refused', async () => {
    // A tag change that fails (one tag does not exist) changes nothing and queues nothing.
    await send('POST', '/api/v2/pbx/events', lifecycle('wh-14'));
    await h.store.db.deleteFrom('webhook_deliveries').execute();
    const callId = (await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', 'wh-14').executeTakeFirstOrThrow()).id;
    const tag = (await send('POST', '/api/v2/tags', { name: 'kept' })).body.data.id;
    expect((await send('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [tag, 987654] })).status).toBe(404);
    expect(await queued()).toEqual([]);
  });
});
