import { ClickToCallService } from '../../src/click-to-call/service.js';
import { SimulatedController, simulatedPhoneUri } from '../../src/click-to-call/simulated.js';
import { SandboxEngine } from '../../src/ai/sandbox.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RECORDINGS_CONFIG } from '../../src/config.js';
import { RecordingService } from '../../src/recordings/service.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { OPENAPI_PATH } from '../../src/api/openapi.js';
import { deriveCall, type CallInput } from '../../src/domain/call.js';
import { ALL_SCOPES } from '../../src/domain/scopes.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore, type EngineName } from '../helpers/engines.js';
import { TEST_CONFIG, callInput } from '../helpers/fixture.js';
import { OpenApiChecker } from '../helpers/openapi-checker.js';

/**
 * The OpenAPI document against the API itself: it lists every route, it is
 * valid OpenAPI 3.1, and what a real server answers on a real port matches
 * what it says, status by status.
 */

/** Documents and bodies are read loosely: their shapes are what the checks below are about. */
type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
/** Not in the document: the document itself, its viewer, and the dashboard's own endpoints (docs/dashboard.md). */
const isHidden = (url: string) => url === OPENAPI_PATH || url === '/docs' || url.startsWith('/docs/') || url.startsWith('/dashboard/');

interface Server {
  app: FastifyInstance;
  store: Store;
  base: string;
  /** Every route as registered, `GET /api/v2/calls/:id`. */
  routes: string[];
  /** Responses that went through Fastify's serializer instead of leaving as built. */
  serialized: string[];
  close(): Promise<void>;
}

async function startServer(engine: EngineName, config: Parameters<typeof buildApp>[0]['config'] = TEST_CONFIG): Promise<Server> {
  const { store, close } = await openTestStore(engine);
  // Click-to-call on timers: ringing a few tens of milliseconds, then talking until hung up, so that the hang-up always finds it under way.
  const clickToCall = new ClickToCallService(store, new SimulatedController({ phoneAnswerMs: 30, targetRingMs: 30, talkMs: 600_000, targetRingTimeoutMs: 60 }), {
    maxActivePerAccount: 50,
    phoneUri: simulatedPhoneUri,
  });
  // No worker runs the AI jobs here: what they answer while queued is what is documented.
  const recordingsDir = mkdtempSync(join(tmpdir(), 'sipsim-openapi-recordings-'));
  const recordings = new RecordingService(store, { ...DEFAULT_RECORDINGS_CONFIG, storeDir: recordingsDir });
  const app = buildApp({ store, config, clickToCall, ai: new SandboxEngine(0), recordings });
  const routes: string[] = [];
  const serialized: string[] = [];
  app.addHook('onRoute', (route) => {
    // The 405 answers each path gives the methods it lacks are not operations.
    if ((route.config as { methodNotAllowed?: boolean } | undefined)?.methodNotAllowed) return;
    for (const method of ([] as string[]).concat(route.method)) routes.push(`${method} ${route.url}`);
  });
  app.addHook('preSerialization', async (request, _reply, payload) => {
    serialized.push(request.url);
    return payload;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    app,
    store,
    base: `http://127.0.0.1:${port}`,
    routes,
    serialized,
    async close() {
      await app.close();
      await clickToCall.close();
      await close();
      rmSync(recordingsDir, { recursive: true, force: true });
    },
  };
}

/**
 * Checks answers of a real server against a document, with the checker every
 * API test's answers go through, and notes which answers were met.
 */
class DocumentChecker extends OpenApiChecker {
  /** `get /api/v2/calls/{id} 404` for every answer checked. */
  readonly exercised = new Set<string>();

  /** Every schema of the document, where it sits. */
  *schemas(): Generator<[string, object]> {
    for (const [name, schema] of Object.entries(this.doc.components.schemas as Json)) yield [`components.schemas.${name}`, schema];
    for (const [path, item] of Object.entries(this.doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        for (const p of op.parameters ?? []) yield [`${method} ${path} parameter ${p.name}`, p.schema];
        for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) yield [`${method} ${path} body ${type}`, media.schema];
        for (const [status, answer] of Object.entries(op.responses as Json)) {
          for (const [type, media] of Object.entries((answer.content ?? {}) as Json)) yield [`${method} ${path} ${status} ${type}`, media.schema];
          for (const [name, header] of Object.entries((answer.headers ?? {}) as Json)) yield [`${method} ${path} ${status} header ${name}`, header.schema];
        }
      }
    }
  }

  /** Fails unless the document has this operation and describes this answer; the body, parsed when JSON. */
  async check(method: string, url: string, response: Response): Promise<unknown> {
    const path = new URL(url).pathname;
    const template = this.templateOf(path);
    expect(template, `${method} ${path} is not in the document`).toBeDefined();
    expect(this.doc.paths[template!][method.toLowerCase()], `${method} ${template} is not in the document`).toBeDefined();
    const key = `${method.toLowerCase()} ${template} ${response.status}`;
    this.exercised.add(key);
    expect(response.headers.get('x-request-id'), key).toBeTruthy();
    const text = await response.text();
    const headers = Object.fromEntries(response.headers.entries());
    expect(this.problems({ method, url: path, status: response.status, headers, body: text }), key).toEqual([]);
    if (text !== '' && response.headers.get('content-type')?.startsWith('application/json')) return JSON.parse(text);
    return text === '' ? null : text;
  }
}

