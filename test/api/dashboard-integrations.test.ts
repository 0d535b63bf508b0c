import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserService } from '../../src/users/service.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const PASSWORD = 'admin password 1';

/**
 * The Integrations page's endpoints, as an admin's browser calls them (cookie
 * and CSRF token): the webhook URL under the CLI's rules, the secret revealed
 * and rotated, a test event that reaches a real receiver, the deliveries and
 * their redelivery, a call's own webhooks, and API clients created and revoked.
 * Also the live-calls poll.
 */
describeEngines('dashboard integrations', (engine) => {
  let h: ApiHarness;
  let cookie: string;
  let csrf: string;
  const receiver = new WebhookReceiver();

  const send = async (method: string, url: string, payload?: unknown) => {
    const response = await h.app.inject({
      method: method as 'GET',
      url,
      headers: { cookie, 'x-csrf-token': csrf, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.body ? response.json() : null };
  };

  beforeAll(async () => {
    await receiver.start();
    h = await createHarness(engine);
    await new UserService(h.store).createUser({ accountId: h.accountId, email: 'admin@acme.example', name: 'Admin', role: 'admin', password: PASSWORD });
    const signed = await h.app.inject({ method: 'POST', url: '/dashboard/api/session', payload: { email: 'admin@acme.example', password: PASSWORD } });
    cookie = String(signed.headers['set-cookie']).split(';')[0]!;
    csrf = signed.json().data.csrf_token;
  });
  afterAll(async () => {
    await h?.close();
    await receiver.stop();
  });

  it('shows no webhook, then sets the URL under the CLI rules, with every event the first time', async () => {
    const empty = await send('GET', '/dashboard/api/webhook');
    expect(empty.status).toBe(200);
    expect(empty.body.data).toEqual({
      url: null,
      events: [],
      available_events: [...WEBHOOK_EVENTS],
      secret_masked: null,
      deliveries: { pending: 0, delivered: 0, failed: 0 },
    });
    for (const url of ['http://hooks.example/x', 'ftp://hooks.example/x', 'https://user:pw@hooks.example/x', 'not a url']) {
      const refused = await send('PUT', '/dashboard/api/webhook', { url });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors[0]).toMatch(/^Cannot use this webhook URL: /);
    }
    expect((await send('PUT', '/dashboard/api/webhook', { url: receiver.url, events: ['nonsense'] })).status).toBe(400);
    const set = await send('PUT', '/dashboard/api/webhook', { url: receiver.url });
    expect(set.status).toBe(200);
    expect(set.body.data.url).toBe(new URL(receiver.url).href);
    expect(set.body.data.events).toEqual([...WEBHOOK_EVENTS]);
    expect(set.body.data.secret_masked).toMatch(/^whsec_\*{12}[A-Za-z0-9_-]{4}$/);
    const fewer = await send('PUT', '/dashboard/api/webhook', { url: receiver.url, events: ['tags', 'incoming_call_end'] });
    expect(fewer.body.data.events).toEqual(WEBHOOK_EVENTS.filter((e) => e === 'tags' || e === 'incoming_call_end'));
    // The API's own view agrees.
    expect((await send('GET', '/api/v2/webhooks')).body.data).toEqual(fewer.body.data.events.map((event: string) => ({ event })));
  });

  it('reveals and rotates the secret; the test event reaches the receiver signed with it', async () => {
    const revealed = (await send('POST', '/dashboard/api/webhook/reveal-secret')).body.data.secret as string;
    expect(revealed).toMatch(/^whsec_/);
    expect((await send('GET', '/dashboard/api/webhook')).body.data.secret_masked.slice(-4)).toBe(revealed.slice(-4));
    const rotated = (await send('POST', '/dashboard/api/webhook/rotate-secret')).body.data.secret as string;
    expect(rotated).not.toBe(revealed);
    receiver.secret = rotated;

    const test = await send('POST', '/dashboard/api/webhook/test');
    expect(test.status).toBe(200);
    expect(test.body.data).toMatchObject({ ok: true, result: 'success', status: 200, error: null, url: new URL(receiver.url).href });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.body.event).toBe('test');
    expect(receiver.received[0]!.valid).toBe(true);

    receiver.behaviour = { status: 500 };
    const failing = await send('POST', '/dashboard/api/webhook/test');
    expect(failing.body.data).toMatchObject({ ok: false, result: 'http_error', status: 500 });
    receiver.behaviour = {};
  });

  it('lists deliveries newest first, a page at a time, filtered by status, and redelivers', async () => {
    const all = await send('GET', '/dashboard/api/webhook/deliveries');
    expect(all.status).toBe(200);
    expect(all.body.data.map((d: { status: string }) => d.status)).toEqual(['failed', 'delivered']);
    expect(all.body.data[0]).toMatchObject({ event: 'test', attempts: 1, last_status: 500, next_attempt_at: null });
    const first = await send('GET', '/dashboard/api/webhook/deliveries?limit=1');
    expect(first.body.pagination).toMatchObject({ count: 1, limit: 1, has_more: true, page: String(all.body.data[0].id) });
    const second = await send('GET', `/dashboard/api/webhook/deliveries?limit=1&before=${first.body.pagination.page}`);
    expect(second.body.data.map((d: { id: number }) => d.id)).toEqual([all.body.data[1].id]);
    expect(second.body.pagination.has_more).toBe(false);
    expect((await send('GET', '/dashboard/api/webhook/deliveries?status=delivered')).body.data).toHaveLength(1);
    for (const query of ['status=lost', 'limit=0', 'limit=201', 'before=abc']) {
      const bad = await send('GET', `/dashboard/api/webhook/deliveries?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.code).toBe('INVALID_PARAMETER');
    }

    const failedId = all.body.data[0].id as number;
    expect((await send('POST', '/dashboard/api/webhook/deliveries/redeliver', { ids: [999999] })).status).toBe(404);
    expect((await send('POST', '/dashboard/api/webhook/deliveries/redeliver', { ids: [] })).status).toBe(400);
    const again = await send('POST', '/dashboard/api/webhook/deliveries/redeliver', { ids: [failedId] });
    expect(again.body.data).toEqual({ queued: [failedId], already_pending: [] });
    const twice = await send('POST', '/dashboard/api/webhook/deliveries/redeliver', { ids: [failedId] });
    expect(twice.body.data).toEqual({ queued: [], already_pending: [failedId] });
    expect((await h.store.webhooks.get(h.accountId, failedId))!.status).toBe('pending');
  });

  it("lists a call's own webhooks", async () => {
    const [callId] = await h.insert([callInput({ start: '2025-01-15T10:00:00Z', pbxId: 'pbx-42' })]);
    const [otherCall] = await h.insert([callInput({ start: '2025-01-15T11:00:00Z', pbxId: 'pbx-43' })]);
    const tagged = await send('POST', '/api/v2/tags', { name: 'VIP' });
    expect(tagged.status).toBe(201);
    expect((await send('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [tagged.body.data.id] })).status).toBeLessThan(300);
    const own = await send('GET', `/dashboard/api/calls/${callId}/webhooks`);
    expect(own.status).toBe(200);
    expect(own.body.data.map((d: { event: string; pbx_id: string }) => [d.event, d.pbx_id])).toEqual([['tags', 'pbx-42']]);
    expect((await send('GET', `/dashboard/api/calls/${otherCall}/webhooks`)).body.data).toEqual([]);
    expect((await send('GET', '/dashboard/api/calls/99999999/webhooks')).status).toBe(404);
    expect((await send('GET', '/dashboard/api/calls/abc/webhooks')).status).toBe(400);
  });

  it('creates an API client with its secret once, lists it, and revokes it', async () => {
    expect((await send('POST', '/dashboard/api/clients', { name: 'CRM', scopes: ['calls.read', 'made.up'] })).status).toBe(400);
    const created = await send('POST', '/dashboard/api/clients', { name: 'CRM', scopes: ['calls.read', 'tags.read'] });
    expect(created.status).toBe(201);
    const { client_id, client_secret } = created.body.data;
    expect(created.body.data).toMatchObject({ name: 'CRM', scopes: ['calls.read', 'tags.read'], revoked_at: null });
    const list = await send('GET', '/dashboard/api/clients');
    expect(list.body.data.find((c: { client_id: string }) => c.client_id === client_id)).toEqual({ ...created.body.data, client_secret: undefined });
    expect(JSON.stringify(list.body)).not.toContain(client_secret);

    const token = await h.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id, client_secret } });
    expect(token.statusCode).toBe(200);
    const bearer = token.json().access_token as string;
    // A bearer token without settings.write cannot manage clients.
    const asClient = await h.app.inject({ method: 'GET', url: '/dashboard/api/clients', headers: { authorization: `Bearer ${bearer}` } });
    expect(asClient.statusCode).toBe(403);

    expect((await send('DELETE', `/dashboard/api/clients/${client_id}`)).status).toBe(204);
    expect((await send('DELETE', '/dashboard/api/clients/sipsim_unknown')).status).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/api/v2/calls?start_time=2025-01-01T00:00:00Z', headers: { authorization: `Bearer ${bearer}` } })).statusCode).toBe(401);
    expect((await send('GET', '/dashboard/api/clients')).body.data.find((c: { client_id: string }) => c.client_id === client_id).revoked_at).toMatch(/Z$/);
    // Another account's client cannot be revoked from here.
    const other = await h.store.createAccount({ name: 'Other' });
    const { issueClient } = await import('../../src/admin.js');
    const foreign = await issueClient(h.store, other.id, { name: 'Theirs' });
    expect((await send('DELETE', `/dashboard/api/clients/${foreign.client.clientId}`)).status).toBe(404);
    expect((await h.store.findClient(foreign.client.clientId))!.revokedAt).toBeNull();
  });

  it('tells a poll which calls were stored since the last one', async () => {
    // The calls of the tests above were stored a while ago. (The poll's clock is in whole
    // seconds and inclusive: a call stored in the second of the last poll comes again.)
    await h.store.db.updateTable('calls').set((eb) => ({ created_at: eb('created_at', '-', 60) })).execute();
    const before = await send('GET', '/dashboard/api/calls/changes');
    expect(before.status).toBe(200);
    expect(before.body.data).toMatchObject({ calls: [], in_progress: [], truncated: false });
    const since = before.body.data.next_since as string;
    const ids = await h.insert([callInput({ start: '2025-02-01T09:00:00Z' }), callInput({ start: '2025-02-01T09:05:00Z' })]);
    const after = await send('GET', `/dashboard/api/calls/changes?since=${encodeURIComponent(since)}`);
    expect(after.body.data.calls.map((c: { id: number }) => c.id).sort()).toEqual([...ids].sort());
    expect(after.body.data.calls[0]).toHaveProperty('call_type');
    expect((await send('GET', '/dashboard/api/calls/changes?since=yesterday')).status).toBe(400);
  });
});
