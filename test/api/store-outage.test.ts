import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { issueClient } from '../../src/admin.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, engineAvailable, type TestDatabase } from '../helpers/engines.js';
import { TEST_CONFIG, callInput } from '../helpers/fixture.js';
import { CuttableProxy } from '../helpers/tcp-proxy.js';
import { deriveCall } from '../../src/domain/call.js';

describe.skipIf(!engineAvailable('postgres'))('the API through a PostgreSQL outage', () => {
  let database: TestDatabase;
  let proxy: CuttableProxy;
  let store: Store;
  let app: ReturnType<typeof buildApp>;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const direct = new URL(database.url);
    proxy = new CuttableProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    await proxy.up();
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    store = Store.open(viaProxy.toString());
    await store.migrate();
    const account = await store.accounts.create({ name: 'Acme' });
    await store.ingest.insertCalls(account.id, [deriveCall(callInput({ start: '2024-01-15T10:00:00Z' }))]);
    const { client, clientSecret } = await issueClient(store, account.id);
    app = buildApp({ store, config: TEST_CONFIG });
    const r = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
    });
    token = r.json().access_token;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await database?.drop();
  });

  const listCalls = () =>
    app.inject({ url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z', headers: { authorization: `Bearer ${token}` } });

  it('answers 503 while the store is gone and recovers by itself', async () => {
    expect((await listCalls()).statusCode).toBe(200);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);

    await proxy.down();
    for (const r of [await listCalls(), await app.inject({ url: '/health' })]) {
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.json()).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
    }
    const token401 = await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' } });
    expect(token401.statusCode).toBe(503);

    await proxy.up();
    const back = await listCalls();
    expect(back.statusCode).toBe(200);
    expect(back.json().data).toHaveLength(1);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});
