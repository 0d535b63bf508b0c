import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

const SALES = '+33198765432';
const CUSTOMER = '+33612345678';

describeEngines('getting calls in', (engine) => {
  let h: ApiHarness;
  let token: string;
  let marie: number;
  let marieDesk: number;
  let salesLine: number;
  let basic: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    marie = (await h.store.createEmployee(h.accountId, { name: 'Marie Lefèvre' })).id;
    marieDesk = (await h.store.createPhone(h.accountId, { number: '+33198765401', name: 'Marie', internalNumber: 101, employeeId: marie })).id;
    salesLine = (await h.store.createPhone(h.accountId, { number: SALES, name: 'Sales line' })).id;
    const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.write' });
    basic = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
  });
  afterAll(() => h?.close());

  const post = async (url: string, payload: unknown, authorization = `Bearer ${token}`, contentType = 'application/json') => {
    const response = await h.app.inject({
      method: 'POST',
      url,
      headers: { authorization, 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    return { response, body: response.json() };
  };
  const callsOf = async (query: string) => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/api/v2/calls?start_time=2025-01-01T00:00:00Z&end_time=2025-12-31T23:59:59Z&limit=1000&${query}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json().data as Array<Record<string, any>>;
  };
  const byPbx = async (pbxId: string) => (await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', pbxId).execute()).map((r) => r.id);
  const getCall = async (id: number) =>
    (await h.app.inject({ method: 'GET', url: `/api/v2/calls/${id}`, headers: { authorization: `Bearer ${token}` } })).json().data;

  const answeredInbound = (pbxId: string, at = '2025-01-15T10:30') => [
    { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: `${at}:00Z`, pbx_id: pbxId },
    { event: 'incoming_call_start_chain_member_call', caller: CUSTOMER, receiver: '101', time: `${at}:01Z`, pbx_id: pbxId },
    { event: 'incoming_call_answer', caller: CUSTOMER, receiver: '101', time: `${at}:05Z`, pbx_id: pbxId },
    {
      event: 'incoming_call_end',
      caller: CUSTOMER,
      receiver: SALES,
      time: `${at}:50Z`,
      pbx_id: pbxId,
      duration: 45,
      audio_path: `https://rec.example/${pbxId}.mp3`,
      status: 'ANSWER',
    },
  ];

  describe('POST /api/v2/pbx/events', () => {
    it('assembles an answered inbound call from its events, with every field derived', async () => {
      const { response, body } = await post('/api/v2/pbx/events', answeredInbound('ev-answered'));
      expect(response.statusCode).toBe(202);
      expect(body.data).toMatchObject({ accepted: 4, duplicates: 0, rejected: 0 });
      expect(body.data.calls).toEqual([{ pbx_id: 'ev-answered', id: expect.any(Number), outcome: 'created' }]);
      const call = await getCall(body.data.calls[0].id);
      expect(call).toMatchObject({
        call_type: 'inbound',
        direction: 'inbound',
        sip_status: 'answer',
        caller_number: CUSTOMER,
        target_number: SALES,
        answered_phone_number: '+33198765401',
        answered: true,
        wait_duration_sec: 5,
        duration_sec: 45,
        play_record_link: 'https://rec.example/ev-answered.mp3',
        phone_id: salesLine,
        answered_phone_id: marieDesk,
        employee_id: marie,
        start_time: '2025-01-15T10:30:00Z',
        answered_time: '2025-01-15T10:30:05Z',
        end_time: '2025-01-15T10:30:50Z',
      });
    });

    it('gives the same call whatever order the events arrive in, one at a time', async () => {
      const events = answeredInbound('ev-shuffled', '2025-01-15T11:00');
      for (const event of [events[3], events[1], events[0], events[2]]) {
        const { response } = await post('/api/v2/pbx/events', event);
        expect(response.statusCode).toBe(202);
      }
      const ids = await byPbx('ev-shuffled');
      expect(ids).toHaveLength(1);
      expect(await getCall(ids[0]!)).toMatchObject({ answered_phone_id: marieDesk, wait_duration_sec: 5, duration_sec: 45, start_time: '2025-01-15T11:00:00Z' });
    });

    it('a call is not listed before it ends', async () => {
      await post('/api/v2/pbx/events', answeredInbound('ev-ongoing', '2025-01-15T12:00').slice(0, 3));
      expect(await byPbx('ev-ongoing')).toEqual([]);
    });

    it('a repeated event changes nothing', async () => {
      const events = answeredInbound('ev-repeat', '2025-01-15T13:00');
      await post('/api/v2/pbx/events', events);
      const before = await getCall((await byPbx('ev-repeat'))[0]!);
      const { body } = await post('/api/v2/pbx/events', [events[2], events[3], events[3]]);
      expect(body.data).toMatchObject({ accepted: 0, duplicates: 3, calls: [] });
      expect(await byPbx('ev-repeat')).toHaveLength(1);
      expect(await getCall(before.id)).toEqual(before);
    });

    it('the same event twice in one post is taken once', async () => {
      const events = answeredInbound('ev-twice', '2025-01-15T13:30');
      const { body } = await post('/api/v2/pbx/events', [...events, events[0]]);
      expect(body.data.events.map((e: { status: string }) => e.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'duplicate']);
    });

    it('missed, busy and cancelled inbound calls, and a voicemail', async () => {
      const at = (s: string) => `2025-01-16T09:00:${s}Z`;
      const end = (pbx: string, status: string, extra = {}) => ({ event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: at('30'), pbx_id: pbx, duration: 0, status, ...extra });
      const start = (pbx: string) => ({ event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: at('00'), pbx_id: pbx });
      await post('/api/v2/pbx/events', [
        start('ev-missed'), end('ev-missed', 'MISSED'),
        start('ev-busy'), end('ev-busy', 'BUSY'),
        start('ev-noanswer'), end('ev-noanswer', 'NOANSWER'),
        start('ev-unavailable'), end('ev-unavailable', 'NOANSWER', { sip_code: 404 }),
        start('ev-vm'), end('ev-vm', 'NOANSWER'),
        { event: 'voicemail', caller: CUSTOMER, receiver: SALES, time: at('32'), pbx_id: 'ev-vm', duration: 15, audio_path: 'https://rec.example/vm.mp3' },
      ]);
      const outcome = async (pbx: string) => {
        const call = await getCall((await byPbx(pbx))[0]!);
        return [call.call_type, call.sip_status, call.answered, call.wait_duration_sec, call.duration_sec];
      };
      expect(await outcome('ev-missed')).toEqual(['missed', 'cancel', false, 30, 0]);
      expect(await outcome('ev-busy')).toEqual(['missed', 'busy', false, 30, 0]);
      expect(await outcome('ev-noanswer')).toEqual(['missed', 'no_answer', false, 30, 0]);
      expect(await outcome('ev-unavailable')).toEqual(['missed', 'unavailable', false, 30, 0]);
      expect(await outcome('ev-vm')).toEqual(['voicemail', 'no_answer', false, 47, 0]);
      expect((await getCall((await byPbx('ev-vm'))[0]!)).play_record_link).toBe('https://rec.example/vm.mp3');
    });

    it('an outgoing call from an extension is the phone\'s, shown with its public number', async () => {
      const pbx = 'ev-out';
      await post('/api/v2/pbx/events', [
        { event: 'outgoing_call_start', caller: '101', receiver: CUSTOMER, time: 1736935200, pbx_id: pbx },
        { event: 'outgoing_call_answer', caller: '101', receiver: CUSTOMER, time: 1736935208, pbx_id: pbx },
        { event: 'outgoing_call_end', caller: '101', receiver: CUSTOMER, time: 1736935300, pbx_id: pbx, duration: 92, status: 'ANSWER' },
      ]);
      expect(await getCall((await byPbx(pbx))[0]!)).toMatchObject({
        call_type: 'outbound',
        caller_number: '+33198765401',
        target_number: CUSTOMER,
        answered_phone_number: CUSTOMER,
        phone_id: marieDesk,
        answered_phone_id: marieDesk,
        employee_id: marie,
        wait_duration_sec: 8,
        duration_sec: 92,
      });
    });

    it('an end that reports talk time is answered even if the answer event was lost', async () => {
      await post('/api/v2/pbx/events', [
        { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '2025-01-17T10:00:00+01:00', pbx_id: 'ev-lost-answer' },
        { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-17T10:02:00.250+01:00', pbx_id: 'ev-lost-answer', duration: 100, status: 'ANSWER' },
      ]);
      expect(await getCall((await byPbx('ev-lost-answer'))[0]!)).toMatchObject({
        call_type: 'inbound', answered: true, start_time: '2025-01-17T09:00:00Z', answered_time: '2025-01-17T09:00:20Z', duration_sec: 100,
      });
    });

    it('takes the good events of a post and names the bad ones', async () => {
      const { response, body } = await post('/api/v2/pbx/events', [
        { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '2025-01-18T10:00:00Z', pbx_id: 'ev-partial' },
        { event: 'incoming_call_ringing', caller: CUSTOMER, receiver: SALES, time: '2025-01-18T10:00:00Z', pbx_id: 'ev-partial' },
        { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: 'yesterday', pbx_id: 'ev-partial' },
      ]);
      expect(response.statusCode).toBe(202);
      expect(body.data.events).toEqual([
        { index: 0, status: 'accepted', pbx_id: 'ev-partial' },
        { index: 1, status: 'rejected', error: expect.stringMatching(/^event must be one of incoming_call_start/) },
        { index: 2, status: 'rejected', error: 'time must be an RFC 3339 date-time or Unix seconds' },
      ]);
    });

    it('answers 400 in the error envelope when no event can be taken', async () => {
      for (const payload of [{ event: 'incoming_call_start' }, [], [{ pbx_id: 'x' }, 42], { event: 'incoming_call_end', pbx_id: 'x', caller: 'a', receiver: 'b', time: '2025-01-01T00:00:00Z', sip_code: 999 }]) {
        const { response, body } = await post('/api/v2/pbx/events', payload);
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(body).toMatchObject({ status: 400, code: 'INVALID_BODY', errors: expect.any(Array), path: '/api/v2/pbx/events' });
      }
      const { body } = await post('/api/v2/pbx/events', [{ pbx_id: 'x' }, 42]);
      expect(body.errors).toEqual([expect.stringMatching(/^events\[0\]: event must be one of/), 'events[1]: an event must be a JSON object']);
    });

    it('takes a client\'s own credentials in HTTP Basic, and refuses wrong ones', async () => {
      const events = answeredInbound('ev-basic', '2025-01-19T10:00');
      expect((await post('/api/v2/pbx/events', events, basic)).response.statusCode).toBe(202);
      const wrong = `Basic ${Buffer.from('sipsim_nobody:nothing').toString('base64')}`;
      const { response, body } = await post('/api/v2/pbx/events', events, wrong);
      expect(response.statusCode).toBe(401);
      expect(body.code).toBe('INVALID_CLIENT');
      expect(response.headers['www-authenticate']).toBe('Basic realm="sipsim"');
      // Only routes made for a PBX take Basic credentials.
      expect((await h.app.inject({ method: 'GET', url: '/api/v2/tags', headers: { authorization: basic } })).statusCode).toBe(401);
    });

    it('needs calls.write', async () => {
      const readOnly = await h.token('calls.read');
      const { response, body } = await post('/api/v2/pbx/events', answeredInbound('ev-scope'), `Bearer ${readOnly}`);
      expect(response.statusCode).toBe(403);
      expect(body.code).toBe('INSUFFICIENT_SCOPE');
    });

    it('events of one call posted at once, each alone, still make one whole call', async () => {
      const calls = Array.from({ length: 8 }, (_, i) => answeredInbound(`ev-race-${i}`, `2025-01-20T10:${String(10 + i).padStart(2, '0')}`));
      await Promise.all(calls.flat().map((event) => post('/api/v2/pbx/events', event)));
      for (let i = 0; i < calls.length; i++) {
        const ids = await byPbx(`ev-race-${i}`);
        expect(ids).toHaveLength(1);
        expect(await getCall(ids[0]!)).toMatchObject({ answered_phone_id: marieDesk, wait_duration_sec: 5, duration_sec: 45 });
      }
    });
  });

  describe('POST /api/v2/calls/import', () => {
    const record = (pbx: string, extra: Record<string, unknown> = {}) => ({
      pbx_id: pbx,
      call_type: 'inbound',
      caller_number: CUSTOMER,
      caller_name: 'Élodie Bernard',
      target_number: SALES,
      answered_phone_number: '101',
      start_time: '2025-02-03T09:15:00Z',
      answered_time: '2025-02-03T09:15:12Z',
      end_time: '2025-02-03T09:20:12Z',
      tags: ['Imported', 'VIP'],
      ...extra,
    });

    it('creates, then leaves unchanged, then updates, by pbx_id', async () => {
      const first = await post('/api/v2/calls/import', [record('imp-1'), record('imp-2', { start_time: '2025-02-03T10:00:00Z', answered_time: null, answered_phone_number: null, end_time: '2025-02-03T10:00:20Z', call_type: 'missed', sip_status: 'busy' })]);
      expect(first.response.statusCode).toBe(200);
      expect(first.body.data).toMatchObject({ created: 2, updated: 0, unchanged: 0, rejected: 0 });
      const again = await post('/api/v2/calls/import', { calls: [record('imp-1'), record('imp-2', { start_time: '2025-02-03T10:00:00Z', answered_time: null, answered_phone_number: null, end_time: '2025-02-03T10:00:20Z', call_type: 'missed', sip_status: 'busy' })] });
      expect(again.body.data).toMatchObject({ created: 0, updated: 0, unchanged: 2, rejected: 0 });
      expect(again.body.data.results.map((r: { id: number }) => r.id)).toEqual(first.body.data.results.map((r: { id: number }) => r.id));
      const changed = await post('/api/v2/calls/import', [record('imp-1', { end_time: '2025-02-03T09:25:12Z', tags: ['VIP'] })]);
      expect(changed.body.data.results).toEqual([{ index: 0, pbx_id: 'imp-1', status: 'updated', id: first.body.data.results[0].id }]);
      const call = await getCall(first.body.data.results[0].id);
      expect(call).toMatchObject({ duration_sec: 600, caller_name: 'Élodie Bernard', answered_phone_id: marieDesk, employee_id: marie, phone_id: salesLine });
      expect(call.tags.map((t: { name: string }) => t.name)).toEqual(['VIP']);
      expect((await getCall(first.body.data.results[1].id)).sip_status).toBe('busy');
    });

    it('creates missing tags by name, and a tag filter finds imported calls', async () => {
      await post('/api/v2/calls/import', [record('imp-tagged', { tags: ['Partner referral'] })]);
      const tag = (await h.store.listTags(h.accountId, 100, null)).items.find((t) => t.name === 'Partner referral')!;
      expect(tag).toBeDefined();
      expect((await callsOf(`tags=${tag.id}`)).map((c) => c.id)).toEqual(await byPbx('imp-tagged'));
    });

    it('a start_time moved by an update keeps the tag filter right', async () => {
      await post('/api/v2/calls/import', [record('imp-moved', { tags: ['Moved'] })]);
      await post('/api/v2/calls/import', [record('imp-moved', { tags: ['Moved'], start_time: '2025-03-01T09:00:00Z', answered_time: '2025-03-01T09:00:10Z', end_time: '2025-03-01T09:01:00Z' })]);
      const tag = (await h.store.listTags(h.accountId, 100, null)).items.find((t) => t.name === 'Moved')!;
      const march = await h.app.inject({
        method: 'GET',
        url: `/api/v2/calls?start_time=2025-03-01T00:00:00Z&end_time=2025-03-01T23:59:59Z&tags=${tag.id}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(march.json().data.map((c: { id: number }) => c.id)).toEqual(await byPbx('imp-moved'));
    });

    it('reports each refused record and takes the rest', async () => {
      const { response, body } = await post('/api/v2/calls/import', [
        record('imp-ok'),
        record('imp-bad-time', { start_time: 'soon' }),
        { caller_number: CUSTOMER },
        record('imp-contradiction', { call_type: 'missed' }),
      ]);
      expect(response.statusCode).toBe(200);
      expect(body.data).toMatchObject({ created: 1, rejected: 3 });
      expect(body.data.results[1]).toMatchObject({ index: 1, pbx_id: 'imp-bad-time', status: 'rejected', error: expect.stringContaining('start_time') });
      expect(body.data.results[2]).toMatchObject({ index: 2, pbx_id: null, status: 'rejected', error: expect.stringContaining('pbx_id') });
      expect(await byPbx('imp-bad-time')).toEqual([]);
    });

    it('a pbx_id twice in one batch ends as one call, the last record winning', async () => {
      const { body } = await post('/api/v2/calls/import', [record('imp-dup'), record('imp-dup', { end_time: '2025-02-03T09:30:12Z' })]);
      expect(body.data.results.map((r: { status: string }) => r.status)).toEqual(['created', 'updated']);
      const ids = await byPbx('imp-dup');
      expect(ids).toHaveLength(1);
      expect((await getCall(ids[0]!)).duration_sec).toBe(900);
    });

    it('ids of another account\'s phones and employees are not taken', async () => {
      const other = await h.store.createAccount({ name: 'Other' });
      const theirs = await h.store.createEmployee(other.id, { name: 'Not ours' });
      const theirPhone = await h.store.createPhone(other.id, { number: '+33100000001', name: 'theirs', employeeId: theirs.id });
      const { body } = await post('/api/v2/calls/import', [record('imp-foreign', { phone_id: theirPhone.id, answered_phone_id: theirPhone.id, employee_id: theirs.id })]);
      expect(await getCall(body.data.results[0].id)).toMatchObject({ phone_id: salesLine, answered_phone_id: marieDesk, employee_id: marie });
    });

    it('answers 400 for a body that is not a batch, or a batch with nothing usable', async () => {
      for (const payload of [{}, [], { calls: 'x' }, Array.from({ length: 1001 }, () => ({})), [{ start_time: 'x' }]]) {
        const { response, body } = await post('/api/v2/calls/import', payload);
        expect(response.statusCode).toBe(400);
        expect(body.code).toMatch(/INVALID_(BODY|PARAMETER)/);
      }
    });
  });

  describe('POST /api/v2/pbx/freeswitch/cdr', () => {
    const cdr = (uuid: string) => ({
      core_uuid: 'b2f9e1a0-0000-4000-8000-000000000001',
      channel_data: { state: 'CS_REPORTING', direction: 'inbound' },
      variables: {
        uuid,
        direction: 'inbound',
        caller_id_name: 'Jean%20Dupont',
        caller_id_number: '%2B33612345678',
        destination_number: '%2B33198765432',
        start_epoch: '1737108000',
        answer_epoch: '1737108007',
        end_epoch: '1737108127',
        billsec: '120',
        hangup_cause: 'NORMAL_CLEARING',
        sip_term_status: '200',
      },
    });

    it('takes raw JSON, url-encoded cdr= and base64, with Basic credentials, once', async () => {
      const raw = await post('/api/v2/pbx/freeswitch/cdr', cdr('fs-1'), basic);
      expect(raw.response.statusCode).toBe(200);
      expect(raw.body.data).toEqual({ pbx_id: 'fs-1', id: expect.any(Number), outcome: 'created' });
      const form = await post('/api/v2/pbx/freeswitch/cdr', `cdr=${encodeURIComponent(JSON.stringify(cdr('fs-1')))}`, basic, 'application/x-www-form-urlencoded');
      expect(form.body.data).toEqual({ pbx_id: 'fs-1', id: raw.body.data.id, outcome: 'unchanged' });
      const b64 = await post('/api/v2/pbx/freeswitch/cdr', `cdr=${encodeURIComponent(Buffer.from(JSON.stringify(cdr('fs-2'))).toString('base64'))}`, basic, 'application/x-www-form-urlencoded');
      expect(b64.body.data.outcome).toBe('created');
      expect(await getCall(raw.body.data.id)).toMatchObject({
        call_type: 'inbound', caller_number: CUSTOMER, caller_name: 'Jean Dupont', target_number: SALES, phone_id: salesLine,
        wait_duration_sec: 7, duration_sec: 120, sip_status: 'answer',
      });
    });

    it('answers 2xx for a B-leg and stores nothing from it, so that FreeSWITCH does not retry it', async () => {
      const bLeg = cdr('fs-bleg');
      (bLeg.variables as Record<string, string>).originating_leg_uuid = 'fs-1';
      const { response, body } = await post('/api/v2/pbx/freeswitch/cdr', bLeg, basic);
      expect(response.statusCode).toBe(200);
      expect(body.data).toEqual({ skipped: 'the B-leg of call fs-1: its A-leg tells the call' });
      expect(await byPbx('fs-bleg')).toEqual([]);
    });

    it('answers 400 for what is not a CDR', async () => {
      for (const [payload, type] of [['cdr=%7Bnot json', 'application/x-www-form-urlencoded'], [{ variables: {} }, 'application/json'], ['[1]', 'application/json']] as const) {
        const { response, body } = await post('/api/v2/pbx/freeswitch/cdr', payload, basic, type);
        expect(response.statusCode).toBe(400);
        expect(body.code).toBe('INVALID_BODY');
      }
    });
  });
});
