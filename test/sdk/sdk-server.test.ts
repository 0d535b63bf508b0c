import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import type { CallTagsAdd, PhonePatch, TagCreate, TagPatch } from '../../src/api/schemas/directory.js';
import { formatDateTime } from '../../src/domain/time.js';
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  Sipsim,
  type APIError,
  type Call,
  type CallTagsParams,
  type FetchLike,
  type PhoneUpdateParams,
  type TagCreateParams,
  type TagUpdateParams,
} from '../../src/sdk/index.js';
import { describeEngines } from '../helpers/engines.js';
import { at, callInput, createHarness, TEST_CONFIG, type ApiHarness } from '../helpers/fixture.js';

/**
 * The SDK against a real server on a real port: every resource method, every
 * page of a long history, tokens as they expire or are revoked, and the error
 * classes of real refusals.
 */

// The SDK's bodies are the server's, field for field: a drift fails the typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<TagCreateParams, Static<typeof TagCreate>>;
true satisfies Same<TagUpdateParams, Static<typeof TagPatch>>;
true satisfies Same<CallTagsParams, Static<typeof CallTagsAdd>>;
true satisfies Same<PhoneUpdateParams, Static<typeof PhonePatch>>;

const CALLS = 250;
const FIRST_START = at('2024-03-01T09:00:00Z');
const WINDOW = { start_time: '2024-03-01T00:00:00Z', end_time: '2024-03-31T23:59:59Z' };

/** Every fetch the client makes, with the path and status it got. */
function recordingFetch() {
  const log: Array<{ path: string; status: number }> = [];
  const fetch: FetchLike = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    log.push({ path: new URL(url).pathname, status: response.status });
    return response;
  };
  return { fetch, log, tokenRequests: () => log.filter((entry) => entry.path === '/oauth/token').length };
}

