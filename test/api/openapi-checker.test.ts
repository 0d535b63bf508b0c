import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';
import { checkerFor } from '../helpers/openapi-checker.js';

/**
 * The check every API test's answers go through (test/helpers/fixture.ts):
 * it must catch an answer the document does not describe, or it proves nothing.
 */
describe('answers checked against the OpenAPI document', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(() => h.close());

  it('finds an undocumented status, a body that does not fit, a bad header and a wrong media type', async () => {
    const checker = await checkerFor(h.app);
    const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1' };
    const envelope = (data: unknown) => JSON.stringify({ status: 200, request_id: 'r1', timestamp: '2024-01-01T00:00:00Z', data });
    const account = { id: 1, company_name: 'Acme', email: null, timezone: 'Europe/Paris', created_at: '2024-01-01T00:00:00Z' };
    const seen = (status: number, body: string, headers: Record<string, string> = json) => ({ method: 'GET', url: '/api/v2/account', status, headers, body });

    expect(checker.problems(seen(200, envelope(account)))).toEqual([]);
    expect(checker.problems(seen(418, '{}'))).toEqual([expect.stringContaining('GET /api/v2/account 418: status not documented')]);
    expect(checker.problems(seen(200, envelope({ ...account, id: 'one' })))).toEqual([expect.stringContaining('/data/id')]);
    expect(checker.problems(seen(200, envelope(account), { ...json, 'content-type': 'text/html' }))).toEqual([
      expect.stringContaining('content type text/html is not one of application/json'),
    ]);
    const token = { method: 'POST', url: '/oauth/token', status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'no' }) };
    expect(checker.problems({ ...token, headers: { ...json, 'www-authenticate': 'Bearer realm="sipsim"' } })).toEqual([
      expect.stringContaining('header WWW-Authenticate'),
    ]);
    // Nothing to check against: a path or method the document does not have.
    expect(checker.problems({ ...seen(404, '{}'), url: '/nowhere' })).toEqual([]);
  });

  it('fails the request whose answer the document does not describe', async () => {
    const checker = await checkerFor(h.app);
    const health = checker.doc.paths['/health'].get.responses;
    const documented = health['200'];
    delete health['200'];
    try {
      await expect(h.app.inject({ url: '/health' })).rejects.toThrow(/GET \/health 200: status not documented/);
    } finally {
      health['200'] = documented;
    }
    expect((await h.app.inject({ url: '/health' })).statusCode).toBe(200);
  });
});
