import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { TEST_CONFIG, callInput } from '../helpers/fixture.js';
import { deriveCall } from '../../src/domain/call.js';

/**
 * Writes that race: two servers on one database (two pools on PostgreSQL, two
 * connections to one file on SQLite), as in a deployment of several processes.
 */
describeEngines('concurrent writes', (engine) => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const apps: FastifyInstance[] = [];
  let token: string;
  let accountId: number;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    for (let i = 0; i < 2; i++) {
      const store = Store.open(database.url);
      await store.migrate();
      stores.push(store);
      const app = buildApp({ store, config: TEST_CONFIG });
      await app.ready();
      apps.push(app);
    }
    accountId = (await stores[0]!.createAccount({ name: 'Acme' })).id;
    const { client, clientSecret } = await issueClient(stores[0]!, accountId, {});
    token = (
      await apps[0]!.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
      })
    ).json().access_token;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const store of stores) await store.close();
    await database?.drop();
  });

  const send = (i: number, method: string, url: string, payload: object) =>
    apps[i % 2]!.inject({ method: method as 'POST', url, payload, headers: { authorization: `Bearer ${token}` } });

  it('creates one tag and answers 409 to the others when the same name is created at once', async () => {
    const names = ['Escalated', 'ESCALATED', 'escalated', ' Escalated ', 'EsCaLaTeD', 'Escalated', 'escalated ', 'ESCALATED', 'Escalated', 'escalated'];
    const responses = await Promise.all(names.map((name, i) => send(i, 'POST', '/api/v2/tags', { name })));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(names.length - 1).fill(409)]);
    for (const r of responses.filter((x) => x.statusCode === 409)) {
      expect(r.json().errors).toEqual(['Tag with this name already exists']);
    }
    const tags = (await apps[1]!.inject({ url: '/api/v2/tags', headers: { authorization: `Bearer ${token}` } })).json().data;
    expect(tags.filter((t: { name: string }) => t.name.toLowerCase().trim() === 'escalated')).toHaveLength(1);
  });

  it('applies concurrent tag changes of one call one after the other, losing none', async () => {
    const [callId] = await stores[0]!.insertCalls(accountId, [deriveCall(callInput({ start: '2024-01-15T10:30:05Z' }))]);
    const tagIds: number[] = [];
    for (let i = 0; i < 12; i++) tagIds.push((await stores[0]!.createTag(accountId, { name: `Topic ${i}` })).id);
    const responses = await Promise.all(tagIds.map((id, i) => send(i, 'POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [id] })));
    expect(responses.map((r) => r.statusCode)).toEqual(tagIds.map(() => 200));
    const call = await stores[1]!.getCall(accountId, callId!);
    expect(call!.tags.map((t) => t.id).sort((a, b) => a - b)).toEqual([...tagIds].sort((a, b) => a - b));
    // Concurrent replacements leave exactly one of the sets, never a mixture.
    const sets = [tagIds.slice(0, 3), tagIds.slice(3, 6), tagIds.slice(6, 9), tagIds.slice(9, 12)];
    await Promise.all(sets.map((set, i) => send(i, 'PUT', `/api/v2/calls/${callId}/tags`, { tag_ids: set })));
    const after = (await stores[0]!.getCall(accountId, callId!))!.tags.map((t) => t.id).sort((a, b) => a - b);
    expect(sets.map((s) => JSON.stringify([...s].sort((a, b) => a - b)))).toContain(JSON.stringify(after));
  });
});
