import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * Input that once reached the database unchecked and answered 500 (or was
 * stored mangled): each is now refused up front in the documented envelope.
 */

const WINDOW = 'start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z';
const HUGE = ['Infinity', '-Infinity', '1e309', '9999999999999999999'];

describeEngines('hostile input', (engine) => {
  let h: ApiHarness;
  let token: string;
  let callId: number;
  let basicFor: (id: string, secret: string) => string;
  let writer: { id: string; secret: string };

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    callId = (await h.insert([callInput({ start: '2024-01-15T10:00:00Z' })]))[0]!;
    const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.write' });
    writer = { id: client.clientId, secret: clientSecret };
    basicFor = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  });
  afterAll(() => h?.close());

  const get = (url: string, method: 'GET' | 'DELETE' = 'GET') => h.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
  const expectRefused = (response: { statusCode: number; json(): any; headers: Record<string, unknown> }, status = 400) => {
    expect(response.statusCode).toBe(status);
    const body = response.json();
    expect(body.status).toBe(status);
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body.request_id).toBe(response.headers['x-request-id']);
    return body;
  };

  it('refuses an infinite or oversized limit on every directory list', async () => {
    for (const list of ['tags', 'phones', 'employees']) {
      for (const value of HUGE) {
        const body = expectRefused(await get(`/api/v2/${list}?limit=${value}`));
        expect(body.errors, `${list} ${value}`).toEqual([expect.stringMatching(/^Invalid parameter 'limit': must be (an integer from 1 to 1000|at most 1000)$/)]);
      }
    }
  });

  it('refuses an infinite or oversized path id on every route that takes one', async () => {
    for (const value of HUGE.filter((v) => !v.startsWith('-'))) {
      for (const [method, url] of [
        ['GET', `/api/v2/calls/${value}`],
        ['GET', `/api/v2/tags/${value}`],
        ['DELETE', `/api/v2/tags/${value}`],
        ['GET', `/api/v2/phones/${value}`],
        ['GET', `/api/v2/employees/${value}`],
        ['DELETE', `/api/v2/calls/${value}/tags/1`],
        ['DELETE', `/api/v2/calls/${callId}/tags/${value}`],
      ] as const) {
        const body = expectRefused(await get(url, method));
        expect(body.errors[0], `${method} ${url}`).toMatch(/^Invalid parameter '(id|tag_id)': must be a positive integer$/);
      }
    }
  });

  it('takes no call type, filter or field name from Object.prototype', async () => {
    for (const word of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const body = expectRefused(await get(`/api/v2/calls?${WINDOW}&call_types=${word}`));
      expect(body.errors[0]).toContain(`unknown call type '${word}'`);
      expectRefused(await get(`/api/v2/calls/export?${WINDOW}&call_types=${word}`));
    }
  });

  it('answers a non-string client_secret at /oauth/token with invalid_request', async () => {
    for (const secret of [{ toString: 1 }, { valueOf: 2 }, 42, true, ['a']]) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ grant_type: 'client_credentials', client_id: writer.id, client_secret: secret }),
      });
      expect(response.statusCode, JSON.stringify(secret)).toBe(400);
      expect(response.json().error).toBe('invalid_request');
    }
  });

  it('refuses JSON bodies whose keys would reach Object.prototype', async () => {
    for (const payload of ['{"name":"x","__proto__":{"admin":true}}', '{"name":"x","constructor":{"prototype":{"admin":true}}}']) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/v2/tags',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload,
      });
      expectRefused(response);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('a form field named __proto__ or constructor is only a field', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${writer.id}&client_secret=${encodeURIComponent(writer.secret)}&__proto__=x&constructor=y`,
    });
    expect(response.statusCode).toBe(200);
  });

  it('refuses NUL and lone surrogates in JSON bodies, query strings and form bodies', async () => {
    for (const name of ['a\u0000b', 'a\ud800b', 'a\udc00b', '\ud83d']) {
      const payload = `{"name":${JSON.stringify(name).replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)}}`;
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/v2/tags',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload,
      });
      expectRefused(response);
    }
    // A surrogate pair is a character like any other.
    const emoji = await h.app.inject({
      method: 'POST',
      url: '/api/v2/tags',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Happy \ud83d\ude00' }),
    });
    expect(emoji.statusCode).toBe(201);
    expect(emoji.json().data.name).toBe('Happy \ud83d\ude00');
    expectRefused(await get(`/api/v2/calls?${WINDOW}&search=a%00b`));
    const form = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=a%00b&client_secret=x`,
    });
    expect(form.statusCode).toBe(400);
    expect(form.json().error).toBe('invalid_request');
  });

  it('refuses NUL and lone surrogates in HTTP Basic credentials, at /oauth/token and at /pbx/events', async () => {
    for (const [id, secret] of [
      ['a\u0000b', 'x'],
      [writer.id, `${writer.secret}\u0000`],
      ['a%00b', 'x'],
      [writer.id, '%ED%A0%80'],
    ]) {
      const token = await h.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { authorization: basicFor(id!, secret!), 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=client_credentials',
      });
      expect(token.statusCode).toBe(401);
      expect(token.json().error).toBe('invalid_client');
      const events = await h.app.inject({
        method: 'POST',
        url: '/api/v2/pbx/events',
        headers: { authorization: basicFor(id!, secret!), 'content-type': 'application/json' },
        payload: '{}',
      });
      expectRefused(events, 401);
    }
  });

  it('refuses NUL in a FreeSWITCH CDR sent form-encoded or as base64, and stores nothing', async () => {
    const cdr = {
      variables: {
        uuid: 'cdr-nul-1',
        caller_id_number: '+33612345678',
        caller_id_name: 'Evil\u0000Name',
        destination_number: '+33198765432',
        start_epoch: '1736935200',
        answer_epoch: '1736935205',
        end_epoch: '1736935260',
        hangup_cause: 'NORMAL_CLEARING',
        direction: 'inbound',
      },
    };
    const json = JSON.stringify(cdr);
    for (const encoded of [encodeURIComponent(json), encodeURIComponent(Buffer.from(json).toString('base64'))]) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/v2/pbx/freeswitch/cdr',
        headers: { authorization: basicFor(writer.id, writer.secret), 'content-type': 'application/x-www-form-urlencoded' },
        payload: `cdr=${encoded}`,
      });
      expectRefused(response);
    }
    const stored = await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', 'cdr-nul-1').execute();
    expect(stored).toEqual([]);
  });

  it('answers a path parameter over 200 characters with a 414 in the envelope, with X-Request-Id', async () => {
    const response = await get(`/api/v2/calls/${'9'.repeat(250)}`);
    const body = expectRefused(response, 414);
    expect(body.code).toBe('PATH_PARAMETER_TOO_LONG');
    expect(body.path).toBe(`/api/v2/calls/${'9'.repeat(250)}`);
  });
});