async function listenOn(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** The rejection of a call that must fail. */
const caught = (promise: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(promise).then(() => Promise.reject(new Error('expected a rejection')), (e: unknown) => e);

describeEngines('the SDK against a real server', (engine) => {
  let h: ApiHarness;
  let baseUrl: string;
  let credentials: { clientId: string; clientSecret: string };
  let sipsim: Sipsim;
  let alice: number;
  let bob: number;
  let important: number;
  let followUp: number;
  let deskPhone: number;
  let sparePhone: number;
  let seeded: Array<{ id: number; start: number; employee: number; missed: boolean; tagged: boolean; named: boolean }>;
  const newestFirst = (calls: typeof seeded) => [...calls].sort((a, b) => b.start - a.start || b.id - a.id).map((c) => c.id);

  beforeAll(async () => {
    h = await createHarness(engine);
    alice = (await h.store.createEmployee(h.accountId, { name: 'Alice Martin', email: 'alice@acme.example' })).id;
    bob = (await h.store.createEmployee(h.accountId, { name: 'Bob Durand' })).id;
    deskPhone = (await h.store.createPhone(h.accountId, { number: '+33198765432', name: 'Desk', internalNumber: 101, employeeId: alice })).id;
    sparePhone = (await h.store.createPhone(h.accountId, { number: '+33198765433', name: 'Spare', status: 'inactive' })).id;
    important = (await h.store.createTag(h.accountId, { name: 'Important', color: '#FF0000' })).id;
    followUp = (await h.store.createTag(h.accountId, { name: 'Follow-up' })).id;

    // Two calls to a start time, so that pages split ties.
    const plan = Array.from({ length: CALLS }, (_, i) => ({
      start: FIRST_START + Math.floor(i / 2) * 600,
      employee: i % 7 === 0 ? alice : bob,
      missed: i % 5 === 0,
      tagged: i % 10 === 3,
      named: i === 42,
    }));
    const ids = await h.insert(
      plan.map((p) => ({
        ...callInput({ start: formatDateTime(p.start) }),
        ...(p.missed ? { answeredTime: null, sipCode: 487 } : {}),
        ...(p.named ? { callerName: 'Élodie Dupont' } : {}),
        employeeId: p.employee,
        tagIds: p.tagged ? [important] : [],
      })),
    );
    seeded = plan.map((p, i) => ({ ...p, id: ids[i]! }));
    const other = await h.store.createAccount({ name: 'Other Co' });
    await h.insert(Array.from({ length: 20 }, (_, i) => callInput({ start: formatDateTime(FIRST_START + i * 600) })), other.id);

    const issued = await issueClient(h.store, h.accountId);
    credentials = { clientId: issued.client.clientId, clientSecret: issued.clientSecret };
    baseUrl = await listenOn(h.app);
    sipsim = new Sipsim({ baseUrl, ...credentials });
  });
  afterAll(() => h?.close());

  it('retrieves the account', async () => {
    expect(await sipsim.account.retrieve()).toEqual({
      id: h.accountId,
      company_name: 'Acme Corporation',
      email: 'admin@acme.example',
      timezone: expect.any(String),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });

  it('walks every page of the history, as the API serves it', async () => {
    const first = await sipsim.calls.list({ ...WINDOW, limit: 100 });
    expect(first.data).toHaveLength(100);
    expect(first.pagination).toEqual({ count: 100, limit: 100, page: expect.any(String), has_more: true });
    expect(first.hasNextPage()).toBe(true);

    const all: Call[] = [];
    for await (const call of sipsim.calls.list({ ...WINDOW, limit: 100 })) all.push(call);
    expect(all.map((c) => c.id)).toEqual(newestFirst(seeded));

    const sizes: number[] = [];
    for await (const page of sipsim.calls.list({ ...WINDOW, limit: 100 }).iterPages()) sizes.push(page.data.length);
    expect(sizes).toEqual([100, 100, 50]);

    // The same calls, field for field, as the raw API answers them.
    const token = await h.token();
    const raw: Call[] = [];
    let page: string | undefined;
    do {
      const query = new URLSearchParams({ ...WINDOW, limit: '100', ...(page ? { page } : {}) });
      const body = (await h.app.inject({ url: `/api/v2/calls?${query}`, headers: { authorization: `Bearer ${token}` } })).json();
      raw.push(...body.data);
      page = body.pagination.page;
    } while (page);
    expect(all).toEqual(raw);
    expect(await sipsim.calls.retrieve(all[17]!.id)).toEqual(all[17]);
  });

  it('filters by employees, tags, call types, search and a window of Dates', async () => {
    const ids = async (params: Parameters<Sipsim['calls']['list']>[0]) => {
      const found: number[] = [];
      for await (const call of sipsim.calls.list({ limit: 50, ...params })) found.push(call.id);
      return found;
    };
    expect(await ids({ ...WINDOW, employees: [alice] })).toEqual(newestFirst(seeded.filter((c) => c.employee === alice)));
    expect(await ids({ ...WINDOW, employees: `${alice},${bob}` })).toEqual(newestFirst(seeded));
    expect(await ids({ ...WINDOW, tags: [important] })).toEqual(newestFirst(seeded.filter((c) => c.tagged)));
    expect(await ids({ ...WINDOW, call_types: ['missed'] })).toEqual(newestFirst(seeded.filter((c) => c.missed)));
    expect(await ids({ ...WINDOW, call_types: 'inbound,outgoing' })).toEqual(newestFirst(seeded.filter((c) => !c.missed)));
    expect(await ids({ ...WINDOW, search: 'elodie' })).toEqual(newestFirst(seeded.filter((c) => c.named)));
    const from = FIRST_START + 10 * 600;
    const to = FIRST_START + 19 * 600;
    expect(await ids({ start_time: new Date(from * 1000), end_time: new Date(to * 1000) })).toEqual(
      newestFirst(seeded.filter((c) => c.start >= from && c.start <= to)),
    );
  });

  it('adds, replaces and removes the tags of a call', async () => {
    const callId = seeded[1]!.id;
    const added = await sipsim.calls.addTags(callId, { tag_ids: [followUp, important] });
    expect(added.tags.map((t) => t.id).sort()).toEqual([important, followUp].sort());
    expect((await sipsim.calls.addTags(callId, { tag_ids: [followUp] })).tags).toHaveLength(2);
    expect((await sipsim.calls.removeTag(callId, important)).tags).toEqual([{ id: followUp, name: 'Follow-up' }]);
    const tagged: number[] = [];
    for await (const call of sipsim.calls.list({ ...WINDOW, tags: [followUp] })) tagged.push(call.id);
    expect(tagged).toEqual([callId]);
    expect((await sipsim.calls.replaceTags(callId, { tag_ids: [] })).tags).toEqual([]);
    expect((await sipsim.calls.retrieve(callId)).tags).toEqual([]);
    const missing = await caught(sipsim.calls.addTags(callId, { tag_ids: [999_999] }));
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  it('creates, reads, updates, lists and deletes tags', async () => {
    const created = await sipsim.tags.create({ name: 'Sales Lead', color: '#22C55E', description: 'Potential sales opportunity' });
    expect(created).toEqual({ id: expect.any(Number), name: 'Sales Lead', color: '#22C55E', description: 'Potential sales opportunity' });
    expect(await sipsim.tags.retrieve(created.id)).toEqual(created);
    const updated = await sipsim.tags.update(created.id, { name: 'VIP Customer', description: null });
    expect(updated).toEqual({ ...created, name: 'VIP Customer', description: null });
    const names: string[] = [];
    for await (const tag of sipsim.tags.list({ limit: 1 })) names.push(tag.name);
    expect(names).toEqual(['Important', 'Follow-up', 'VIP Customer']);
    await expect(sipsim.tags.delete(created.id)).resolves.toBeUndefined();
    expect(await caught(sipsim.tags.retrieve(created.id))).toBeInstanceOf(NotFoundError);
  });

  it('lists, reads and updates phones', async () => {
    const active = await sipsim.phones.list({ status: 'active' });
    expect(active.data.map((p) => p.id)).toEqual([deskPhone]);
    const both = await sipsim.phones.list({ status: ['active', 'inactive'] });
    expect(both.data.map((p) => p.id)).toEqual([deskPhone, sparePhone]);
    const desk = await sipsim.phones.retrieve(deskPhone);
    expect(desk).toMatchObject({ id: deskPhone, number: '+33198765432', internal_number: 101, employee_id: alice, status: 'active' });
    const changed = await sipsim.phones.update(deskPhone, {
      name: 'Front desk',
      record_setting: { record_inbound_call: false },
      group: { group_id: 3, group_title: 'Support' },
    });
    expect(changed).toEqual({
      ...desk,
      name: 'Front desk',
      updated_at: expect.any(String),
      group: { group_id: 3, group_title: 'Support' },
      record_setting: { record_inbound_call: false, record_outbound_call: true },
    });
    expect(await sipsim.phones.retrieve(deskPhone)).toEqual(changed);
  });

  it('lists and reads employees', async () => {
    const page = await sipsim.employees.list();
    expect(page.data.map((e) => [e.id, e.name])).toEqual([
      [alice, 'Alice Martin'],
      [bob, 'Bob Durand'],
    ]);
    expect(page.hasNextPage()).toBe(false);
    expect(await sipsim.employees.retrieve(alice)).toEqual({
      id: alice,
      name: 'Alice Martin',
      email: 'alice@acme.example',
      phone_ids: [deskPhone],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('throws the error class of each refusal, with its request id, messages and code', async () => {
    const expectRefusal = (error: unknown, ErrorClass: new (...args: never[]) => APIError, status: number, code: string) => {
      expect(error).toBeInstanceOf(ErrorClass);
      const e = error as APIError;
      expect(e).toMatchObject({ status, code });
      expect(e.request_id).toMatch(/\S/);
      expect(e.request_id).toBe(e.headers.get('x-request-id'));
      expect(e.errors.length).toBeGreaterThan(0);
      return e;
    };

    const badLimit = expectRefusal(await caught(sipsim.calls.list({ ...WINDOW, limit: 5 })), BadRequestError, 400, 'INVALID_PARAMETER');
    expect(badLimit.errors[0]).toContain("'limit'");
    expectRefusal(await caught(sipsim.calls.list({ ...WINDOW, page: 'forged' })), BadRequestError, 400, 'INVALID_PAGE_TOKEN');
    expectRefusal(await caught(sipsim.tags.create({ name: ' ' })), BadRequestError, 400, 'INVALID_BODY');

    const stranger = new Sipsim({ baseUrl, accessToken: 'not-a-token' });
    const unauthenticated = expectRefusal(await caught(stranger.account.retrieve()), AuthenticationError, 401, 'INVALID_TOKEN');
    expect(unauthenticated.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.read tags.read' });
    const reader = new Sipsim({ baseUrl, clientId: client.clientId, clientSecret, scopes: ['calls.read'] });
    const denied = expectRefusal(await caught(reader.tags.list()), PermissionDeniedError, 403, 'INSUFFICIENT_SCOPE');
    expect(denied.errors[0]).toContain('tags.read');
    const tooMuch = await caught(new Sipsim({ baseUrl, clientId: client.clientId, clientSecret, scopes: 'phones.read' }).phones.list());
    expect(tooMuch).toBeInstanceOf(BadRequestError);
    expect(tooMuch).toMatchObject({ code: 'invalid_scope' });

    expectRefusal(await caught(sipsim.calls.retrieve(999_999)), NotFoundError, 404, 'NOT_FOUND');
    const conflict = expectRefusal(await caught(sipsim.tags.create({ name: 'important' })), ConflictError, 409, 'CONFLICT');
    expect(conflict.errors).toEqual(['Tag with this name already exists']);
  });

  it('gets a token once, and a new one after the server forgets it', async () => {
    const recorder = recordingFetch();
    const client = new Sipsim({ baseUrl, ...credentials, fetch: recorder.fetch });
    await client.account.retrieve();
    await Promise.all([client.calls.retrieve(seeded[0]!.id), client.tags.list(), client.employees.list()]);
    expect(recorder.tokenRequests()).toBe(1);

    await h.store.db.deleteFrom('access_tokens').execute();
    await client.account.retrieve();
    expect(recorder.log.slice(-3)).toEqual([
      { path: '/api/v2/account', status: 401 },
      { path: '/oauth/token', status: 200 },
      { path: '/api/v2/account', status: 200 },
    ]);
  });

  it('renews a short-lived token before it expires', async () => {
    const shortLived = buildApp({ store: h.store, config: { ...TEST_CONFIG, tokenTtlSeconds: 2 } });
    try {
      const recorder = recordingFetch();
      const client = new Sipsim({ baseUrl: await listenOn(shortLived), ...credentials, fetch: recorder.fetch });
      await client.account.retrieve();
      await client.account.retrieve();
      expect(recorder.tokenRequests()).toBe(1);
      // Renewed once half its two seconds are gone, before the server would refuse it.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await client.account.retrieve();
      expect(recorder.tokenRequests()).toBe(2);
      expect(recorder.log.every((entry) => entry.status === 200)).toBe(true);
    } finally {
      await shortLived.close();
    }
  });

  it('reports a revoked client as an AuthenticationError from the token endpoint', async () => {
    const { client, clientSecret } = await issueClient(h.store, h.accountId);
    const revoked = new Sipsim({ baseUrl, clientId: client.clientId, clientSecret });
    await revoked.account.retrieve();
    await h.store.revokeClient(client.clientId);
    const error = await caught(revoked.account.retrieve());
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_client' });
  });

  it('retries a refused connection, then reports it', async () => {
    const probe = buildApp({ store: h.store, config: TEST_CONFIG });
    const closedUrl = await listenOn(probe);
    await probe.close();
    const recorder = recordingFetch();
    let attempts = 0;
    const counting: FetchLike = (url, init) => {
      attempts += 1;
      return recorder.fetch(url, init);
    };
    const client = new Sipsim({ baseUrl: closedUrl, accessToken: 't', fetch: counting, retryDelays: { initialDelayMs: 5 } });
    const error = await caught(client.account.retrieve());
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).toMatchObject({ notSent: true, status: undefined });
    expect(attempts).toBe(3);
  });
});