describeEngines('the OpenAPI document against a real server', (engine) => {
  let server: Server;
  let doc: Json;
  let checker: DocumentChecker;
  let credentials: { clientId: string; clientSecret: string };
  let token: string;
  let outOfScope: string;
  /** For the operations that need settings.read, which outOfScope has. */
  let otherOutOfScope: string;
  const ids = { account: 0, sparePhone: 0, call: 0, unanswered: 0, important: 0, followUp: 0, spare: 0, alice: 0, bob: 0, desk: 0 };
  const window = 'start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z';

  /** A request to the real server, checked against the document. */
  async function send(
    method: string,
    path: string,
    options: { token?: string | null; json?: unknown; body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any }> {
    const bearer = options.token === undefined ? token : options.token;
    const headers: Record<string, string> = { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const url = `${server.base}${path}`;
    const response = await fetch(url, { method, headers, body });
    return { status: response.status, body: await checker.check(method, url, response) };
  }

  beforeAll(async () => {
    server = await startServer(engine);
    const { store } = server;
    const account = await store.createAccount({ name: 'Acme Corporation', email: 'admin@acme.example' });
    ids.account = account.id;
    ids.alice = (await store.createEmployee(account.id, { name: 'Alice Martin', email: 'alice@acme.example' })).id;
    ids.bob = (await store.createEmployee(account.id, { name: 'Bob Durand' })).id;
    ids.desk = (await store.createPhone(account.id, { number: '+33198765432', name: 'Desk', internalNumber: 101, employeeId: ids.alice })).id;
    ids.sparePhone = (await store.createPhone(account.id, { number: '+33198765433', name: 'Spare', status: 'inactive' })).id;
    ids.important = (await store.createTag(account.id, { name: 'Important', color: '#FF0000', description: 'High priority' })).id;
    ids.followUp = (await store.createTag(account.id, { name: 'Follow-up' })).id;
    ids.spare = (await store.createTag(account.id, { name: 'Spare' })).id;
    const calls: Array<CallInput & { tagIds?: number[] }> = [
      {
        ...callInput({ start: '2024-01-15T10:30:05Z' }),
        callerName: 'Élodie Dupont',
        playRecordLink: 'https://example.com/recordings/1.mp3',
        phoneId: ids.desk,
        answeredPhoneId: ids.desk,
        employeeId: ids.alice,
        tagIds: [ids.important, ids.followUp],
      },
      callInput({ start: '2024-01-16T09:00:00Z', answeredTime: null, sipCode: 487 }),
      // Enough for a second page of 20.
      ...Array.from({ length: 25 }, (_, i) => callInput({ start: `2024-01-20T10:${String(i).padStart(2, '0')}:00Z`, direction: 'outbound' })),
    ];
    const inserted = await store.insertCalls(
      account.id,
      calls.map((c) => ({ ...deriveCall(c), tagIds: c.tagIds })),
    );
    [ids.call, ids.unanswered] = [inserted[0]!, inserted[1]!];
    const issued = await issueClient(store, account.id);
    credentials = { clientId: issued.client.clientId, clientSecret: issued.clientSecret };

    const response = await fetch(`${server.base}${OPENAPI_PATH}`);
    expect(response.status).toBe(200);
    doc = (await response.json()) as Json;
    checker = new DocumentChecker(doc);
    token = (await send('POST', '/oauth/token', { token: null, json: { grant_type: 'client_credentials', ...idAndSecret() } })).body.access_token;
    const narrowest = await issueClient(store, account.id, { scopes: 'account.read' });
    otherOutOfScope = (
      await send('POST', '/oauth/token', {
        token: null,
        json: { grant_type: 'client_credentials', client_id: narrowest.client.clientId, client_secret: narrowest.clientSecret },
      })
    ).body.access_token;
    const narrow = await issueClient(store, account.id, { scopes: 'settings.read' });
    outOfScope = (
      await send('POST', '/oauth/token', {
        token: null,
        json: { grant_type: 'client_credentials', client_id: narrow.client.clientId, client_secret: narrow.clientSecret },
      })
    ).body.access_token;
  });
  afterAll(() => server?.close());

  const idAndSecret = () => ({ client_id: credentials.clientId, client_secret: credentials.clientSecret });
  const form = (fields: Record<string, string>) => ({
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    token: null,
  });

  it('lists every route the app serves, and nothing else', () => {
    const served = server.routes
      .filter((r) => !r.startsWith('HEAD ') && !isHidden(r.split(' ')[1]!))
      .map((r) => r.replace(/:([A-Za-z_]+)/g, '{$1}'));
    const documented = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.keys(item).filter((m) => (METHODS as readonly string[]).includes(m)).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(served.length).toBeGreaterThan(15);
    expect([...documented].sort()).toEqual([...new Set(served)].sort());
    // The hidden ones were registered all the same.
    expect(server.routes).toContain(`GET ${OPENAPI_PATH}`);
    expect(server.routes.some((r) => r.startsWith('GET /docs'))).toBe(true);
  });

  it('is valid OpenAPI 3.1, and every schema in it compiles as JSON Schema 2020-12', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The rule on NUL characters is written down, for every text a client sends.
    expect(doc.info.description).toContain('NUL character (\\u0000)');
    // The server named is the one asked.
    expect(doc.servers).toEqual([{ url: server.base, description: 'This server' }]);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    let count = 0;
    for (const [where, schema] of checker.schemas()) {
      expect(() => checker.compile(schema), where).not.toThrow();
      count++;
    }
    expect(count).toBeGreaterThan(100);
  });

  it('names, tags and guards every operation', () => {
    const scopes = doc.components.securitySchemes.oauth2.flows.clientCredentials.scopes;
    expect(Object.keys(scopes).sort()).toEqual([...ALL_SCOPES].sort());
    const declaredTags = new Map((doc.tags as Json[]).map((t) => [t.name, t.description]));
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        const where = `${method} ${path}`;
        expect(op.summary, where).toBeTruthy();
        expect(op.operationId, where).toBeTruthy();
        expect(operationIds.has(op.operationId), where).toBe(false);
        operationIds.add(op.operationId);
        for (const tag of op.tags) expect(declaredTags.get(tag), `${where} tag ${tag}`).toBeTruthy();
        if (path.startsWith('/api/v2/')) {
          // One scope, from a token; routes made for a PBX also take the client's own credentials.
          expect(op.security[0].oauth2, where).toHaveLength(1);
          expect(op.security.slice(1), where).toEqual(path.startsWith('/api/v2/pbx/') ? [{ clientBasic: [] }] : []);
          const [needed] = op.security[0].oauth2;
          expect(ALL_SCOPES, where).toContain(needed);
          for (const status of ['401', '403', '429', '503']) expect(op.responses[status], `${where} ${status}`).toBeDefined();
        } else {
          // Public, and saying so: no token, no credentials.
          expect(op.security, where).toEqual([]);
        }
      }
    }
    // Each scope's description says what it guards (docs/scopes.md).
    const guardedBy = (scope: string) =>
      Object.entries(doc.paths as Json)
        .flatMap(([path, item]) => Object.entries(item as Json).map(([method, op]) => [`${method} ${path}`, op] as const))
        .filter(([, op]) => op.security?.[0]?.oauth2?.[0] === scope)
        .map(([where]) => where)
        .sort();
    expect(guardedBy('calls.write')).toEqual([
      'post /api/v2/calls/import',
      'post /api/v2/pbx/events',
      'post /api/v2/pbx/freeswitch/cdr',
      'put /api/v2/pbx/recordings/{pbx_id}',
    ]);
    expect(scopes['calls.write']).toMatch(/PBX.*imports/);
    expect(guardedBy('calls.create')).toEqual(['delete /api/v2/calls/{id}', 'post /api/v2/calls']);
    expect(scopes['calls.create']).toMatch(/^Click-to-call/);
    // Every webhook is an operation with an id, public, and names its delivery.
    for (const [event, item] of Object.entries(doc.webhooks as Json)) {
      expect(item.post.operationId, event).toMatch(/Webhook$/);
      expect(item.post.security, event).toEqual([]);
      expect(item.post.parameters.find((p: Json) => p.name === 'X-Webhook-Id'), event).toMatchObject({ required: true });
    }
  });

  it('describes every answer of a real server, status by status', async () => {
    const notFound = 987654321;
    // ---- token endpoint ----
    const metadata = await send('GET', '/.well-known/oauth-authorization-server', { token: null });
    expect(metadata.body).toMatchObject({ issuer: server.base, token_endpoint: `${server.base}/oauth/token` });
    expect((await send('POST', '/oauth/token', form({ grant_type: 'client_credentials', ...idAndSecret(), scope: 'calls.read' }))).status).toBe(200);
    // As the docs page's Authorize button asks: HTTP Basic, and no scope ticked.
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
    const authorized = await send('POST', '/oauth/token', {
      ...form({ grant_type: 'client_credentials', scope: '' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    });
    expect(authorized.body.scope).toBe(ALL_SCOPES.join(' '));
    for (const [fields, status, error] of [
      [{ client_id: credentials.clientId }, 400, 'invalid_request'],
      [{ grant_type: 'password', ...idAndSecret() }, 400, 'unsupported_grant_type'],
      [{ grant_type: 'client_credentials', ...idAndSecret(), scope: 'everything' }, 400, 'invalid_scope'],
      [{ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: 'wrong' }, 401, 'invalid_client'],
    ] as const) {
      const r = await send('POST', '/oauth/token', form(fields));
      expect([r.status, r.body.error]).toEqual([status, error]);
    }
    const repeated = await send('POST', '/oauth/token', { ...form({}), body: 'grant_type=client_credentials&grant_type=password' });
    expect(repeated.body).toEqual({ error: 'invalid_request', error_description: "Parameter 'grant_type' must not be repeated" });
    // The body schema's refusals come in RFC 6749's shape too.
    const typed = await send('POST', '/oauth/token', { token: null, json: { grant_type: 'client_credentials', client_id: 7 } });
    expect([typed.status, typed.body.error]).toEqual([400, 'invalid_request']);
    expect(typed.body.error_description).toBe("Invalid field 'client_id': must be a string");
    const notJson = await send('POST', '/oauth/token', { token: null, body: '{not json', headers: { 'content-type': 'application/json' } });
    expect([notJson.status, notJson.body.error]).toEqual([400, 'invalid_request']);
    const xml = await send('POST', '/oauth/token', { token: null, body: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect([xml.status, xml.body.error]).toEqual([415, 'invalid_request']);
    const huge = await send('POST', '/oauth/token', form({ grant_type: 'x'.repeat(TEST_CONFIG.bodyLimit + 1) }));
    expect(huge.status).toBe(413);

    // ---- health ----
    for (const path of ['/health', '/health/live', '/health/ready']) expect((await send('GET', path, { token: null })).status).toBe(200);
    expect((await send('GET', '/metrics', { token: null })).body).toContain('sipsim_http_requests_total');

    // ---- account ----
    expect((await send('GET', '/api/v2/account')).body.data.company_name).toBe('Acme Corporation');

    // ---- calls ----
    const page1 = await send('GET', `/api/v2/calls?${window}&limit=20`);
    expect(page1.body.pagination).toMatchObject({ count: 20, has_more: true });
    const page2 = await send('GET', `/api/v2/calls?${window}&limit=20&page=${encodeURIComponent(page1.body.pagination.page)}`);
    expect(page2.body.pagination).toMatchObject({ count: 7, has_more: false });
    expect(page2.body.data.map((c: { id: number }) => c.id).slice(-2)).toEqual([ids.unanswered, ids.call]);
    expect((await send('GET', `/api/v2/calls?${window}&tags=${ids.important}&call_types=inbound,outgoing`)).body.data).toHaveLength(1);
    expect((await send('GET', '/api/v2/calls?end_time=2024-01-31T23:59:59Z')).status).toBe(400);
    expect((await send('GET', `/api/v2/calls?${window}&start_time=2024-01-02T00:00:00Z`)).body.errors[0]).toMatch(/more than once/);
    expect((await send('GET', `/api/v2/calls?${window}&page=garbage`)).body.code).toBe('INVALID_PAGE_TOKEN');
    const exported = await send('GET', `/api/v2/calls/export?${window}&format=ndjson`);
    expect(exported.body.trimEnd().split('\n')).toHaveLength(27);
    const csv = await send('GET', `/api/v2/calls/export?${window}&fields=id,caller_name,tags`);
    expect(csv.body.split('\r\n').slice(0, 1)).toEqual(['id,caller_name,tags']);
    expect(csv.body).toContain(`${ids.call},Élodie Dupont,Follow-up;Important\r\n`);
    expect((await send('GET', `/api/v2/calls/export?${window}&fields=colour`)).status).toBe(400);
    const tagged = (await send('GET', `/api/v2/calls/${ids.call}`)).body.data;
    expect(tagged.tags).toHaveLength(2);
    expect(tagged.caller_name).toBe('Élodie Dupont');
    expect((await send('GET', `/api/v2/calls/${ids.unanswered}`)).body.data.answered_time).toBeNull();
    expect((await send('GET', '/api/v2/calls/call_1')).body.errors).toEqual(["Invalid parameter 'id': must be a positive integer"]);
    expect((await send('GET', `/api/v2/calls/${notFound}`)).status).toBe(404);

    // ---- tags on calls ----
    const onCall = `/api/v2/calls/${ids.unanswered}/tags`;
    expect((await send('POST', onCall, { json: { tag_ids: [ids.spare] } })).body.data.tags).toEqual([{ id: ids.spare, name: 'Spare' }]);
    expect((await send('POST', onCall, { json: { tag_ids: [] } })).status).toBe(400);
    expect((await send('POST', onCall, { json: { tag_ids: [notFound] } })).status).toBe(404);
    expect((await send('POST', `/api/v2/calls/${notFound}/tags`, { json: { tag_ids: [ids.spare] } })).status).toBe(404);
    expect((await send('POST', onCall, { body: '<tag_ids/>', headers: { 'content-type': 'application/xml' } })).status).toBe(415);
    expect((await send('PUT', onCall, { json: { tag_ids: [ids.important, ids.spare] } })).body.data.tags).toHaveLength(2);
    expect((await send('PUT', onCall, { json: { tag_ids: 'all' } })).status).toBe(400);
    expect((await send('PUT', `/api/v2/calls/${notFound}/tags`, { json: { tag_ids: [] } })).status).toBe(404);
    expect((await send('DELETE', `${onCall}/${ids.spare}`)).body.data.tags).toEqual([{ id: ids.important, name: 'Important' }]);
    expect((await send('DELETE', `${onCall}/spare`)).status).toBe(400);
    expect((await send('DELETE', `${onCall}/${notFound}`)).status).toBe(404);

    // ---- tags ----
    expect((await send('GET', '/api/v2/tags')).body.data.length).toBe(3);
    expect((await send('GET', '/api/v2/tags?limit=1')).body.pagination.page).toBeTruthy();
    expect((await send('GET', '/api/v2/tags?limit=0')).status).toBe(400);
    const created = await send('POST', '/api/v2/tags', { json: { name: 'Sales Lead', color: '#22C55E' } });
    expect(created.status).toBe(201);
    expect((await send('POST', '/api/v2/tags', { json: { colour: 'red' } })).status).toBe(400);
    expect((await send('POST', '/api/v2/tags', { json: { name: 'sales lead' } })).status).toBe(409);
    const tagId = created.body.data.id as number;
    expect((await send('GET', `/api/v2/tags/${tagId}`)).body.data.description).toBeNull();
    expect((await send('GET', '/api/v2/tags/0')).status).toBe(400);
    expect((await send('GET', `/api/v2/tags/${notFound}`)).status).toBe(404);
    expect((await send('PATCH', `/api/v2/tags/${tagId}`, { json: { description: 'Warm leads' } })).body.data.description).toBe('Warm leads');
    expect((await send('PATCH', `/api/v2/tags/${tagId}`, { json: { color: 'red' } })).status).toBe(400);
    expect((await send('PATCH', `/api/v2/tags/${tagId}`, { json: { name: 'IMPORTANT' } })).status).toBe(409);
    expect((await send('PATCH', `/api/v2/tags/${notFound}`, { json: { name: 'x' } })).status).toBe(404);
    expect((await send('DELETE', `/api/v2/tags/${tagId}`)).status).toBe(204);
    expect((await send('DELETE', `/api/v2/tags/${tagId}`)).status).toBe(404);
    expect((await send('DELETE', '/api/v2/tags/x')).status).toBe(400);

    // ---- phones ----
    expect((await send('GET', '/api/v2/phones')).body.data).toHaveLength(2);
    expect((await send('GET', '/api/v2/phones?status=active&limit=1')).body.pagination.has_more).toBe(false);
    expect((await send('GET', '/api/v2/phones?status=broken')).status).toBe(400);
    expect((await send('GET', `/api/v2/phones/${ids.desk}`)).body.data.employee_id).toBe(ids.alice);
    expect((await send('GET', '/api/v2/phones/-1')).status).toBe(400);
    expect((await send('GET', `/api/v2/phones/${notFound}`)).status).toBe(404);
    const changed = await send('PATCH', `/api/v2/phones/${ids.desk}`, {
      json: {
        group: { group_id: 5, group_title: 'Sales' },
        forwarding_setting: { conditional: { enabled: true, forward_number: '+33555888999' } },
        outbound_setting: { outbound_number: '+33100000000' },
        voicemail_setting: { voicemail_file_id: 12 },
      },
    });
    expect(changed.body.data.group).toEqual({ group_id: 5, group_title: 'Sales' });
    expect((await send('PATCH', `/api/v2/phones/${ids.desk}`, { json: { status: 'on' } })).status).toBe(400);
    expect((await send('PATCH', `/api/v2/phones/${ids.desk}`, { json: { employee_id: notFound } })).status).toBe(404);
    expect((await send('PATCH', `/api/v2/phones/${notFound}`, { json: { name: 'x' } })).status).toBe(404);

    // ---- employees ----
    const employees = await send('GET', '/api/v2/employees?limit=1');
    expect(employees.body.pagination.has_more).toBe(true);
    expect((await send('GET', '/api/v2/employees?limit=abc')).status).toBe(400);
    expect((await send('GET', `/api/v2/employees/${ids.alice}`)).body.data.phone_ids).toEqual([ids.desk]);
    expect((await send('GET', `/api/v2/employees/${ids.bob}`)).body.data.email).toBeNull();
    expect((await send('GET', '/api/v2/employees/1.5')).status).toBe(400);
    expect((await send('GET', `/api/v2/employees/${notFound}`)).status).toBe(404);

    // ---- getting calls in ----
    const event = { event: 'incoming_call_start', pbx_id: 'doc-1', caller: '+33612345678', receiver: '+33198765432', time: '2024-01-15T10:30:00Z' };
    const ended = { ...event, event: 'incoming_call_end', time: '2024-01-15T10:31:00Z', status: 'MISSED', duration: 0 };
    expect((await send('POST', '/api/v2/pbx/events', { json: [event, ended, { event: 'nope' }] })).status).toBe(202);
    expect((await send('POST', '/api/v2/pbx/events', { json: { event: 'nope' } })).status).toBe(400);
    const record = { pbx_id: 'doc-2', caller_number: '+33612345678', target_number: '+33198765432', start_time: '2024-01-15T11:00:00Z', end_time: '2024-01-15T11:00:30Z', tags: ['Imported'] };
    expect((await send('POST', '/api/v2/calls/import', { json: [record, { pbx_id: 'doc-3' }] })).status).toBe(200);
    expect((await send('POST', '/api/v2/calls/import', { json: { calls: [{ pbx_id: 'doc-3' }] } })).status).toBe(400);
    const cdr = { variables: { uuid: 'doc-4', caller_id_number: '+33612345678', destination_number: '+33198765432', start_epoch: '1705316400', answer_epoch: '1705316405', end_epoch: '1705316465', hangup_cause: 'NORMAL_CLEARING' } };
    expect((await send('POST', '/api/v2/pbx/freeswitch/cdr', { json: cdr })).status).toBe(200);
    expect((await send('POST', '/api/v2/pbx/freeswitch/cdr', { body: `cdr=${encodeURIComponent(JSON.stringify(cdr))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(200);
    expect((await send('POST', '/api/v2/pbx/freeswitch/cdr', { json: { variables: {} } })).status).toBe(400);

    // ---- click-to-call ----
    const placed = await send('POST', '/api/v2/calls', { json: { phone_id: ids.desk, number: '+33612345678' } });
    expect(placed.status).toBe(201);
    const clickId = placed.body.data.id as number;
    expect((await send('GET', `/api/v2/calls/${clickId}`)).body.data.status).toMatch(/^ringing_|^connected$/);
    expect((await send('DELETE', `/api/v2/calls/${clickId}`)).status).toBe(200);
    // Hung up while ringing it failed; on a busy machine it may have connected first, and then it completed.
    expect((await send('GET', `/api/v2/calls/${clickId}`)).body.data.status).toMatch(/^(failed|completed)$/);
    expect((await send('DELETE', `/api/v2/calls/${clickId}`)).status).toBe(409);
    expect((await send('DELETE', `/api/v2/calls/${notFound}`)).status).toBe(404);
    expect((await send('DELETE', '/api/v2/calls/x')).status).toBe(400);
    expect((await send('POST', '/api/v2/calls', { json: { phone_id: ids.desk, number: '12' } })).status).toBe(400);
    expect((await send('POST', '/api/v2/calls', { json: { phone_id: notFound, number: '+33612345678' } })).status).toBe(404);
    expect((await send('POST', '/api/v2/calls', { json: { phone_id: ids.sparePhone, number: '+33612345678' } })).status).toBe(409);

    // ---- transcripts, summaries, ratings ----
    for (const kind of ['transcription', 'summary', 'rating']) {
      expect((await send('POST', `/api/v2/calls/${ids.unanswered}/${kind}`)).status).toBe(409);
      expect((await send('POST', `/api/v2/calls/${notFound}/${kind}`)).status).toBe(404);
      expect((await send('POST', `/api/v2/calls/x/${kind}`)).status).toBe(400);
      expect((await send('GET', `/api/v2/calls/${ids.call}/${kind}`)).status).toBe(404);
      expect((await send('GET', `/api/v2/calls/${notFound}/${kind}`)).status).toBe(404);
      expect((await send('GET', `/api/v2/calls/0/${kind}`)).status).toBe(400);
    }
    expect((await send('POST', `/api/v2/calls/${ids.call}/transcription`)).status).toBe(201);
    expect((await send('POST', `/api/v2/calls/${ids.call}/transcription`)).status).toBe(409);
    expect((await send('GET', `/api/v2/calls/${ids.call}/transcription`)).body.data.speech_state).toBe('speech_sent_to_recognition');
    for (const kind of ['summary', 'rating']) {
      expect((await send('POST', `/api/v2/calls/${ids.call}/${kind}`)).status).toBe(201);
      expect((await send('GET', `/api/v2/calls/${ids.call}/${kind}`)).body.data.status).toBe('pending');
    }
    expect((await send('GET', '/api/v2/settings/ai')).body.data.auto_transcription.enabled).toBe(false);
    expect((await send('PATCH', '/api/v2/settings/ai', { json: { summary_instructions: 'Name the product' } })).body.data.summary_instructions).toBe('Name the product');
    expect((await send('PATCH', '/api/v2/settings/ai', { json: { auto_transcription: { min_duration_sec: -1 } } })).status).toBe(400);

    // ---- recordings ----
    const ogg = { body: `OggS${'\u0000'.repeat(60)}`, headers: { 'content-type': 'audio/ogg' } };
    const stored = await send('PUT', '/api/v2/pbx/recordings/doc-rec', ogg);
    expect(stored.status).toBe(201);
    expect((await send('PUT', '/api/v2/pbx/recordings/doc-rec', { ...ogg, body: 'not audio at all' })).status).toBe(415);
    expect((await send('PUT', '/api/v2/pbx/recordings/bad%01id', ogg)).status).toBe(400);
    const link = new URL(stored.body.data.play_record_link as string);
    expect((await send('GET', link.pathname, { token: null })).status).toBe(200);
    expect((await send('GET', '/recordings/not-a-link', { token: null })).status).toBe(404);

    // ---- webhooks ----
    expect((await send('GET', '/api/v2/webhooks/available')).body.data).toHaveLength(14);
    expect((await send('GET', '/api/v2/webhooks')).body.data).toEqual([]);
    expect((await send('POST', '/api/v2/webhooks/tags')).status).toBe(409);
    expect((await send('DELETE', '/api/v2/webhooks/tags')).status).toBe(409);
    await server.store.webhooks.setUrl(ids.account, 'https://hooks.example/sipsim', ['incoming_call_end']);
    expect((await send('POST', '/api/v2/webhooks/tags')).body.data).toEqual({
      url: 'https://hooks.example/sipsim',
      events: [{ event: 'incoming_call_end' }, { event: 'tags' }],
    });
    expect((await send('GET', '/api/v2/webhooks')).body.data).toEqual([{ event: 'incoming_call_end' }, { event: 'tags' }]);
    expect((await send('DELETE', '/api/v2/webhooks/incoming_call_end')).body.data.events).toEqual([{ event: 'tags' }]);
    expect((await send('POST', '/api/v2/webhooks/calls')).status).toBe(400);
    expect((await send('DELETE', '/api/v2/webhooks/test')).status).toBe(400);

    // ---- every guarded operation without a usable token, and with a token short of its scope ----
    for (const [template, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        if (!op.security?.length) continue;
        const path = template.replace('{id}', String(ids.call)).replace('{tag_id}', String(ids.important)).replace('{event}', 'tags');
        const json = op.requestBody ? {} : undefined;
        for (const bearer of [null, 'not-a-token']) {
          const r = await send(method.toUpperCase(), path, { token: bearer, json });
          expect(r.status, `${method} ${path}`).toBe(401);
        }
        const denied = await send(method.toUpperCase(), path, { token: op.security[0].oauth2[0] === 'settings.read' ? otherOutOfScope : outOfScope, json });
        expect(denied.status, `${method} ${path}`).toBe(403);
        expect(denied.body.errors[0]).toContain(`'${op.security[0].oauth2[0]}'`);
      }
    }

    // Every operation met its success and every main failure it documents.
    const unreachable = new Set(['get /api/v2/account 404']); // the token's account exists while the token does
    const missing: string[] = [];
    for (const [template, item] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        for (const status of Object.keys(op.responses)) {
          const key = `${method} ${template} ${status}`;
          if (['200', '201', '204', '400', '401', '403', '404', '409'].includes(status) && !unreachable.has(key) && !checker.exercised.has(key)) {
            missing.push(key);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    // Response schemas only document: every body left as the route built it.
    expect(server.serialized).toEqual([]);
  });

  it('serves interactive docs that load the document from /api/v2/openapi.json', async () => {
    for (const entry of ['/docs', '/docs/']) {
      const page = await fetch(`${server.base}${entry}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url).toString());
      expect(assets.filter((a) => a.endsWith('.js'))).toHaveLength(3);
      expect(assets.filter((a) => a.endsWith('.css'))).toHaveLength(2);
      for (const asset of assets) {
        const r = await fetch(asset);
        expect(r.status, asset).toBe(200);
        expect(r.headers.get('content-type'), asset).toMatch(asset.endsWith('.js') ? /javascript/ : asset.endsWith('.css') ? /text\/css/ : /image\//);
        await r.arrayBuffer();
      }
      const initializer = await (await fetch(assets.find((a) => a.endsWith('/swagger-initializer.js'))!)).text();
      // Swagger UI loads `urls` in preference to the `url` the plugin sets to its own /docs/json.
      expect(initializer).toMatch(/"urls":\s*\[\s*\{\s*"url":\s*"\/api\/v2\/openapi\.json"/);
      const loaded = await fetch(new URL('/api/v2/openapi.json', page.url));
      expect(loaded.status).toBe(200);
      expect(await loaded.json()).toEqual(doc);
    }
  });
});

/** The statuses that need a server in a particular state: limited, or without its store. */
describe('rate-limited and store-less answers match the document', () => {
  let limited: Server;
  let storeless: Server;
  let doc: Json;
  beforeAll(async () => {
    limited = await startServer('sqlite', {
      ...TEST_CONFIG,
      rateLimit: { enabled: true, rules: { auth: { max: 1, windowSeconds: 60 }, read: { max: 1, windowSeconds: 60 } } },
    });
    storeless = await startServer('sqlite');
    doc = (await (await fetch(`${storeless.base}${OPENAPI_PATH}`)).json()) as Json;
    await storeless.store.close();
  });
  afterAll(async () => {
    await limited?.close();
    await storeless?.close();
  });

  it('answers 429 and 503 as documented', async () => {
    const checker = new DocumentChecker(doc);
    const ask = async (server: Server, method: string, path: string, body?: string) => {
      const url = `${server.base}${path}`;
      // Any token: checking it needs the store.
      const headers: Record<string, string> = body
        ? { 'content-type': 'application/x-www-form-urlencoded' }
        : { authorization: 'Bearer sst_anything' };
      const response = await fetch(url, { method, body, headers });
      await checker.check(method, url, response);
      return response.status;
    };
    const tokenRequest = 'grant_type=client_credentials&client_id=x&client_secret=y';
    expect([await ask(limited, 'POST', '/oauth/token', tokenRequest), await ask(limited, 'POST', '/oauth/token', tokenRequest)]).toEqual([401, 429]);
    expect([await ask(limited, 'GET', '/api/v2/tags'), await ask(limited, 'GET', '/api/v2/tags')]).toEqual([401, 429]);
    for (const path of ['/health', '/health/ready', '/api/v2/account']) expect(await ask(storeless, 'GET', path)).toBe(503);
    expect(await ask(storeless, 'POST', '/oauth/token', tokenRequest)).toBe(503);
    expect(await ask(storeless, 'GET', '/health/live')).toBe(200);
  });
});
