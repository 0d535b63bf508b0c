import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import type { FastifyInstance } from 'fastify';
import { deriveCall } from '../../src/domain/call.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG, callInput } from '../helpers/fixture.js';

const LIST_KINDS: Record<string, keyof Objects> = {
  'GET /api/v2/calls': 'call',
  'GET /api/v2/calls/export': 'call',
  'GET /api/v2/tags': 'tag',
  'GET /api/v2/phones': 'phone',
  'GET /api/v2/employees': 'employee',
};

interface Objects {
  call: number;
  tag: number;
  phone: number;
  employee: number;
}

async function populate(store: Store, accountId: number, name: string): Promise<Objects> {
  const employee = (await store.createEmployee(accountId, { name: `${name} employee` })).id;
  const phone = (await store.createPhone(accountId, { number: `+3319876${String(accountId).padStart(4, '0')}`, name, employeeId: employee })).id;
  const tag = (await store.createTag(accountId, { name: `${name} tag` })).id;
  // Both accounts have a call of the same PBX id: ingest must only ever touch the token's own.
  const [call] = await store.insertCalls(accountId, [
    { ...deriveCall(callInput({ start: '2024-01-15T10:30:05Z', pbxId: 'pbx-shared' })), employeeId: employee, tagIds: [tag] },
  ]);
  return { call: call!, tag, phone, employee };
}

/**
 * Every route of the API, asked by another account about the first account's
 * objects: ids are 404 exactly as missing ones, lists never show them, and
 * nothing of the first account changes. A route added without a case here
 * fails the test.
 */
