import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG } from '../helpers/fixture.js';

describe('health endpoints', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  const app = async () => {
    const { store, close } = await openTestStore('sqlite');
    const built = buildApp({ store, config: TEST_CONFIG });
    cleanups.push(async () => {
      await built.close();
      await close();
    });
    return { app: built, store };
  };

  it('answer without a token, in the envelope', async () => {
    const { app: api } = await app();
    for (const [url, data] of [
      ['/health', { status: 'ok', store: 'sqlite' }],
      ['/health/live', { status: 'ok' }],
      ['/health/ready', { status: 'ok', store: 'sqlite' }],
    ] as const) {
      const r = await api.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expect(r.json()).toMatchObject({ status: 200, request_id: r.headers['x-request-id'], data });
    }
  });

  it('live does not touch the store; ready and /health answer 503 when the store is gone', async () => {
    const { app: api, store } = await app();
    await store.close();
    expect((await api.inject({ url: '/health/live' })).statusCode).toBe(200);
    for (const url of ['/health', '/health/ready']) {
      const r = await api.inject({ url });
      expect(r.statusCode, url).toBe(503);
      expect(r.json()).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', path: url });
    }
  });

  it('ready answers 503 once draining, and responses then close their connection', async () => {
    const { app: api } = await app();
    api.draining = true;
    const ready = await api.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 503, code: 'SHUTTING_DOWN', errors: ['This server is shutting down'] });
    expect(ready.headers.connection).toBe('close');
    const live = await api.inject({ url: '/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.headers.connection).toBe('close');
  });
});
