import { request as httpRequest, type IncomingMessage } from 'node:http';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { deriveCall, type CallInput, type CallResource } from '../../src/domain/call.js';
import { CALL_FIELDS, DEFAULT_CSV_FIELDS, csvText, formatFromAccept } from '../../src/domain/call-export.js';
import { parseListCallsQuery } from '../../src/domain/call-filters.js';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type EngineName, type TestDatabase } from '../helpers/engines.js';
import { TEST_CONFIG, at, callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';
import { CuttableProxy } from '../helpers/tcp-proxy.js';

/**
 * GET /api/v2/calls/export against GET /api/v2/calls: for every filter, the
 * file holds exactly the calls that paging through the list gives, in the same
 * order, walked by the store in small batches so that every batch boundary is
 * crossed; and a store that fails mid-file cuts the transfer off.
 */

const WINDOW = 'start_time=2024-03-01T00:00:00Z&end_time=2024-03-31T23:59:59Z';
/** Small, so that a few dozen calls cross many batch boundaries. */
const BATCH = 7;

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Makes `store.exportCalls` walk in batches of `size`, counting the batches it yields. */
function smallBatches(store: Store, size: number, around?: (batches: AsyncGenerator<CallResource[]>) => AsyncGenerator<CallResource[]>) {
  const original = store.exportCalls.bind(store);
  const counter = { batches: 0 };
  const spy = vi.spyOn(store, 'exportCalls').mockImplementation((accountId, filter, _size, fields) => {
    const inner = original(accountId, filter, size, fields);
    const counted = (async function* () {
      for await (const batch of inner) {
        counter.batches++;
        yield batch;
      }
    })();
    return around ? around(counted) : counted;
  });
  return { counter, restore: () => spy.mockRestore() };
}

/** What a CSV cell should hold for a field of a call, worked out independently of the encoder. */
function expectedCell(call: CallResource, field: (typeof CALL_FIELDS)[number]): string {
  const value = call[field];
  if (value === null) return '';
  if (field === 'tags') return neutralised(call.tags.map((t) => t.name).join(';'));
  if (typeof value === 'string') return neutralised(value);
  return String(value);
}
function neutralised(text: string): string {
  return /^[=+\-@\t\r]/.test(text) && !/^[+-]?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
}

describeEngines('GET /api/v2/calls/export', (engine) => {
  let h: ApiHarness;
  let token: string;
  let batching: ReturnType<typeof smallBatches>;
  const people: Record<string, number> = {};
  const tags: Record<string, number> = {};
  let otherAccountCall: number;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    for (const name of ['Alice Martin', 'Bob Durand', 'Chloé Petit']) {
      people[name.split(' ')[0]!.toLowerCase()] = (await h.store.createEmployee(h.accountId, { name })).id;
    }
    for (const name of ['Important', 'Follow-up', 'Spam; junk', '=HYPERLINK("http://evil")']) {
      tags[name] = (await h.store.createTag(h.accountId, { name })).id;
    }
    const tagIds = Object.values(tags);
    const employeeIds = [...Object.values(people), null];
    const names = [null, 'Élodie Dupont', 'Jean Dupont', 'Dupont, "Jo"', 'Line\nbreak', '=cmd|\' /C calc\'!A0', '@SUM(A1)', '-2+3', 'Ab'];
    const next = random(7);
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
    const calls: Array<CallInput & { tagIds?: number[] }> = [];
    for (let i = 0; i < 90; i++) {
      // Many calls share a second, so that the order's tie on id is crossed by batch boundaries too.
      const start = at('2024-03-01T00:00:00Z') + Math.floor(next() * 30) * 86400 + (i % 4 === 0 ? 0 : Math.floor(next() * 3600));
      const direction = pick(['inbound', 'outbound'] as const);
      const answered = next() < 0.6;
      calls.push({
        ...callInput({ start: new Date(start * 1000).toISOString() }),
        direction,
        voicemail: !answered && next() < 0.5,
        answeredTime: answered ? start + 3 : null,
        sipCode: answered ? 200 : pick([487, 480, 486, 603]),
        callerNumber: `+336${String(10000000 + Math.floor(next() * 89999999))}`,
        callerName: pick(names),
        employeeId: pick(employeeIds),
        playRecordLink: answered && next() < 0.3 ? `https://example.com/rec/${i}.mp3?a=1,2` : null,
        tagIds: tagIds.filter(() => next() < 0.3),
      });
    }
    // Exactly two batches' worth of calls on one day, for an export that ends on a batch boundary.
    for (let i = 0; i < 2 * BATCH; i++) calls.push({ ...callInput({ start: `2024-04-10T10:00:${String(i % 5).padStart(2, '0')}Z` }) });
    await h.insert(calls);
    const other = await h.store.createAccount({ name: 'Other Co' });
    otherAccountCall = (await h.insert([callInput({ start: '2024-03-15T10:00:00Z' })], other.id))[0]!;
    batching = smallBatches(h.store, BATCH);
  });
  afterAll(async () => {
    batching?.restore();
    await h?.close();
  });

  const auth = (bearer = token) => ({ authorization: `Bearer ${bearer}` });
  const exportOf = (query: string, headers: Record<string, string> = {}) =>
    h.app.inject({ url: `/api/v2/calls/export?${query}`, headers: { ...auth(), ...headers } });

  /** Every call the list gives for a query, following its page tokens, 20 at a time. */
  async function paged(query: string): Promise<CallResource[]> {
    const calls: CallResource[] = [];
    let page: string | undefined;
    do {
      const r = await h.app.inject({
        url: `/api/v2/calls?${query}&limit=20${page ? `&page=${encodeURIComponent(page)}` : ''}`,
        headers: auth(),
      });
      expect(r.statusCode, r.body).toBe(200);
      calls.push(...r.json().data);
      page = r.json().pagination.page;
    } while (page);
    return calls;
  }

  const ndjsonOf = (body: string): CallResource[] => {
    expect(body === '' || body.endsWith('\n')).toBe(true);
    return body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as CallResource);
  };

  /** Each filter by name; the queries are read once the ids exist. */
  const FILTERS: Record<string, () => string> = {
    'the window alone': () => WINDOW,
    'call types': () => `${WINDOW}&call_types=missed,voicemail`,
    'call types, every spelling': () => `${WINDOW}&call_types=incoming,outgoing`,
    'one employee': () => `${WINDOW}&employees=${people.alice}`,
    'two employees': () => `${WINDOW}&employees=${people.alice},${people.chloé}`,
    'one tag': () => `${WINDOW}&tags=${tags.Important}`,
    'two tags': () => `${WINDOW}&tags=${tags.Important},${tags['Follow-up']}`,
    'a number': () => `${WINDOW}&search=%2B336`,
    'a name': () => `${WINDOW}&search=dupont`,
    'a short name': () => `${WINDOW}&search=ab`,
    'everything at once': () =>
      `${WINDOW}&call_types=inbound,outbound&employees=${people.alice},${people.bob}&tags=${tags.Important},${tags['Spam; junk']}&search=dupont`,
    'one tag and a type': () => `${WINDOW}&tags=${tags['Follow-up']}&call_types=missed`,
    'end_time left to now': () => 'start_time=2024-03-01T00:00:00Z',
    'two batches exactly': () => 'start_time=2024-04-10T00:00:00Z&end_time=2024-04-10T23:59:59Z',
  };
  const FILTER_NAMES = Object.keys(FILTERS);

  it.each(FILTER_NAMES)('serves as NDJSON exactly the calls the list pages through (%s)', async (name) => {
    const query = FILTERS[name]!();
    const expected = await paged(query);
    const before = batching.counter.batches;
    const r = await exportOf(`${query}&format=ndjson`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-ndjson');
    expect(ndjsonOf(r.body)).toEqual(expected);
    // The store was walked in batches, one more query when the last batch came full.
    expect(batching.counter.batches - before).toBe(Math.ceil(expected.length / BATCH));
  });

  it.each(FILTER_NAMES)('serves as CSV exactly the calls the list pages through (%s)', async (name) => {
    const query = FILTERS[name]!();
    const expected = await paged(query);
    const r = await exportOf(`${query}&fields=${CALL_FIELDS.join(',')}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parseCsv(r.body, { relaxQuotes: false }) as string[][];
    expect(rows[0]).toEqual([...CALL_FIELDS]);
    expect(rows.slice(1)).toEqual(expected.map((call) => CALL_FIELDS.map((field) => expectedCell(call, field))));
  });

  it('covers enough ground: the filters select different, non-trivial sets', async () => {
    const counts = await Promise.all(Object.values(FILTERS).map(async (query) => (await paged(query())).length));
    expect(counts[0]).toBeGreaterThan(10 * BATCH);
    expect(counts.filter((n) => n > BATCH).length).toBeGreaterThanOrEqual(8);
    expect(counts.at(-1)).toBe(2 * BATCH);
    expect(counts.every((n) => n > 0)).toBe(true);
    const all = await paged(WINDOW);
    expect(all.map((c) => c.id)).not.toContain(otherAccountCall);
    expect(all.some((c) => c.tags.length > 1)).toBe(true);
  });

  it("writes the guide's columns by default, as a file to save", async () => {
    const r = await exportOf(WINDOW);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="calls-20240301T000000Z-20240331T235959Z.csv"');
    expect(r.headers['x-request-id']).toBeTruthy();
    const lines = r.body.split('\r\n');
    expect(lines[0]).toBe('id,call_type,sip_status,caller_number,target_number,duration_sec,start_time,answered');
    expect(lines.at(-1)).toBe('');
    const first = (await paged(WINDOW))[0]!;
    expect(lines[1]).toBe(
      [first.id, first.call_type, first.sip_status, first.caller_number, first.target_number, first.duration_sec, first.start_time, first.answered].join(','),
    );
    expect(lines[1]).toMatch(/,(true|false)$/);
    expect(DEFAULT_CSV_FIELDS.join(',')).toBe(lines[0]);
  });

  it('chooses columns with fields=, in the order given, tags as their names', async () => {
    const expected = await paged(`${WINDOW}&tags=${tags['Spam; junk']}`);
    const r = await exportOf(`${WINDOW}&tags=${tags['Spam; junk']}&fields=tags,id,caller_name,tags`);
    expect(r.statusCode).toBe(200);
    const rows = parseCsv(r.body) as string[][];
    expect(rows[0]).toEqual(['tags', 'id', 'caller_name']);
    expect(rows.slice(1)).toEqual(expected.map((c) => [expectedCell(c, 'tags'), String(c.id), c.caller_name === null ? '' : neutralised(c.caller_name)]));
    // Tag names in the list's order, which is by name.
    expect(rows.slice(1).map((row) => row[0]!)).toContain('Important;Spam; junk');
  });

  it('quotes per RFC 4180 and keeps spreadsheets from running a cell as a formula', async () => {
    const r = await exportOf(`${WINDOW}&fields=caller_name,caller_number,play_record_link,tags`);
    expect(r.body).toContain('"Dupont, ""Jo"""');
    expect(r.body).toContain('"Line\nbreak"');
    expect(r.body).toContain(`'=cmd|' /C calc'!A0`);
    expect(r.body).toContain(`'@SUM(A1)`);
    expect(r.body).toContain(`'-2+3`);
    expect(r.body).toContain(`,"'=HYPERLINK(""http://evil"")`);
    expect(r.body).toContain('"https://example.com/rec/');
    // A number in E.164 stays as it is.
    expect(r.body).toMatch(/,\+336\d{8},/);
    expect(csvText('+33612345678')).toBe('+33612345678');
    expect(csvText('-12.5')).toBe('-12.5');
    expect(csvText('=1+1')).toBe("'=1+1");
    expect(csvText('+33 6 12')).toBe("'+33 6 12");
    expect(csvText('\tx')).toBe("'\tx");
    expect(csvText('a"b')).toBe('"a""b"');
    expect(csvText('')).toBe('');
  });

  it('chooses the format from format=, else from Accept, else CSV', async () => {
    const ndjson = await exportOf(WINDOW, { accept: 'application/x-ndjson' });
    expect(ndjson.headers['content-type']).toBe('application/x-ndjson');
    expect(ndjson.headers['content-disposition']).toBe('attachment; filename="calls-20240301T000000Z-20240331T235959Z.ndjson"');
    expect(ndjsonOf(ndjson.body)).toEqual(await paged(WINDOW));
    expect((await exportOf(`${WINDOW}&format=csv`, { accept: 'application/x-ndjson' })).headers['content-type']).toMatch(/^text\/csv/);
    expect((await exportOf(`${WINDOW}&format=NDJSON`)).headers['content-type']).toBe('application/x-ndjson');
    expect((await exportOf(WINDOW, { accept: 'text/csv' })).headers['content-type']).toMatch(/^text\/csv/);
    expect((await exportOf(WINDOW, { accept: '*/*' })).headers['content-type']).toMatch(/^text\/csv/);
    expect((await exportOf(WINDOW, { accept: 'application/json' })).headers['content-type']).toMatch(/^text\/csv/);
    expect(formatFromAccept('text/csv;q=0.5, application/x-ndjson')).toBe('ndjson');
    expect(formatFromAccept('text/csv, application/x-ndjson;q=0.9')).toBe('csv');
    expect(formatFromAccept('application/x-ndjson;q=0, text/html')).toBeNull();
  });

  it('answers an empty selection with the header alone, or nothing', async () => {
    const empty = 'start_time=2020-01-01T00:00:00Z&end_time=2020-01-31T23:59:59Z';
    const csv = await exportOf(empty);
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toBe(`${DEFAULT_CSV_FIELDS.join(',')}\r\n`);
    const ndjson = await exportOf(`${empty}&format=ndjson`);
    expect(ndjson.statusCode).toBe(200);
    expect(ndjson.body).toBe('');
    // Another account's calls are never in it.
    const theirs = await exportOf('start_time=2024-03-15T10:00:00Z&end_time=2024-03-15T10:00:00Z&format=ndjson');
    expect(ndjsonOf(theirs.body).map((c) => c.id)).not.toContain(otherAccountCall);
  });

  it.each([
    ['', /Missing required parameter 'start_time'/],
    ['start_time=yesterday', /'start_time'.*not an ISO 8601/],
    ['start_time=2024-01-02T00:00:00Z&end_time=2024-01-01T00:00:00Z', /'end_time'.*before 'start_time'/],
    [`${WINDOW}&call_types=answered`, /'call_types'.*'answered'/],
    [`${WINDOW}&employees=1,abc`, /'employees'.*'abc'/],
    [`${WINDOW}&tags=0`, /'tags'/],
    [`${WINDOW}&start_time=2024-01-02T00:00:00Z`, /'start_time'.*more than once/],
    [`${WINDOW}&limit=100`, /'limit'.*no pages/],
    [`${WINDOW}&page=abc`, /'page'.*no pages/],
    [`${WINDOW}&call_type=missed`, /Unknown parameter 'call_type'; allowed: start_time, .*format, fields/],
    [`${WINDOW}&format=xlsx`, /'format'.*'xlsx'.*csv, ndjson/],
    [`${WINDOW}&format=csv&format=ndjson`, /'format'.*more than once/],
    [`${WINDOW}&fields=id,colour`, /'fields'.*'colour'.*allowed: id, call_type, direction,.* tags\)/],
    [`${WINDOW}&fields=`, /'fields'.*empty/],
    [`${WINDOW}&format=ndjson&fields=id`, /'fields'.*CSV columns/],
  ])('refuses %s with a 400 in the error envelope', async (query, message) => {
    const r = await exportOf(query);
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(body).toMatchObject({ status: 400, code: 'INVALID_PARAMETER', path: '/api/v2/calls/export' });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatch(message);
  });

  it('needs a token with calls.read', async () => {
    const none = await h.app.inject({ url: `/api/v2/calls/export?${WINDOW}` });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const narrow = await exportOf(WINDOW, auth(await h.token('tags.read')));
    expect(narrow.statusCode).toBe(403);
    expect(narrow.json().errors[0]).toContain("'calls.read'");
    // Scope comes before the parameters: no token learns what a query would refuse.
    expect((await h.app.inject({ url: '/api/v2/calls/export?bogus=1' })).statusCode).toBe(401);
  });

  it('walks the store in batches of any size, to the same calls as the list', async () => {
    const query = `${WINDOW}&tags=${tags.Important},${tags['Follow-up']}`;
    const expected = await paged(query);
    const { filter } = parseListCallsQuery(Object.fromEntries(new URLSearchParams(query)), h.accountId);
    batching.restore();
    try {
      for (const size of [1, 2, BATCH, expected.length, expected.length + 1, 5000]) {
        const walked: CallResource[] = [];
        for await (const batch of h.store.exportCalls(h.accountId, filter, size)) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(size);
          walked.push(...batch);
        }
        expect(walked, `batches of ${size}`).toEqual(expected);
      }
      await expect(h.store.exportCalls(h.accountId, filter, 0).next()).rejects.toThrow(RangeError);
      // Only some fields: each is what the whole call holds.
      const all = async (fields?: Array<(typeof CALL_FIELDS)[number]>) => {
        const calls: Array<Partial<CallResource>> = [];
        for await (const batch of h.store.exportCalls(h.accountId, filter, BATCH, fields)) calls.push(...batch);
        return calls;
      };
      expect(await all([...CALL_FIELDS])).toEqual(expected);
      for (const field of CALL_FIELDS) {
        expect(await all([field]), field).toEqual(expected.map((call) => ({ [field]: call[field] })));
      }
      expect(await all(['tags', 'id', 'tags'])).toEqual(expected.map((call) => ({ tags: call.tags, id: call.id })));
    } finally {
      batching = smallBatches(h.store, BATCH);
    }
  });
});

