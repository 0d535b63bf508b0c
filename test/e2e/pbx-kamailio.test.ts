import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { Store } from '../../src/store/store.js';
import { startEventRelay, type EventRelay, type RelayedPost } from '../helpers/event-relay.js';
import { TEST_CONFIG } from '../helpers/fixture.js';
import {
  checkKamailioConfig,
  requireSipLab,
  SIP_LAB_NOTICE,
  SIP_LAB_READY,
  startSipLab,
  type SipLab,
} from '../helpers/sip-lab.js';
import { listen, scratchDir } from '../helpers/programs.js';

/**
 * Getting calls in from a real PBX: Kamailio runs the example config
 * (examples/kamailio/kamailio.cfg), baresip phones register with it and place
 * real calls, and Kamailio posts each call's events to a running sipsim.
 * Between the two sits a recorder that keeps every post as Kamailio sent it,
 * so each scenario checks both what the config posts and the call sipsim
 * makes of it.
 */


const CUSTOMER = '33612345678';
const CUSTOMER_E164 = '+33612345678';
const ALICE_NUMBER = '+33198765401'; // extension 101, answers by itself
const BOB_NUMBER = '+33198765402'; // extension 102, answered by the test
const RING_TIMEOUT_MS = 3000;

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

describe.runIf(SIP_LAB_READY)('Kamailio example config with baresip phones, posting to sipsim', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let store: Store;
  let app: FastifyInstance;
  let apiUrl: string;
  let token: string;
  let recorder: EventRelay;
  let lab: SipLab | undefined;
  let clientId: string;
  let clientSecret: string;
  const phoneIds: Record<string, number> = {};
  const employeeIds: Record<string, number> = {};

  beforeAll(async () => {
    requireSipLab();
    scratch = scratchDir('sipsim-pbx-kamailio-');
    store = Store.open(`sqlite:${scratch.path}/sipsim.db`);
    await store.migrate();
    const account = await store.createAccount({ name: 'Kamailio lab', email: 'lab@example.com' });
    for (const [extension, name, number] of [
      ['101', 'Alice Martin', ALICE_NUMBER],
      ['102', 'Bob Durand', BOB_NUMBER],
    ] as const) {
      const employee = await store.createEmployee(account.id, { name });
      const phone = await store.createPhone(account.id, { number, name: `${name} desk`, employeeId: employee.id, internalNumber: Number(extension) });
      employeeIds[extension] = employee.id;
      phoneIds[extension] = phone.id;
    }
    const issued = await issueClient(store, account.id, { name: 'Kamailio', scopes: 'calls.write calls.read' });
    clientId = issued.client.clientId;
    clientSecret = issued.clientSecret;

    app = buildApp({ store, config: TEST_CONFIG });
    apiUrl = await listen(app);
    const tokenResponse = await fetch(`${apiUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    expect(tokenResponse.status).toBe(200);
    token = ((await tokenResponse.json()) as { access_token: string }).access_token;

    recorder = await startEventRelay(apiUrl);
    lab = await startSipLab({
      sipsimUrl: recorder.url,
      clientId,
      clientSecret,
      // Short, so that the no-answer call ends quickly; every other call is answered or ended sooner.
      ringTimeoutMs: RING_TIMEOUT_MS,
      phones: [
        { user: '101', displayName: 'Alice Martin', autoAnswer: true },
        { user: '102', displayName: 'Bob Durand' },
        { user: CUSTOMER, displayName: 'Claire Client' },
      ],
    });
  });

  afterAll(async () => {
    await lab?.stop();
    await recorder?.close();
    await app?.close();
    await store?.close();
    scratch?.remove();
  });

  /** The events Kamailio posted for one call, in the order it posted them. */
  function postsOf(pbxId: string): RelayedPost[] {
    return recorder.posts.filter((p) => p.body.pbx_id === pbxId);
  }

  /** The pbx_id (Call-ID) of the call whose start was posted after `since` posts. */
  async function nextCallId(since: number, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const start = recorder.posts.slice(since).find((p) => String(p.body.event).endsWith('_call_start'));
      if (start) return String(start.body.pbx_id);
      if (Date.now() > deadline) throw new Error(`no call start posted\n${lab!.logs()}`);
      await sleep(50);
    }
  }

  async function waitForEvent(pbxId: string, event: string, timeoutMs = 5000): Promise<RelayedPost> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const post = postsOf(pbxId).find((p) => p.body.event === event);
      if (post) return post;
      if (Date.now() > deadline) {
        throw new Error(`no ${event} posted for ${pbxId}; posted: ${JSON.stringify(postsOf(pbxId).map((p) => p.body))}\n${lab!.logs()}`);
      }
      await sleep(50);
    }
  }

  /**
   * Polls the call list until the call of this PBX id is there. sipsim's
   * answer to the end event names the call's id; failing that, the call is
   * known by its times and parties.
   */
  async function callInSipsim(pbxId: string, targetNumber: string, timeoutMs = 15000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    const start = postsOf(pbxId).find((p) => String(p.body.event).endsWith('_call_start'))!.body;
    const endPost = postsOf(pbxId).find((p) => String(p.body.event).endsWith('_call_end'))!;
    const end = endPost.body;
    const made: Array<{ pbx_id?: string; id?: number }> = endPost.answer?.data?.calls ?? [];
    const id = made.find((c) => c.pbx_id === pbxId)?.id;
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
    const window = new URLSearchParams({ start_time: iso(start.time - 60), end_time: iso(start.time + 60), limit: '50' });
    for (;;) {
      const response = await fetch(`${apiUrl}/api/v2/calls?${window}`, { headers: { authorization: `Bearer ${token}` } });
      const list = (await response.json()) as { data: Array<Record<string, any>> };
      expect(response.status, JSON.stringify(list)).toBe(200);
      const ours = list.data.filter((c) =>
        id !== undefined
          ? c.id === id
          : Date.parse(c.start_time) / 1000 === start.time &&
            Date.parse(c.end_time) / 1000 === end.time &&
            c.caller_number === expectedCaller(start.caller) &&
            c.target_number === targetNumber,
      );
      if (ours.length === 1) return ours[0]!;
      if (Date.now() > deadline) throw new Error(`call ${pbxId} not in GET /api/v2/calls after ${timeoutMs} ms: ${JSON.stringify(list.data)}`);
      await sleep(200);
    }
  }

  /** An outgoing call's caller is shown as the extension's public number. */
  const expectedCaller = (caller: string) => ({ '101': ALICE_NUMBER, '102': BOB_NUMBER })[caller] ?? caller;

  function expectTimesCoherent(call: Record<string, any>): void {
    const start = Date.parse(call.start_time);
    const end = Date.parse(call.end_time);
    expect(end).toBeGreaterThanOrEqual(start);
    if (call.answered_time !== null) {
      const answered = Date.parse(call.answered_time);
      expect(answered).toBeGreaterThanOrEqual(start);
      expect(answered).toBeLessThanOrEqual(end);
    }
  }

  /** Every post carries the API client's credentials in HTTP Basic, as JSON, and sipsim took it. */
  function expectWellFormedPosts(posts: RelayedPost[]): void {
    const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    for (const post of posts) {
      expect(post.headers.authorization).toBe(basic);
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.status, JSON.stringify(post.body)).toBe(202);
      expect(typeof post.body.time).toBe('number');
    }
  }

  it('the example config passes `kamailio -c` with the packaged modules', () => {
    const check = checkKamailioConfig();
    expect(check.ok, check.output).toBe(true);
  });

  it('answered: a customer calls extension 101, which picks up; they talk 2 s and the customer hangs up', async () => {
    const customer = lab!.phone(CUSTOMER);
    const alice = lab!.phone('101');
    const since = recorder.posts.length;
    const mark = customer.mark();
    const aliceMark = alice.mark();
    await customer.dial('101');
    await customer.waitForEstablished(mark);
    const pbxId = await nextCallId(since);
    await alice.waitForEstablished(aliceMark);
    await sleep(2000);
    await customer.hangup();
    await waitForEvent(pbxId, 'incoming_call_end');

    const posts = postsOf(pbxId);
    expect(posts.map((p) => p.body.event)).toEqual(['incoming_call_start', 'incoming_call_answer', 'incoming_call_end']);
    const [start, answer, end] = posts.map((p) => p.body);
    expect(start).toEqual({ event: 'incoming_call_start', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '101', caller_name: 'Claire Client', time: expect.any(Number) });
    expect(answer).toEqual({ event: 'incoming_call_answer', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '101', time: expect.any(Number) });
    expect(end).toEqual({ event: 'incoming_call_end', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '101', duration: expect.any(Number), status: 'ANSWER', time: expect.any(Number) });
    expect(start!.time).toBeLessThanOrEqual(answer!.time);
    expect(answer!.time).toBeLessThanOrEqual(end!.time);
    expect(Math.abs(end!.duration - 2)).toBeLessThanOrEqual(1);
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, ALICE_NUMBER);
    expect(call).toMatchObject({
      call_type: 'inbound',
      direction: 'inbound',
      sip_status: 'answer',
      caller_number: CUSTOMER_E164,
      caller_name: 'Claire Client',
      target_number: ALICE_NUMBER,
      answered: true,
      answered_phone_id: phoneIds['101'],
      employee_id: employeeIds['101'],
    });
    expectTimesCoherent(call);
    expect(Math.abs(call.duration_sec - 2)).toBeLessThanOrEqual(2);
  });

  it('busy: extension 102 rejects the ringing call, which ends with 486', async () => {
    const customer = lab!.phone(CUSTOMER);
    const bob = lab!.phone('102');
    const since = recorder.posts.length;
    const bobMark = bob.mark();
    const mark = customer.mark();
    await customer.dial('102');
    await bob.waitForIncoming(bobMark);
    await bob.hangup(); // baresip rejects a ringing call with 486
    await customer.waitForCallEnd(mark);
    const pbxId = await nextCallId(since);
    await waitForEvent(pbxId, 'incoming_call_end');

    const posts = postsOf(pbxId);
    expect(posts.map((p) => p.body.event)).toEqual(['incoming_call_start', 'incoming_call_end']);
    expect(posts[1]!.body).toEqual({
      event: 'incoming_call_end', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '102',
      duration: 0, status: 'BUSY', sip_code: 486, time: expect.any(Number),
    });
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, BOB_NUMBER);
    expect(call).toMatchObject({
      call_type: 'missed', sip_status: 'busy', caller_number: CUSTOMER_E164, target_number: BOB_NUMBER,
      answered: false, answered_time: null, answered_phone_id: null, duration_sec: 0,
    });
    expectTimesCoherent(call);
  });

  it('cancelled: the customer hangs up while 102 rings, which ends with 487', async () => {
    const customer = lab!.phone(CUSTOMER);
    const bob = lab!.phone('102');
    const since = recorder.posts.length;
    const bobMark = bob.mark();
    const mark = customer.mark();
    await customer.dial('102');
    await bob.waitForIncoming(bobMark);
    await customer.waitFor(/180 Ringing/, { from: mark });
    await customer.hangup(); // a CANCEL while it rings
    await bob.waitForCallEnd(bobMark);
    const pbxId = await nextCallId(since);
    await waitForEvent(pbxId, 'incoming_call_end');

    const posts = postsOf(pbxId);
    expect(posts.map((p) => p.body.event)).toEqual(['incoming_call_start', 'incoming_call_end']);
    expect(posts[1]!.body).toEqual({
      event: 'incoming_call_end', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '102',
      duration: 0, status: 'MISSED', sip_code: 487, time: expect.any(Number),
    });
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, BOB_NUMBER);
    expect(call).toMatchObject({
      call_type: 'missed', sip_status: 'cancel', caller_number: CUSTOMER_E164, target_number: BOB_NUMBER,
      answered: false, answered_phone_id: null, duration_sec: 0,
    });
    expectTimesCoherent(call);
  });

  it('no answer: 102 rings until Kamailio gives up with 408', async () => {
    const customer = lab!.phone(CUSTOMER);
    const bob = lab!.phone('102');
    const since = recorder.posts.length;
    const bobMark = bob.mark();
    const mark = customer.mark();
    await customer.dial('102');
    await bob.waitForIncoming(bobMark);
    await customer.waitForCallEnd(mark, RING_TIMEOUT_MS + 5000);
    const pbxId = await nextCallId(since);
    await waitForEvent(pbxId, 'incoming_call_end');

    const posts = postsOf(pbxId);
    expect(posts.map((p) => p.body.event)).toEqual(['incoming_call_start', 'incoming_call_end']);
    expect(posts[1]!.body).toEqual({
      event: 'incoming_call_end', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '102',
      duration: 0, status: 'NOANSWER', sip_code: 408, time: expect.any(Number),
    });
    expect(posts[1]!.body.time - posts[0]!.body.time).toBeGreaterThanOrEqual(RING_TIMEOUT_MS / 1000 - 1);
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, BOB_NUMBER);
    expect(call).toMatchObject({
      call_type: 'missed', sip_status: 'no_answer', caller_number: CUSTOMER_E164, target_number: BOB_NUMBER,
      answered: false, answered_phone_id: null, duration_sec: 0,
    });
    expect(call.wait_duration_sec).toBeGreaterThanOrEqual(RING_TIMEOUT_MS / 1000 - 1);
    expectTimesCoherent(call);
  });

  it('unknown extension: 199 has no phone, Kamailio answers 404 itself and still reports the end', async () => {
    const customer = lab!.phone(CUSTOMER);
    const since = recorder.posts.length;
    const mark = customer.mark();
    await customer.dial('199');
    await customer.waitForCallEnd(mark);
    const pbxId = await nextCallId(since);
    await waitForEvent(pbxId, 'incoming_call_end');

    const posts = postsOf(pbxId);
    // Exactly once each: the 404 is answered statelessly, so a retransmitted INVITE would post again.
    expect(posts.map((p) => p.body.event)).toEqual(['incoming_call_start', 'incoming_call_end']);
    expect(posts[1]!.body).toEqual({
      event: 'incoming_call_end', pbx_id: pbxId, caller: CUSTOMER_E164, receiver: '199',
      duration: 0, status: 'UNAVAILABLE', sip_code: 404, time: expect.any(Number),
    });
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, '199');
    expect(call).toMatchObject({
      call_type: 'missed', sip_status: 'unavailable', caller_number: CUSTOMER_E164, target_number: '199',
      answered: false, phone_id: null, duration_sec: 0,
    });
    expectTimesCoherent(call);
  });

  it('outgoing: extension 101 calls the customer, who answers; 101 hangs up after 2 s', async () => {
    const customer = lab!.phone(CUSTOMER);
    const alice = lab!.phone('101');
    const since = recorder.posts.length;
    const mark = customer.mark();
    const aliceMark = alice.mark();
    await alice.dial(CUSTOMER);
    await customer.waitForIncoming(mark);
    await customer.accept();
    await alice.waitForEstablished(aliceMark);
    const pbxId = await nextCallId(since);
    await sleep(2000);
    await alice.hangup();
    await waitForEvent(pbxId, 'outgoing_call_end');

    const posts = postsOf(pbxId);
    expect(posts.map((p) => p.body.event)).toEqual(['outgoing_call_start', 'outgoing_call_answer', 'outgoing_call_end']);
    const [start, answer, end] = posts.map((p) => p.body);
    expect(start).toEqual({ event: 'outgoing_call_start', pbx_id: pbxId, caller: '101', receiver: CUSTOMER_E164, caller_name: 'Alice Martin', time: expect.any(Number) });
    expect(answer).toEqual({ event: 'outgoing_call_answer', pbx_id: pbxId, caller: '101', receiver: CUSTOMER_E164, time: expect.any(Number) });
    expect(end).toEqual({ event: 'outgoing_call_end', pbx_id: pbxId, caller: '101', receiver: CUSTOMER_E164, duration: expect.any(Number), status: 'ANSWER', time: expect.any(Number) });
    expect(Math.abs(end!.duration - 2)).toBeLessThanOrEqual(1);
    expectWellFormedPosts(posts);

    const call = await callInSipsim(pbxId, CUSTOMER_E164);
    expect(call).toMatchObject({
      call_type: 'outbound',
      direction: 'outbound',
      sip_status: 'answer',
      caller_number: ALICE_NUMBER,
      target_number: CUSTOMER_E164,
      answered: true,
      phone_id: phoneIds['101'],
      employee_id: employeeIds['101'],
    });
    expectTimesCoherent(call);
    expect(Math.abs(call.duration_sec - 2)).toBeLessThanOrEqual(2);
  });

  it('Kamailio logged no script error, and sipsim took every event it posted', () => {
    const problems = lab!.kamailio.log.split('\n').filter((line) => /\b(ERROR|CRITICAL|WARNING)\b|not accepted/.test(line));
    expect(problems).toEqual([]);
    expect(recorder.posts.length).toBeGreaterThan(0);
    expect(recorder.posts.filter((p) => p.status !== 202)).toEqual([]);
  });
});

if (!SIP_LAB_READY) {
  describe('Kamailio example config with baresip phones', () => {
    it.skip(SIP_LAB_NOTICE, () => {});
  });
}
