import type { FastifyInstance } from 'fastify';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG } from '../helpers/fixture.js';

/**
 * A discovery-based OAuth client library (oauth4webapi) against a real server
 * on a real port: it finds the token endpoint through RFC 8414 metadata, gets
 * tokens with either client authentication method, and reads a refusal as
 * RFC 6749 section 5.2 words it.
 */
describeEngines('OAuth discovery and the token endpoint', (engine) => {
  let app: FastifyInstance;
  let closeStore: () => Promise<void>;
  let base: URL;
  let clientId: string;
  let clientSecret: string;
  // Plain HTTP on the loopback, as in a test; a real deployment sits behind TLS.
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  beforeAll(async () => {
    const opened = await openTestStore(engine);
    closeStore = opened.close;
    const account = await opened.store.createAccount({ name: 'Acme Corporation', email: 'admin@acme.example' });
    const issued = await issueClient(opened.store, account.id, { scopes: 'calls.read account.read' });
    clientId = issued.client.clientId;
    clientSecret = issued.clientSecret;
    app = buildApp({ store: opened.store, config: TEST_CONFIG });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = new URL(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
  });
  afterAll(async () => {
    await app?.close();
    await closeStore?.();
  });

  async function discover(): Promise<oauth.AuthorizationServer> {
    const response = await oauth.discoveryRequest(base, { algorithm: 'oauth2', ...insecure });
    return oauth.processDiscoveryResponse(base, response);
  }

  it('publishes RFC 8414 metadata that a client library discovers', async () => {
    const as = await discover();
    expect(as.issuer).toBe(base.href.replace(/\/$/, ''));
    expect(as.token_endpoint).toBe(new URL('/oauth/token', base).href);
    expect(as.grant_types_supported).toEqual(['client_credentials']);
    expect(as.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
    expect(as.scopes_supported).toEqual([...ALL_SCOPES]);
    expect(as.response_types_supported).toEqual([]);
  });

  it.each([
    ['client_secret_basic', () => oauth.ClientSecretBasic(clientSecret)],
    ['client_secret_post', () => oauth.ClientSecretPost(clientSecret)],
  ])('issues a token the API takes, with %s', async (_method, auth) => {
    const as = await discover();
    const response = await oauth.clientCredentialsGrantRequest(as, { client_id: clientId }, auth(), { scope: 'calls.read' }, insecure);
    const token = await oauth.processClientCredentialsResponse(as, { client_id: clientId }, response);
    expect(token.token_type).toBe('bearer');
    expect(token.scope).toBe('calls.read');
    const account = await fetch(new URL('/api/v2/account', base), { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(account.status).toBe(403); // a real token, short of account.read as asked
    expect(account.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('answers a wrong secret sent in the body with invalid_client and no challenge', async () => {
    const as = await discover();
    const response = await oauth.clientCredentialsGrantRequest(as, { client_id: clientId }, oauth.ClientSecretPost('wrong'), {}, insecure);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBeNull();
    const error = await oauth.processClientCredentialsResponse(as, { client_id: clientId }, response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_client');
  });

  it('answers a wrong secret sent with HTTP Basic with a Basic challenge', async () => {
    const as = await discover();
    const response = await oauth.clientCredentialsGrantRequest(as, { client_id: clientId }, oauth.ClientSecretBasic('wrong'), {}, insecure);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="sipsim"');
    const error = await oauth.processClientCredentialsResponse(as, { client_id: clientId }, response).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect((error as oauth.WWWAuthenticateChallengeError).cause[0]?.scheme).toBe('basic');
  });
});
