import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClickToCallService } from '../../src/click-to-call/service.js';
import { SimulatedController, simulatedPhoneUri } from '../../src/click-to-call/simulated.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

const CUSTOMER = '+33612345678';
const TIMINGS = { phoneAnswerMs: 60, targetRingMs: 120, talkMs: 250, targetRingTimeoutMs: 200 };

/**
 * Click-to-call through the API, on each engine, with the simulated
 * controller (test/e2e/click-to-call-api.test.ts does it over real SIP): what
 * POST, GET and DELETE answer at each step, the one record each call leaves,
 * its webhooks, and every refusal.
 */
describeEngines('click-to-call through the API', (engine) => {
  let h: ApiHarness;
  let off: ApiHarness;
  let token: string;
  let service: ClickToCallService;
  let desk: number;
  let alice: number;

  beforeAll(async () => {
    h = await createHarness(engine, {
      clickToCall: (store) => (service = new ClickToCallService(store, new SimulatedController(TIMINGS), { maxActivePerAccount: 3, phoneUri: simulatedPhoneUri })),
    });
    off = await createHarness(engine);
    token = await h.token();
    alice = (await h.store.createEmployee(h.accountId, { name: 'Alice Martin' })).id;
    desk = (await h.store.createPhone(h.accountId, { number: '+33198765401', name: 'Alice desk', internalNumber: 101, employeeId: alice })).id;
    await h.store.webhooks.setUrl(h.accountId, 'https://hooks.example/sipsim', [...WEBHOOK_EVENTS]);
  });
  afterAll(async () => {
    await h?.close();
    await off?.close();
  });

  const send = async (method: string, url: string, payload?: unknown, bearer = token, on = h) => {
    const response = await on.app.inject({
      method: method as 'POST',
      url,
      headers: { authorization: `Bearer ${bearer}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.json() };
  };
  const get = async (id: number) => (await send('GET', `/api/v2/calls/${id}`)).body.data;
  const until = async (id: number, status: string) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const call = await get(id);
      if (call.status === status) return call;
      if (Date.now() > deadline) throw new Error(`call ${id} is ${call.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const listed = async (id: number) =>
    ((await send('GET', '/api/v2/calls?start_time=2000-01-01T00:00:00Z&end_time=2100-01-01T00:00:00Z')).body.data as Array<{ id: number }>).filter((c) => c.id === id);

  it('rings the phone, then the number, connects them, and leaves one outbound call under the same id', async () => {
    const created = await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER });
    expect(created.status).toBe(201);
    const id = created.body.data.id as number;
    expect(created.body.data).toMatchObject({
      id,
      status: 'ringing_phone',
      failure: null,
      call_type: 'outbound',
      caller_number: '+33198765401',
      target_number: CUSTOMER,
      phone_id: desk,
      employee_id: alice,
      answered: false,
      answered_time: null,
    });
    expect(await listed(id)).toEqual([]); // not a record until it ends
    expect(await until(id, 'ringing_target')).toMatchObject({ answered: false });
    const connected = await until(id, 'connected');
    expect(connected.answered_time).toMatch(/Z$/);
    const done = await until(id, 'completed');
    expect(done).toMatchObject({
      id,
      status: 'completed',
      failure: null,
      call_type: 'outbound',
      direction: 'outbound',
      sip_status: 'answer',
      answered: true,
      caller_number: '+33198765401',
      target_number: CUSTOMER,
      answered_phone_number: CUSTOMER,
      phone_id: desk,
      answered_phone_id: desk,
      employee_id: alice,
      tags: [],
    });
    expect(Date.parse(done.start_time)).toBeLessThanOrEqual(Date.parse(done.answered_time));
    expect(Date.parse(done.answered_time)).toBeLessThanOrEqual(Date.parse(done.end_time));
    // The record in the list is the same call, once.
    const [record] = await listed(id);
    const { status: _status, failure: _failure, ...callFields } = done;
    expect(record).toEqual(callFields);
    // Its webhooks: start, answer, end.
    const hooks = (await h.store.webhooks.list(h.accountId, { limit: 100 })).filter((d) => d.pbxId === `c2c_${id}`).reverse();
    expect(hooks.map((d) => d.event)).toEqual(['outgoing_call_start', 'outgoing_call_answer', 'outgoing_call_end']);
    expect(JSON.parse(hooks[2]!.body)).toMatchObject({ caller: '+33198765401', receiver: CUSTOMER, status: 'ANSWER', pbx_id: `c2c_${id}` });
    // Over, it cannot be hung up again.
    const again = await send('DELETE', `/api/v2/calls/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.errors).toEqual([`Call ${id} has already ended`]);
  });

  it('says why a call failed, and records it with its outcome', async () => {
    const busy = (await send('POST', '/api/v2/calls', { phone_id: desk, number: '+33612345486' })).body.data.id as number;
    const failed = await until(busy, 'failed');
    expect(failed).toMatchObject({ status: 'failed', failure: 'the number is busy (486)', sip_status: 'busy', answered: false, call_type: 'outbound' });
    expect(await listed(busy)).toHaveLength(1);
    const unknown = (await send('POST', '/api/v2/calls', { phone_id: desk, number: '+33612345404' })).body.data.id as number;
    expect(await until(unknown, 'failed')).toMatchObject({ sip_status: 'unavailable' });
  });

  it('hangs up a ringing call with DELETE, which answers with the call as it ended', async () => {
    const id = (await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER })).body.data.id as number;
    const hung = await send('DELETE', `/api/v2/calls/${id}`);
    expect(hung.status).toBe(200);
    expect(hung.body.data).toMatchObject({ id, status: 'failed', failure: 'hung up before the employee answered', sip_status: 'cancel', answered: false });
    expect(await listed(id)).toHaveLength(1);
    // A connected call hung up is a completed one.
    const talking = (await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER })).body.data.id as number;
    await until(talking, 'connected');
    expect((await send('DELETE', `/api/v2/calls/${talking}`)).body.data).toMatchObject({ status: 'completed', sip_status: 'answer', answered: true });
    // An ordinary call is not in progress; another id is not found.
    const [ordinary] = await h.insert([{ direction: 'outbound', callerNumber: '+33198765401', targetNumber: CUSTOMER, sipCode: 200, startTime: 1736937000, answeredTime: 1736937005, endTime: 1736937100 }]);
    expect((await send('DELETE', `/api/v2/calls/${ordinary}`)).status).toBe(409);
    expect((await send('DELETE', '/api/v2/calls/987654321')).body.errors).toEqual(['Call not found']);
  });

  it('gives each call an id no other call has, the records keeping theirs', async () => {
    const id = (await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER })).body.data.id as number;
    const [inserted] = await h.insert([{ direction: 'inbound', callerNumber: CUSTOMER, targetNumber: '+33198765401', sipCode: 487, startTime: 1736937000, endTime: 1736937030 }]);
    expect(inserted).toBeGreaterThan(id);
    await send('DELETE', `/api/v2/calls/${id}`);
    expect((await get(inserted!)).status).toBeUndefined();
    expect((await get(id)).status).toBe('failed');
  });

  it('refuses what it cannot call, saying why', async () => {
    const refused = async (body: unknown, status: number, error: string) => {
      const r = await send('POST', '/api/v2/calls', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.errors).toEqual([error]);
    };
    await refused({ phone_id: desk, number: '0612345678' }, 400, "Invalid field 'number': must be a number in E.164 format such as +33612345678");
    await refused({ phone_id: desk }, 400, "Missing required field 'number'");
    await refused({ phone_id: 987654, number: CUSTOMER }, 404, 'Phone not found');
    const spare = (await h.store.createPhone(h.accountId, { number: '+33198765409', name: 'Spare', status: 'inactive' })).id;
    await refused({ phone_id: spare, number: CUSTOMER }, 409, `Phone ${spare} is inactive: only an active phone can place calls`);
    // The account's limit of calls in progress (3 here).
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await send('POST', '/api/v2/calls', { phone_id: desk, number: '+33612345408' })).body.data.id as number);
    await refused({ phone_id: desk, number: CUSTOMER }, 409, 'The account already has 3 calls in progress, as many as it may have at once');
    for (const id of ids) await send('DELETE', `/api/v2/calls/${id}`);
    expect((await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER })).status).toBe(201);
    // Reading is not calling.
    const reader = await h.token('calls.read phones.read');
    expect((await send('POST', '/api/v2/calls', { phone_id: desk, number: CUSTOMER }, reader)).status).toBe(403);
  });

  it('answers 503 where click-to-call is off, after checking the phone', async () => {
    const offToken = await off.token();
    const phone = (await off.store.createPhone(off.accountId, { number: '+33198765401', name: 'Desk', internalNumber: 101 })).id;
    const r = await send('POST', '/api/v2/calls', { phone_id: phone, number: CUSTOMER }, offToken, off);
    expect(r.status).toBe(503);
    expect(r.body.errors[0]).toMatch(/^Click-to-call is off on this server: set SIPSIM_SIP_PROXY/);
    expect((await send('POST', '/api/v2/calls', { phone_id: 987654, number: CUSTOMER }, offToken, off)).status).toBe(404);
  });

  it('ends, with a record, the calls a stopped process left in progress', async () => {
    const row = {
      accountId: h.accountId, id: await h.store.clickCalls.reserveId(), phoneId: desk, employeeId: alice, callerNumber: '+33198765401',
      targetNumber: CUSTOMER, status: 'connected', failure: null, sipCode: null, endedBy: null, startedAt: Date.now() - 60_000,
      phoneAnsweredAt: Date.now() - 55_000, answeredAt: Date.now() - 50_000, endedAt: null,
    };
    await h.store.clickCalls.create(row, []);
    expect(await service.recover()).toBe(1);
    expect(await get(row.id)).toMatchObject({ status: 'completed', sip_status: 'answer', answered: true, duration_sec: expect.any(Number) });
    expect(await listed(row.id)).toHaveLength(1);
    expect(await service.recover()).toBe(0);
  });
});
