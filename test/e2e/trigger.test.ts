import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { Store } from '../../src/store/store.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { WebhookReceiver, type Received } from '../helpers/webhook-receiver.js';
import { CLI, run } from '../helpers/programs.js';

const CUSTOMER = '+33612345678';
const SALES = '+33198765432';
const SUPPORT = '+33198765433';

/**
 * `sipsim trigger`: the built CLI against a real `sipsim serve`, through the
 * API only; a real receiver checks that the account's webhook gets each event
 * of the call, signed, as a call reported by a PBX sends them.
 */
describeEngines('sipsim trigger', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let server: ChildProcess;
  let apiUrl = '';
  let accountId = 0;
  let credentials: string[] = [];
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = Store.open(database.url);
    await store.migrate();
    accountId = (await store.createAccount({ name: 'Dupont & Associés' })).id;
    await store.createPhone(accountId, { number: SALES, name: 'Sales', internalNumber: 101 });
    await store.createPhone(accountId, { number: SUPPORT, name: 'Support', internalNumber: 102 });
    const issued = await issueClient(store, accountId);
    credentials = ['--client-id', issued.client.clientId, '--client-secret', issued.clientSecret];
    await receiver.start();
    receiver.secret = (await store.webhooks.setUrl(accountId, receiver.url, [...WEBHOOK_EVENTS])).secret;

    server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--database', database.url], {
      env: { ...process.env, SIPSIM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let banner = '';
    server.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: string) => {
        banner += d;
        const match = /sipsim is serving \S+ at (\S+)/.exec(banner);
        if (match) {
          apiUrl = match[1]!;
          resolve();
        }
      });
      server.on('exit', (code) => reject(new Error(`sipsim serve exited with ${code}:\n${banner}`)));
    });
  });
  afterAll(async () => {
    server?.kill('SIGKILL');
    await receiver.stop();
    await store?.close();
    await database?.drop();
  });

  const trigger = async (args: string[]) => {
    const result = await run(process.execPath, [CLI, 'trigger', ...args, '--api-url', apiUrl, ...credentials], { timeoutMs: 60000 });
    expect(result.code, `sipsim trigger ${args.join(' ')}:\n${result.stderr}${result.stdout}`).toBe(0);
    return result.stdout;
  };
  /** The webhooks of one call, once `count` of them have arrived, in the order of their events' times. */
  const webhooksOf = async (pbxId: string, count: number): Promise<Received[]> => {
    await receiver.waitFor((all) => all.filter((r) => r.body.pbx_id === pbxId).length >= count, 30000);
    const mine = receiver.received.filter((r) => r.body.pbx_id === pbxId);
    expect(mine.every((r) => r.valid && r.answered === 200)).toBe(true);
    return mine;
  };
  const summary = (r: Received) => [r.body.event, r.body.receiver, r.body.status ?? null];
  const byTime = (a: Received, b: Received) => Date.parse(a.body.time) - Date.parse(b.body.time);
  const callOf = async (id: number) => {
    const token = await fetch(`${apiUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials[1]!, client_secret: credentials[3]! }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const response = await fetch(`${apiUrl}/api/v2/calls/${id}`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: Record<string, any> }).data;
  };

  it('incoming-call --chain 2 --fast: each event of an answered call reaches the webhook, signed, and the call is stored', async () => {
    const out = JSON.parse(await trigger(['incoming-call', '--chain', '2', '--from', CUSTOMER, '--to', SALES, '--duration', '42', '--fast', '--json']));
    expect(out.events).toHaveLength(6);
    const received = (await webhooksOf(out.pbx_id, 6)).sort(byTime);
    expect(received.map(summary)).toEqual([
      ['incoming_call_start', SALES, null],
      ['incoming_call_start_chain_member_call', '101', null],
      ['incoming_call_end_chain_member_call', '101', null],
      ['incoming_call_start_chain_member_call', '102', null],
      ['incoming_call_answer', '102', null],
      ['incoming_call_end', SALES, 'ANSWER'],
    ]);
    const end = received[5]!.body;
    expect(end).toEqual({ event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: end.time, pbx_id: out.pbx_id, duration: 42, audio_path: null, status: 'ANSWER' });
    const call = await callOf(out.call_id);
    expect(call).toMatchObject({ id: out.call_id, caller_number: CUSTOMER, call_type: 'inbound', duration_sec: 42, wait_duration_sec: 8, answered: true });
  }, 90000);

  it('incoming-call --busy plays in real time and ends BUSY', async () => {
    const out = JSON.parse(await trigger(['incoming-call', '--busy', '--from', CUSTOMER, '--json']));
    const received = (await webhooksOf(out.pbx_id, 2)).sort(byTime);
    expect(received.map(summary)).toEqual([
      ['incoming_call_start', SALES, null],
      ['incoming_call_end', SALES, 'BUSY'],
    ]);
    // Each event carries the time of its step: the busy tone a second after the start.
    expect(Date.parse(received[1]!.body.time) - Date.parse(received[0]!.body.time)).toBe(1000);
  }, 90000);

  it('incoming-call --voicemail --fast: a missed call, then the voicemail, stored as a voicemail', async () => {
    const out = JSON.parse(await trigger(['incoming-call', '--voicemail', '--to', '102', '--fast', '--json']));
    const received = (await webhooksOf(out.pbx_id, 5)).sort(byTime);
    expect(received.map(summary)).toEqual([
      ['incoming_call_start', SUPPORT, null],
      ['incoming_call_start_chain_member_call', '102', null],
      ['incoming_call_end_chain_member_call', '102', null],
      ['incoming_call_end', SUPPORT, 'MISSED'],
      ['voicemail', SUPPORT, null],
    ]);
    expect(received[4]!.body.duration).toBe(8);
    expect((await callOf(out.call_id)).call_type).toBe('voicemail');
  }, 90000);

  it('outgoing-call --no-answer --fast, from an extension', async () => {
    const out = JSON.parse(await trigger(['outgoing-call', '--no-answer', '--from', '101', '--to', CUSTOMER, '--fast', '--json']));
    const received = (await webhooksOf(out.pbx_id, 2)).sort(byTime);
    expect(received.map((r) => [r.body.event, r.body.caller, r.body.receiver, r.body.status ?? null])).toEqual([
      ['outgoing_call_start', SALES, CUSTOMER, null],
      ['outgoing_call_end', SALES, CUSTOMER, 'NOANSWER'],
    ]);
    expect((await callOf(out.call_id)).call_type).toBe('outbound');
  }, 90000);

  it('sms and tags send their webhooks', async () => {
    const sms = JSON.parse(await trigger(['sms', '--from', CUSTOMER, '--message', 'Rappelez-moi, svp', '--json']));
    expect(sms.sms_id).toEqual(expect.any(Number));
    await receiver.waitFor((all) => all.some((r) => r.body.event === 'sms'), 30000);
    const got = receiver.received.find((r) => r.body.event === 'sms')!;
    expect(got.valid).toBe(true);
    expect(got.body).toEqual({ event: 'sms', caller: CUSTOMER, receiver: SALES, message: 'Rappelez-moi, svp', time: sms.sms.time, direction: 'inbound' });

    const call = JSON.parse(await trigger(['incoming-call', '--missed', '--fast', '--json']));
    const text = await trigger(['tags', String(call.call_id), 'VIP', 'Rappel']);
    expect(text).toBe(`Call ${call.call_id} now has tags: Rappel, VIP\n`);
    await receiver.waitFor((all) => all.some((r) => r.body.event === 'tags' && r.body.pbx_id === call.pbx_id), 30000);
    const tags = receiver.received.find((r) => r.body.event === 'tags' && r.body.pbx_id === call.pbx_id)!;
    expect(tags.valid).toBe(true);
    expect([...tags.body.tags].sort()).toEqual(['Rappel', 'VIP']);
  }, 90000);

  it('says what is wrong, with exit 1', async () => {
    const unknown = await run(process.execPath, [CLI, 'trigger', 'tags', '999999', 'VIP', '--api-url', apiUrl, ...credentials], { timeoutMs: 60000 });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sipsim: .*HTTP 404/);
    const both = await run(process.execPath, [CLI, 'trigger', 'incoming-call', '--busy', '--missed', '--api-url', apiUrl, ...credentials], { timeoutMs: 60000 });
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/cannot be used with/);
  }, 90000);
});
