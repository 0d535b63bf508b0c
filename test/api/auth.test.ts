import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { hashSecret } from '../../src/domain/credentials.js';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

describeEngines('OAuth and scopes', (engine) => {
  let h: ApiHarness;
  let clientId: string;
  let clientSecret: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    const issued = await issueClient(h.store, h.accountId, { scopes: 'account.read calls.read phones.read' });
    clientId = issued.client.clientId;
    clientSecret = issued.clientSecret;
  });
  afterAll(() => h?.close());

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const tokenRequest = (payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload,
    });

  it('issues a token for form-encoded client credentials, as the docs show', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await tokenRequest(
      form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'account.read calls.read' }),
    );
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = r.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 7200, scope: 'account.read calls.read' });
    expect(body.created_at).toBeGreaterThanOrEqual(before);
    expect(body.access_token).toMatch(/^sst_[A-Za-z0-9_-]{40,}$/);
    const account = await h.app.inject({ url: '/api/v2/account', headers: { authorization: `Bearer ${body.access_token}` } });
    expect(account.statusCode).toBe(200);
  });

  it('grants every registered scope when none is asked, and accepts HTTP Basic', async () => {
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const r = await tokenRequest(form({ grant_type: 'client_credentials' }), { authorization: `Basic ${basic}` });
    expect(r.statusCode).toBe(200);
    expect(r.json().scope).toBe('account.read calls.read phones.read');
  });

  it('stores secrets and tokens only as hashes', async () => {
    const r = await tokenRequest(form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }));
    const token = r.json().access_token as string;
    const clients = await h.store.db.selectFrom('oauth_clients').selectAll().execute();
    const tokens = await h.store.db.selectFrom('access_tokens').selectAll().execute();
    const dump = JSON.stringify([clients, tokens]);
    expect(dump).not.toContain(clientSecret);
    expect(dump).not.toContain(token);
    expect(tokens.some((t) => t.token_hash === hashSecret(token))).toBe(true);
  });

  it.each([
    ['a wrong secret', () => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'nope' }), 401, 'invalid_client'],
    ['an unknown client', () => ({ grant_type: 'client_credentials', client_id: 'sipsim_x', client_secret: 'x' }), 401, 'invalid_client'],
    ['no credentials', () => ({ grant_type: 'client_credentials' }), 401, 'invalid_client'],
    ['another grant', () => ({ grant_type: 'password', client_id: clientId, client_secret: clientSecret }), 400, 'unsupported_grant_type'],
    ['no grant', () => ({ client_id: clientId, client_secret: clientSecret }), 400, 'invalid_request'],
    ['an unknown scope', () => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'calls.read everything' }), 400, 'invalid_scope'],
    ['a scope the client lacks', () => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'tags.write' }), 400, 'invalid_scope'],
  ])('refuses %s with the RFC 6749 error shape', async (_name, fields, status, error) => {
    const r = await tokenRequest(form(fields()));
    expect(r.statusCode).toBe(status);
    expect(r.json()).toMatchObject({ error });
    expect(typeof r.json().error_description).toBe('string');
  });

  it('refuses a repeated parameter and credentials sent two ways at once', async () => {
    const repeated = await tokenRequest(`grant_type=client_credentials&grant_type=password&client_id=${clientId}&client_secret=${clientSecret}`);
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json()).toMatchObject({ error: 'invalid_request' });
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const both = await tokenRequest(form({ grant_type: 'client_credentials', client_secret: clientSecret }), { authorization: `Basic ${basic}` });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a revoked client and the tokens it was issued', async () => {
    const issued = await issueClient(h.store, h.accountId, { scopes: 'calls.read' });
    const credentials = { grant_type: 'client_credentials', client_id: issued.client.clientId, client_secret: issued.clientSecret };
    const token = (await tokenRequest(form(credentials))).json().access_token;
    expect(await h.store.revokeClient(issued.client.clientId)).toBe(true);
    expect((await tokenRequest(form(credentials))).statusCode).toBe(401);
    const r = await h.app.inject({ url: '/api/v2/account', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(401);
  });

  it('refuses an expired token', async () => {
    const token = 'sst_expired_token_for_the_test_0000000000000000000';
    await h.store.saveToken({
      tokenHash: hashSecret(token),
      accountId: h.accountId,
      clientId,
      scopes: [...ALL_SCOPES],
      createdAt: 1000,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const r = await h.app.inject({ url: '/api/v2/account', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it.each([
    [undefined, 'MISSING_TOKEN', 'Bearer realm="sipsim"'],
    ['', 'MISSING_TOKEN', 'Bearer realm="sipsim"'],
    ['Bearer', 'MALFORMED_AUTHORIZATION', 'error="invalid_request"'],
    ['Token abc', 'MALFORMED_AUTHORIZATION', 'error="invalid_request"'],
    ['Bearer a b', 'MALFORMED_AUTHORIZATION', 'error="invalid_request"'],
    ['Basic dXNlcjpwYXNz', 'MALFORMED_AUTHORIZATION', 'error="invalid_request"'],
    ['Bearer sst_unknown', 'INVALID_TOKEN', 'error="invalid_token"'],
  ])('answers Authorization %j with a 401 and a Bearer challenge', async (header, code, challenge) => {
    const r = await h.app.inject({
      url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z',
      headers: header === undefined ? {} : { authorization: header },
    });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ status: 401, code, path: '/api/v2/calls' });
    expect(r.headers['www-authenticate']).toContain(challenge);
  });

  it('enforces the scope of every route with a 403 that names it', async () => {
    const token = await h.token('phones.read');
    for (const [url, scope] of [
      ['/api/v2/calls?start_time=2024-01-01T00:00:00Z', 'calls.read'],
      ['/api/v2/calls/1', 'calls.read'],
      ['/api/v2/account', 'account.read'],
    ]) {
      const r = await h.app.inject({ url: url!, headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode).toBe(403);
      expect(r.json().errors[0]).toContain(scope);
      expect(r.headers['www-authenticate']).toBe(`Bearer realm="sipsim", error="insufficient_scope", scope="${scope}"`);
    }
  });

  it('answers a malformed token request body with an error, never a 500', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expect(r.statusCode).toBe(400);
    const big = await tokenRequest(`grant_type=${'x'.repeat(2 * 1024 * 1024)}`);
    expect(big.statusCode).toBe(413);
    // RFC 6749's shape even before the handler runs.
    expect(big.json()).toEqual({ error: 'invalid_request', error_description: 'Request body too large' });
    expect(big.headers['x-request-id']).toBeDefined();
    const xml = await h.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(415);
  });
});
