import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { formatDateTime } from '../../src/domain/time.js';
import { describeEngines } from '../helpers/engines.js';
import { CLIENT_TOOLS_READY } from '../helpers/tools.js';
import { at, callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';
import { fillPlaceholders, GUIDE_BASE_URL, lines, listen, readExample, runCurl, runPython, scratchDir } from '../helpers/programs.js';

/**
 * A client as the documentation writes one: Python `requests` gets a token with
 * the client-credentials grant, reads the account, and follows the page tokens
 * to the end of the history; curl does the same grant with HTTP Basic.
 */

const CALLS = 60; // three full pages of 20: no empty page may follow the last full one
const SCOPES = 'account.read calls.read phones.read';

describeEngines('documented OAuth clients against a real server', { skipIf: !CLIENT_TOOLS_READY }, (engine) => {
  let h: ApiHarness;
  let base: string;
  let clientId: string;
  let clientSecret: string;
  let expectedIds: number[];
  let scratch: { path: string; remove(): void };

  beforeAll(async () => {
    h = await createHarness(engine);
    scratch = scratchDir('sipsim-e2e-client-');
    const other = await h.store.createAccount({ name: 'Other Company' });
    // Calls three to a start time, so that pages split ties, interleaved with another account's.
    const starts = Array.from({ length: CALLS }, (_, i) => at('2024-03-01T09:00:00Z') + Math.floor(i / 3) * 3600);
    const ours: number[] = [];
    for (let i = 0; i < CALLS; i += 10) {
      ours.push(...(await h.insert(starts.slice(i, i + 10).map((s) => callInput({ start: formatDateTime(s) })))));
      await h.insert(starts.slice(i, i + 5).map((s) => callInput({ start: formatDateTime(s) })), other.id);
    }
    expectedIds = ours
      .map((id, i) => ({ id, start: starts[i]! }))
      .sort((a, b) => b.start - a.start || b.id - a.id)
      .map((c) => c.id);
    const issued = await issueClient(h.store, h.accountId, { scopes: SCOPES });
    clientId = issued.client.clientId;
    clientSecret = issued.clientSecret;
    base = await listen(h.app);
  });
  afterAll(async () => {
    await h?.close();
    scratch?.remove();
  });

  it('Python requests: token in the form body, account, then every page until has_more is false', async () => {
    const program = fillPlaceholders(readExample('python-client-flow.py'), {
      [GUIDE_BASE_URL]: base,
      YOUR_CLIENT_ID: clientId,
      YOUR_CLIENT_SECRET: clientSecret,
    });
    const result = await runPython(program, scratch.path);
    expect(result.code, result.stderr).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/^Access Token: \S{20,}$/);
    expect(out.slice(1, 3)).toEqual([
      'Token type: Bearer; expires in: 7200; scope: account.read calls.read',
      'Connected as: Acme Corporation',
    ]);
    expect(out[3]).toBe('Pages: [20, 20, 20]');
    // The last page carries no token.
    expect(JSON.parse(out[4]!.replace('Last pagination: ', ''))).toEqual({ count: 20, has_more: false, limit: 20 });
    const seen = JSON.parse(out[5]!.replace('Call ids: ', '')) as number[];
    expect(seen).toHaveLength(CALLS);
    expect(new Set(seen).size).toBe(CALLS);
    expect(seen).toEqual(expectedIds);
  });

  it("curl: the Authentication page's token request, as printed there", async () => {
    const command = fillPlaceholders(
      [
        'curl -X POST https://app.sipsim.com/oauth/token \\',
        '  -H "Content-Type: application/x-www-form-urlencoded" \\',
        '  -d "grant_type=client_credentials" \\',
        '  -d "client_id=YOUR_CLIENT_ID" \\',
        '  -d "client_secret=YOUR_CLIENT_SECRET" \\',
        '  -d "scope=account.read calls.read phones.read"',
      ].join('\n'),
      { [GUIDE_BASE_URL]: base, YOUR_CLIENT_ID: clientId, YOUR_CLIENT_SECRET: clientSecret },
    );
    const { status, body } = await runCurl(command, scratch.path);
    expect(status).toBe(200);
    const token = JSON.parse(body);
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 7200, scope: 'account.read calls.read phones.read' });
    expect(Math.abs(token.created_at - Date.now() / 1000)).toBeLessThan(60);
  });

  it('curl -u id:secret (HTTP Basic) gets every registered scope, and the token reads the account', async () => {
    const grant = await runCurl(`curl -u ${clientId}:${clientSecret} -d grant_type=client_credentials ${base}/oauth/token`, scratch.path);
    expect(grant.status).toBe(200);
    const token = JSON.parse(grant.body);
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 7200, scope: SCOPES });

    const account = await runCurl(`curl ${base}/api/v2/account -H "Authorization: Bearer ${token.access_token}"`, scratch.path);
    expect(account.status).toBe(200);
    expect(JSON.parse(account.body)).toMatchObject({ status: 200, data: { id: h.accountId, company_name: 'Acme Corporation' } });
  });

  it('curl -u with a wrong secret is refused with invalid_client', async () => {
    const grant = await runCurl(`curl -u ${clientId}:wrong-secret -d grant_type=client_credentials ${base}/oauth/token`, scratch.path);
    expect(grant.status).toBe(401);
    expect(JSON.parse(grant.body)).toMatchObject({ error: 'invalid_client' });
  });

  it('a token asked for a scope the client lacks is refused with invalid_scope', async () => {
    const grant = await runCurl(
      `curl -u ${clientId}:${clientSecret} -d grant_type=client_credentials -d "scope=calls.read calls.write" ${base}/oauth/token`,
      scratch.path,
    );
    expect(grant.status).toBe(400);
    expect(JSON.parse(grant.body)).toMatchObject({ error: 'invalid_scope' });
  });
});