describeEngines('isolation between accounts', (engine) => {
  let app: FastifyInstance;
  let store: Store;
  let close: () => Promise<void>;
  let victim: Objects;
  let intruder: Objects;
  let victimAccount: number;
  let intruderToken: string;
  let victimToken: string;
  const routes: Array<{ method: string; url: string }> = [];

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    victimAccount = (await store.createAccount({ name: 'Victim' })).id;
    const intruderAccount = (await store.createAccount({ name: 'Intruder' })).id;
    victim = await populate(store, victimAccount, 'Victim');
    await store.webhooks.setUrl(victimAccount, 'https://victim.example/hooks');
    intruder = await populate(store, intruderAccount, 'Intruder');
    app = buildApp({ store, config: TEST_CONFIG });
    app.addHook('onRoute', (route) => {
      // The 405 answers of each path are routes too, but no operation of the API.
      if ((route.config as { methodNotAllowed?: boolean } | undefined)?.methodNotAllowed) return;
      for (const method of ([] as string[]).concat(route.method)) {
        if (method !== 'HEAD' && route.url.startsWith('/api/v2/')) routes.push({ method, url: route.url });
      }
    });
    await app.ready();
    const tokenFor = async (accountId: number) => {
      const { client, clientSecret } = await issueClient(store, accountId, {});
      const r = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
      });
      return r.json().access_token as string;
    };
    intruderToken = await tokenFor(intruderAccount);
    victimToken = await tokenFor(victimAccount);
  });
  afterAll(async () => {
    await app?.close();
    await close?.();
  });

  const ask = (method: string, url: string, payload?: object, token = intruderToken) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

  /** What the intruder sends to each route, and what must come back. */
  const cases = (): Record<string, Array<{ url: string; body?: object; status: number; error?: string; data?: unknown }>> => ({
    'GET /api/v2/calls/:id': [{ url: `/api/v2/calls/${victim.call}`, status: 404, error: 'Call not found' }],
    'POST /api/v2/calls/:id/tags': [
      { url: `/api/v2/calls/${victim.call}/tags`, body: { tag_ids: [intruder.tag] }, status: 404, error: 'Call not found' },
      { url: `/api/v2/calls/${intruder.call}/tags`, body: { tag_ids: [victim.tag] }, status: 404, error: 'Tag not found' },
    ],
    'PUT /api/v2/calls/:id/tags': [
      { url: `/api/v2/calls/${victim.call}/tags`, body: { tag_ids: [] }, status: 404, error: 'Call not found' },
      { url: `/api/v2/calls/${intruder.call}/tags`, body: { tag_ids: [victim.tag] }, status: 404, error: 'Tag not found' },
    ],
    'DELETE /api/v2/calls/:id/tags/:tag_id': [
      { url: `/api/v2/calls/${victim.call}/tags/${victim.tag}`, status: 404, error: 'Call not found' },
      { url: `/api/v2/calls/${intruder.call}/tags/${victim.tag}`, status: 404, error: 'Tag not found' },
    ],
    'GET /api/v2/tags/:id': [{ url: `/api/v2/tags/${victim.tag}`, status: 404, error: 'Tag not found' }],
    'PATCH /api/v2/tags/:id': [{ url: `/api/v2/tags/${victim.tag}`, body: { name: 'Hijacked' }, status: 404, error: 'Tag not found' }],
    'DELETE /api/v2/tags/:id': [{ url: `/api/v2/tags/${victim.tag}`, status: 404, error: 'Tag not found' }],
    'GET /api/v2/phones/:id': [{ url: `/api/v2/phones/${victim.phone}`, status: 404, error: 'Phone not found' }],
    'PATCH /api/v2/phones/:id': [
      { url: `/api/v2/phones/${victim.phone}`, body: { status: 'inactive' }, status: 404, error: 'Phone not found' },
      { url: `/api/v2/phones/${intruder.phone}`, body: { employee_id: victim.employee }, status: 404, error: 'Employee not found' },
    ],
    'GET /api/v2/employees/:id': [{ url: `/api/v2/employees/${victim.employee}`, status: 404, error: 'Employee not found' }],
    // Lists answer with the intruder's own objects only.
    'GET /api/v2/calls': [{ url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z', status: 200 }],
    'GET /api/v2/calls/export': [
      { url: '/api/v2/calls/export?start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z&format=ndjson', status: 200 },
    ],
    'GET /api/v2/tags': [{ url: '/api/v2/tags', status: 200 }],
    'GET /api/v2/phones': [{ url: '/api/v2/phones', status: 200 }],
    'GET /api/v2/employees': [{ url: '/api/v2/employees', status: 200 }],
    'GET /api/v2/account': [{ url: '/api/v2/account', status: 200 }],
    // Creating only ever creates in the token's own account.
    'POST /api/v2/tags': [{ url: '/api/v2/tags', body: { name: 'Victim tag' }, status: 201 }],
    // Ingest by a PBX id the other account also has, naming the other account's phone and employee.
    'POST /api/v2/calls/import': [
      {
        url: '/api/v2/calls/import',
        body: [{ pbx_id: 'pbx-shared', caller_number: '+33612345678', target_number: '+33198765432', start_time: '2024-01-15T10:30:05Z', end_time: '2024-01-15T10:31:05Z', phone_id: victim.phone, employee_id: victim.employee, tags: ['Victim tag'] }],
        status: 200,
      },
    ],
    'POST /api/v2/pbx/events': [
      {
        url: '/api/v2/pbx/events',
        body: [
          { event: 'incoming_call_start', pbx_id: 'pbx-shared', caller: '+33612345678', receiver: '+33198765432', time: '2024-01-15T10:30:05Z' },
          { event: 'incoming_call_end', pbx_id: 'pbx-shared', caller: '+33612345678', receiver: '+33198765432', time: '2024-01-15T10:30:35Z', status: 'BUSY' },
        ],
        status: 202,
      },
    ],
    // Click-to-call: the other account's phone cannot ring, its call cannot be hung up.
    'POST /api/v2/calls': [{ url: '/api/v2/calls', body: { phone_id: victim.phone, number: '+33612345678' }, status: 404, error: 'Phone not found' }],
    'DELETE /api/v2/calls/:id': [{ url: `/api/v2/calls/${victim.call}`, status: 404, error: 'Call not found' }],
    // Webhook settings are the account's own: the intruder has no URL, whatever the victim set.
    'GET /api/v2/webhooks/available': [{ url: '/api/v2/webhooks/available', status: 200 }],
    'GET /api/v2/webhooks': [{ url: '/api/v2/webhooks', status: 200, data: [] }],
    'POST /api/v2/webhooks/:event': [{ url: '/api/v2/webhooks/tags', status: 409 }],
    'DELETE /api/v2/webhooks/:event': [{ url: '/api/v2/webhooks/incoming_call_end', status: 409 }],
    // The other account's calls are not there to transcribe, summarise or rate; settings are the account's own.
    ...Object.fromEntries(
      ['transcription', 'summary', 'rating'].flatMap((kind) => [
        [`POST /api/v2/calls/:id/${kind}`, [{ url: `/api/v2/calls/${victim.call}/${kind}`, status: 404, error: 'Call not found' }]],
        [`GET /api/v2/calls/:id/${kind}`, [{ url: `/api/v2/calls/${victim.call}/${kind}`, status: 404, error: 'Call not found' }]],
      ]),
    ),
    // A recording is the pushing account's own, under a PBX id the other account also uses.
    'PUT /api/v2/pbx/recordings/:pbx_id': [{ url: '/api/v2/pbx/recordings/pbx-shared', body: { not: 'audio' }, status: 415 }],
    'GET /api/v2/settings/ai': [{ url: '/api/v2/settings/ai', status: 200 }],
    'PATCH /api/v2/settings/ai': [{ url: '/api/v2/settings/ai', body: { summary_instructions: 'Hijacked' }, status: 200 }],
    'POST /api/v2/pbx/freeswitch/cdr': [
      {
        url: '/api/v2/pbx/freeswitch/cdr',
        body: { variables: { uuid: 'pbx-shared', caller_id_number: '+33612345678', destination_number: '+33198765432', start_epoch: '1705314605', answer_epoch: '0', end_epoch: '1705314665', hangup_cause: 'NO_ANSWER' } },
        status: 200,
      },
    ],
  });

  const snapshot = async () => {
    const get = async (url: string) => (await ask('GET', url, undefined, victimToken)).json().data;
    return {
      call: await get(`/api/v2/calls/${victim.call}`),
      tags: await get('/api/v2/tags'),
      phone: await get(`/api/v2/phones/${victim.phone}`),
      employees: await get('/api/v2/employees'),
      webhooks: await store.webhooks.settings(victimAccount),
      aiSettings: await store.aiSettings.get(victimAccount),
      aiJobs: await store.aiJobs.get(victimAccount, victim.call, 'transcription'),
      deliveries: await store.webhooks.list(victimAccount, { limit: 100 }),
    };
  };

  it('covers every route of the API', () => {
    const covered = Object.keys(cases());
    const missing = routes.map((r) => `${r.method} ${r.url}`).filter((key) => !covered.includes(key) && !key.endsWith('/openapi.json'));
    expect(missing).toEqual([]);
    expect(routes.length).toBeGreaterThanOrEqual(covered.length);
  });

  it("never shows or changes another account's objects", async () => {
    const before = await snapshot();
    for (const [route, list] of Object.entries(cases())) {
      for (const c of list) {
        const method = route.split(' ')[0]!;
        const response = await ask(method, c.url, c.body);
        expect(response.statusCode, `${route} ${c.url}`).toBe(c.status);
        // An export is one call object per line: read as the list's data.
        const body = route.endsWith('/export')
          ? { data: response.body.split('\n').filter(Boolean).map((line) => JSON.parse(line)) }
          : response.json();
        if (c.error) expect(body.errors, `${route} ${c.url}`).toEqual([c.error]);
        if (c.data !== undefined) expect(body.data, `${route} ${c.url}`).toEqual(c.data);
        if (c.status === 200 && Array.isArray(body.data) && LIST_KINDS[route]) {
          const kind = LIST_KINDS[route]!;
          const ids = body.data.map((item: { id: number }) => item.id);
          expect(ids, route).toContain(intruder[kind]);
          expect(ids, route).not.toContain(victim[kind]);
        }
        if (route === 'GET /api/v2/account') expect(body.data.company_name).toBe('Intruder');
      }
    }
    expect(await snapshot()).toEqual(before);
    // A missing id answers exactly like the other account's.
    const missing = await ask('GET', '/api/v2/tags/987654321');
    expect(missing.json().errors).toEqual(['Tag not found']);
  });
});