/** A real port and a real client: how the transfer behaves, not only what it holds. */
describeEngines('exports over a real port', (engine) => {
  let database: TestDatabase;
  let proxy: CuttableProxy | null = null;
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let restore: (() => void) | null = null;
  const logLines: Array<Record<string, any>> = [];
  const CALLS = 20_000;

  /** Cuts the store off: the PostgreSQL connection through a proxy, the SQLite handle closed. */
  let cut: () => Promise<void>;

  beforeAll(async () => {
    database = await createTestDatabase(engine as EngineName);
    let url = database.url;
    if (engine === 'postgres') {
      const direct = new URL(database.url);
      proxy = new CuttableProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      await proxy.up();
      const viaProxy = new URL(database.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      url = viaProxy.toString();
    }
    store = Store.open(url);
    await store.migrate();
    cut = engine === 'postgres' ? () => proxy!.down() : () => store.close();
    const account = await store.createAccount({ name: 'Acme' });
    const tag = await store.createTag(account.id, { name: 'Important' });
    const start = at('2024-05-01T00:00:00Z');
    const calls = Array.from({ length: CALLS }, (_, i) => ({
      ...deriveCall({
        ...callInput({ start: '2024-05-01T00:00:00Z' }),
        startTime: start + i * 60,
        endTime: start + i * 60 + 125,
        answeredTime: start + i * 60 + 5,
        // Long lines, so that the file (about 24 MB as NDJSON) is far larger than what socket buffers hold.
        playRecordLink: `https://example.com/recordings/${'x'.repeat(600)}/${i}.mp3`,
      }),
      tagIds: i % 3 === 0 ? [tag.id] : [],
    }));
    for (let i = 0; i < calls.length; i += 5000) await store.insertCalls(account.id, calls.slice(i, i + 5000));
    const { client, clientSecret } = await issueClient(store, account.id);
    app = buildApp({
      store,
      config: { ...TEST_CONFIG, logLevel: 'info' },
      logStream: { write: (chunk: string) => logLines.push(...chunk.split('\n').filter(Boolean).map((l) => JSON.parse(l))) },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const r = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
    });
    token = r.json().access_token;
  });
  afterEach(() => {
    restore?.();
    restore = null;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close().catch(() => {});
    await proxy?.down().catch(() => {});
    await database?.drop();
  });

  /** Sends the request; resolves on the response head, leaving the body unread. */
  function open(query: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${base}/api/v2/calls/export?${query}`, { headers: { authorization: `Bearer ${token}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
  }

  /** Reads a body to its end or its failure, and says which. */
  function readAll(res: IncomingMessage): Promise<{ text: string; complete: boolean; error: Error | null }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let error: Error | null = null;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (e) => (error = e));
      res.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), complete: res.complete, error }));
    });
  }

  const FULL = 'start_time=2024-05-01T00:00:00Z&end_time=2024-06-30T00:00:00Z';

  it('streams 20,000 calls as fast as the client reads, no further ahead', async () => {
    const batching = smallBatches(store, 100);
    restore = batching.restore;
    const res = await open(`${FULL}&format=ndjson`);
    expect(res.statusCode).toBe(200);
    res.pause();
    // While the client reads nothing, the store is walked only as far as the socket's buffers take, then waits.
    let whilePaused = -1;
    for (let tries = 0; tries < 20 && batching.counter.batches !== whilePaused; tries++) {
      whilePaused = batching.counter.batches;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(batching.counter.batches).toBe(whilePaused);
    expect(whilePaused).toBeLessThan(CALLS / 100 / 2);
    const body = await readAll(res.resume());
    expect(body.complete).toBe(true);
    const lines = body.text.trimEnd().split('\n');
    expect(lines).toHaveLength(CALLS);
    expect(JSON.parse(lines[0]!).start_time).toBe('2024-05-14T21:19:00Z');
    expect(JSON.parse(lines.at(-1)!).start_time).toBe('2024-05-01T00:00:00Z');
    expect(batching.counter.batches).toBe(CALLS / 100);
  });

  it('stops walking the store when the client goes away', async () => {
    const batching = smallBatches(store, 100);
    restore = batching.restore;
    const res = await open(`${FULL}&format=ndjson`);
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    res.destroy();
    // The line is written once the walk has ended: from then on no batch is read.
    await vi.waitFor(() => expect(logLines.some((l) => l.msg === 'call export stopped: the client went away')).toBe(true), { timeout: 10_000 });
    const after = batching.counter.batches;
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect(batching.counter.batches).toBe(after);
    expect(after).toBeLessThan(CALLS / 100);
  });

  it('cuts the transfer off when the store fails mid-file, logs it, and keeps serving', async () => {
    const batching = smallBatches(store, 50, async function* (batches) {
      let n = 0;
      for await (const batch of batches) {
        yield batch;
        // The store goes away once the file has begun.
        if (++n === 3) await cut();
      }
    });
    restore = batching.restore;
    const res = await open(FULL);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const body = await readAll(res);
    expect(body.complete).toBe(false);
    expect(body.error?.message).toMatch(/aborted/);
    const rows = body.text.split('\r\n');
    expect(rows.length).toBeGreaterThan(3 * 50);
    expect(rows.length).toBeLessThan(CALLS);
    const failure = logLines.find((l) => l.msg === 'call export failed after its response began; the transfer was cut off');
    expect(failure).toMatchObject({ level: 50, calls: 150 });
    expect(failure!.err).toBeDefined();
    // The process carries on, and says the store is away.
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const after = await fetch(`${base}/api/v2/calls/export?${FULL}`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(503);
    expect(await after.json()).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
  });
});

/** A store that fails before the first byte gets the usual 503 envelope, whatever the format. */
describeEngines('an export whose store fails before it starts', (engine) => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await createHarness(engine);
    await h.insert([callInput({ start: '2024-03-02T10:00:00Z' })]);
  });
  afterAll(() => h?.close());

  it('answers 503 with Retry-After', async () => {
    const token = await h.token();
    const original = h.store.exportCalls.bind(h.store);
    const spy = vi.spyOn(h.store, 'exportCalls').mockImplementation(async function* (accountId, filter, size, fields) {
      // The database is gone once the token is checked: the first batch fails.
      await h.store.close();
      yield* original(accountId, filter, size, fields);
    });
    try {
      const r = await h.app.inject({ url: `/api/v2/calls/export?${WINDOW}&format=ndjson`, headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json()).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', path: '/api/v2/calls/export' });
    } finally {
      spy.mockRestore();
    }
  });
});
