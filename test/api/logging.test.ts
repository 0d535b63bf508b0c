import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG } from '../helpers/fixture.js';

/**
 * Every log line, at the most talkative level, through the requests that carry
 * credentials: none of them may reach a line, and every request line names its
 * request id.
 */
describe('logs', () => {
  const lines: string[] = [];
  const responses: LightMyRequestResponse[] = [];
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let clientId: string;
  let clientSecret: string;
  let token: string;
  const badToken = 'Zm9yZ2VkLXRva2VuLXRoYXQtZG9lcy1ub3QtZXhpc3Q';

  beforeAll(async () => {
    const opened = await openTestStore('sqlite');
    close = opened.close;
    const account = await opened.store.accounts.create({ name: 'Acme' });
    ({ client: { clientId }, clientSecret } = await issueClient(opened.store, account.id));
    app = buildApp({
      store: opened.store,
      config: { ...TEST_CONFIG, logLevel: 'trace' },
      logStream: { write: (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)) },
    });
    const send = async (options: InjectOptions) => {
      const r = await app.inject(options);
      responses.push(r);
      return r;
    };

    const credentials = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret };
    const form = new URLSearchParams(credentials).toString();
    const fromForm = await send({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });
    expect(fromForm.statusCode).toBe(200);
    token = fromForm.json().access_token;
    const fromJson = await send({
      method: 'POST',
      url: '/oauth/token',
      payload: credentials,
    });
    expect(fromJson.statusCode).toBe(200);
    const fromBasic = await send({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials',
    });
    expect(fromBasic.statusCode).toBe(200);
    // A wrong secret, and a body that is not JSON but carries the secret.
    const wrongSecret = { grant_type: 'client_credentials', client_id: clientId, client_secret: `${clientSecret}x` };
    expect((await send({ method: 'POST', url: '/oauth/token', payload: wrongSecret })).statusCode).toBe(401);
    const broken = `{"client_secret":"${clientSecret}"`;
    const json = { 'content-type': 'application/json' };
    expect((await send({ method: 'POST', url: '/oauth/token', headers: json, payload: broken })).statusCode).toBe(400);

    const bearer = { authorization: `Bearer ${token}` };
    expect((await send({ url: '/api/v2/account', headers: bearer })).statusCode).toBe(200);
    expect((await send({ url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z', headers: bearer })).statusCode).toBe(200);
    expect((await send({ url: '/api/v2/calls/424242', headers: bearer })).statusCode).toBe(404);
    expect((await send({ url: '/api/v2/account', headers: { authorization: `Bearer ${badToken}` } })).statusCode).toBe(401);
    expect((await send({ url: '/api/v2/account', headers: { authorization: `Token ${token}` } })).statusCode).toBe(401);
    // A failure that is logged with its error, while the request carries a token.
    await opened.store.close();
    expect((await send({ url: '/api/v2/account', headers: bearer })).statusCode).toBe(503);
  });
  afterAll(async () => {
    await app?.close();
    await close?.();
  });

  it('are JSON, one line each, and include the logged failure', () => {
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('store unavailable');
  });

  it('never hold a client secret, an access token or an Authorization header', () => {
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const secrets = [clientSecret, encodeURIComponent(clientSecret), token, badToken, basic, 'Bearer ', 'Basic '];
    for (const line of lines) {
      for (const secret of secrets) expect(line, `a log line holds ${secret}`).not.toContain(secret);
      expect(line.toLowerCase()).not.toContain('authorization');
    }
  });

  it('give one line per request, with its request id, method, path and status', () => {
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(responses.length);
    expect(requestLines.map((l) => l.reqId)).toEqual(responses.map((r) => r.headers['x-request-id']));
    for (const line of requestLines) {
      expect(line).toMatchObject({ method: expect.any(String), path: expect.stringMatching(/^\//), status: expect.any(Number) });
      expect(line.path).not.toContain('?');
    }
  });

  it('tie every line to the request it was logged for', () => {
    const ids = new Set(responses.map((r) => r.headers['x-request-id']));
    for (const line of lines.map((l) => JSON.parse(l))) expect(ids.has(line.reqId), JSON.stringify(line)).toBe(true);
  });
});
