import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

describeEngines('calls API', (engine) => {
  let h: ApiHarness;
  let token: string;
  const ids: Record<string, number> = {};
  let tagImportant: number;
  let tagFollowUp: number;
  let otherAccountCallId: number;
  let alice: number;
  let bob: number;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    alice = (await h.store.createEmployee(h.accountId, { name: 'Alice Martin' })).id;
    bob = (await h.store.createEmployee(h.accountId, { name: 'Bob Durand' })).id;
    tagImportant = (await h.store.createTag(h.accountId, { name: 'Important' })).id;
    tagFollowUp = (await h.store.createTag(h.accountId, { name: 'Follow-up' })).id;
    const [inbound, outbound, missed, voicemail, named, late] = await h.insert([
      { ...callInput({ start: '2024-01-15T10:30:05Z' }), employeeId: alice, tagIds: [tagImportant] },
      {
        ...callInput({ start: '2024-01-15T11:00:00Z', direction: 'outbound' }),
        callerNumber: '+33198765432',
        targetNumber: '+44 20 7946 0018'.replace(/ /g, ''),
        answeredPhoneNumber: '+442079460018',
        employeeId: bob,
        tagIds: [tagFollowUp, tagImportant],
      },
      { ...callInput({ start: '2024-01-16T09:00:00Z', answeredTime: null, sipCode: 487 }), employeeId: alice },
      {
        ...callInput({ start: '2024-01-16T09:30:00Z', answeredTime: null, sipCode: 480, voicemail: true }),
        callerNumber: '+4915112345678',
      },
      { ...callInput({ start: '2024-01-17T08:00:00Z' }), callerName: 'Élodie Dupont', callerNumber: '+33712000000', employeeId: bob },
      { ...callInput({ start: '2024-01-31T23:59:59Z' }), callerNumber: '+33700000001' },
    ]);
    Object.assign(ids, { inbound, outbound, missed, voicemail, named, late });
    const other = await h.store.createAccount({ name: 'Other Co' });
    otherAccountCallId = (await h.insert([callInput({ start: '2024-01-15T10:30:05Z' })], other.id))[0]!;
  });
  afterAll(() => h?.close());

  const list = async (query: string, bearer = token) => {
    const response = await h.app.inject({ url: `/api/v2/calls?${query}`, headers: { authorization: `Bearer ${bearer}` } });
    return { response, body: response.json() };
  };
  const idsOf = (body: { data: Array<{ id: number }> }) => body.data.map((c) => c.id);

  it('lists calls newest first in the documented envelope', async () => {
    const { response, body } = await list('start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z');
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe(body.request_id);
    expect(body).toMatchObject({ status: 200, pagination: { count: 6, limit: 1000, has_more: false } });
    expect(body.pagination).not.toHaveProperty('page');
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(idsOf(body)).toEqual([ids.late, ids.named, ids.voicemail, ids.missed, ids.outbound, ids.inbound]);
  });

  it('serves every field of the call object, plus direction and receiver_number', async () => {
    const { body } = await list('start_time=2024-01-15T00:00:00Z&end_time=2024-01-15T23:59:59Z');
    const inbound = body.data.find((c: { id: number }) => c.id === ids.inbound);
    expect(inbound).toEqual({
      id: ids.inbound,
      call_type: 'inbound',
      direction: 'inbound',
      sip_status: 'answer',
      caller_number: '+33612345678',
      caller_name: null,
      target_number: '+33198765432',
      receiver_number: '+33198765432',
      answered_phone_number: '+33198765432',
      answered: true,
      wait_duration_sec: 5,
      duration_sec: 120,
      play_record_link: null,
      phone_id: null,
      answered_phone_id: null,
      employee_id: alice,
      registration_time: '2024-01-15T10:30:05Z',
      start_time: '2024-01-15T10:30:05Z',
      answered_time: '2024-01-15T10:30:10Z',
      end_time: '2024-01-15T10:32:10Z',
      tags: [{ id: tagImportant, name: 'Important' }],
    });
    const outbound = body.data.find((c: { id: number }) => c.id === ids.outbound);
    expect(outbound.call_type).toBe('outbound');
    expect(outbound.direction).toBe('outbound');
    expect(outbound.tags).toEqual([
      { id: tagFollowUp, name: 'Follow-up' },
      { id: tagImportant, name: 'Important' },
    ]);
  });

  it('derives unanswered calls coherently', async () => {
    const response = await h.app.inject({ url: `/api/v2/calls/${ids.missed}`, headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json().data).toMatchObject({
      call_type: 'missed',
      sip_status: 'cancel',
      answered: false,
      answered_time: null,
      answered_phone_number: null,
      duration_sec: 0,
      wait_duration_sec: 125,
    });
    const voicemail = (await h.app.inject({ url: `/api/v2/calls/${ids.voicemail}`, headers: { authorization: `Bearer ${token}` } })).json();
    expect(voicemail.data).toMatchObject({ call_type: 'voicemail', sip_status: 'no_answer', answered: false });
  });

  it('treats both ends of the window as inclusive and takes fractional seconds and offsets', async () => {
    expect(idsOf((await list('start_time=2024-01-15T10:30:05Z&end_time=2024-01-15T10:30:05Z')).body)).toEqual([ids.inbound]);
    // Python's isoformat() gives six fractional digits; datetime.max.time() ends at .999999.
    expect(idsOf((await list('start_time=2024-01-31T00:00:00.000000Z&end_time=2024-01-31T23:59:59.999999Z')).body)).toEqual([ids.late]);
    // A fraction after the call's second excludes it; an offset is honoured.
    expect(idsOf((await list('start_time=2024-01-15T10:30:05.5Z&end_time=2024-01-15T10:40:00Z')).body)).toEqual([]);
    expect(idsOf((await list('start_time=2024-01-15T11:30:05%2B01:00&end_time=2024-01-15T11:30:05%2B01:00')).body)).toEqual([ids.inbound]);
    // An unencoded '+' arrives as a space and still reads as an offset.
    expect(idsOf((await list('start_time=2024-01-15T11:30:05+01:00&end_time=2024-01-15T11:30:05+01:00')).body)).toEqual([ids.inbound]);
  });

  it('defaults end_time to now', async () => {
    const { body } = await list('start_time=2024-01-17T00:00:00Z');
    expect(idsOf(body)).toEqual([ids.late, ids.named]);
  });

  it('filters by call type, with every documented spelling', async () => {
    const base = 'start_time=2024-01-01T00:00:00Z&end_time=2024-02-01T00:00:00Z';
    expect(idsOf((await list(`${base}&call_types=missed`)).body)).toEqual([ids.missed]);
    const inOut = idsOf((await list(`${base}&call_types=inbound,outgoing`)).body);
    expect(inOut).toEqual([ids.late, ids.named, ids.outbound, ids.inbound]);
    expect(idsOf((await list(`${base}&call_types=outbound`)).body)).toEqual([ids.outbound]);
    expect(idsOf((await list(`${base}&call_types=voicemail,missed`)).body)).toEqual([ids.voicemail, ids.missed]);
  });

  it('filters by employees and tags, OR within a list and AND across parameters', async () => {
    const base = 'start_time=2024-01-01T00:00:00Z&end_time=2024-02-01T00:00:00Z';
    expect(idsOf((await list(`${base}&employees=${alice}`)).body)).toEqual([ids.missed, ids.inbound]);
    expect(idsOf((await list(`${base}&employees=${alice},${bob}`)).body)).toEqual([ids.named, ids.missed, ids.outbound, ids.inbound]);
    expect(idsOf((await list(`${base}&tags=${tagImportant}`)).body)).toEqual([ids.outbound, ids.inbound]);
    expect(idsOf((await list(`${base}&tags=${tagFollowUp}`)).body)).toEqual([ids.outbound]);
    expect(idsOf((await list(`${base}&tags=${tagImportant}&employees=${alice}`)).body)).toEqual([ids.inbound]);
    expect(idsOf((await list(`${base}&tags=${tagImportant}&call_types=outbound&employees=${alice}`)).body)).toEqual([]);
    expect(idsOf((await list(`${base}&employees=123,456,789`)).body)).toEqual([]);
  });

  it('searches numbers however they are written, and names in part and without case or accents', async () => {
    const base = 'start_time=2024-01-01T00:00:00Z&end_time=2024-02-01T00:00:00Z';
    const search = async (term: string) => idsOf((await list(`${base}&search=${encodeURIComponent(term)}`)).body);
    const guide = [ids.missed, ids.inbound];
    expect(await search('+33612345678')).toEqual(guide);
    expect(await search('0033612345678')).toEqual(guide);
    expect(await search('+33 6 12 34 56 78')).toEqual(guide);
    expect(await search('(612) 345-678')).toEqual(guide);
    expect(await search('6.12.34')).toEqual(guide);
    expect(await search('612345')).toEqual(guide);
    // The national way of writing a French number finds its E.164 form.
    expect(await search('06 12 34 56 78')).toEqual(guide);
    // The guide's own URL leaves '+' unencoded: it arrives as a space.
    expect(idsOf((await list(`${base}&search=+33612345678`)).body)).toEqual(guide);
    // Target and answering numbers count too.
    expect(await search('4420 7946')).toEqual([ids.outbound]);
    expect(await search('15112345')).toEqual([ids.voicemail]);
    expect(await search('elodie')).toEqual([ids.named]);
    expect(await search('DUPONT')).toEqual([ids.named]);
    expect(await search('odie dup')).toEqual([ids.named]);
    expect(await search('Élo')).toEqual([ids.named]);
    expect(await search('du')).toEqual([ids.named]);
    expect(await search('nobody')).toEqual([]);
    expect(await search('100%')).toEqual([]);
    expect(await search('_')).toEqual([]);
    expect(await search('"')).toEqual([]);
  });

  it('pages with keyset tokens that walk every call once', async () => {
    const many = Array.from({ length: 45 }, (_, i) => callInput({ start: `2023-06-01T10:00:${String(i % 3).padStart(2, '0')}Z` }));
    const inserted = await h.insert(many);
    const seen: number[] = [];
    let page: string | undefined;
    let pages = 0;
    do {
      const { response, body } = await list(
        `start_time=2023-06-01T00:00:00Z&end_time=2023-06-02T00:00:00Z&limit=20${page ? `&page=${encodeURIComponent(page)}` : ''}`,
      );
      expect(response.statusCode).toBe(200);
      seen.push(...idsOf(body));
      expect(body.pagination.count).toBe(body.data.length);
      page = body.pagination.page;
      expect(Boolean(page)).toBe(body.pagination.has_more);
      pages++;
    } while (page);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(45);
    expect(new Set(seen)).toEqual(new Set(inserted));
    // Same start_time: newer ids first.
    const expected = [...inserted]
      .map((id, i) => ({ id, t: i % 3 }))
      .sort((a, b) => b.t - a.t || b.id - a.id)
      .map((c) => c.id);
    expect(seen).toEqual(expected);
  });

  it('refuses a page token that was tampered with or reused with other filters', async () => {
    const first = await list('start_time=2023-06-01T00:00:00Z&end_time=2023-06-02T00:00:00Z&limit=20');
    const page = first.body.pagination.page as string;
    const reused = await list(`start_time=2023-06-01T00:00:00Z&end_time=2023-06-02T00:00:00Z&call_types=missed&page=${page}`);
    expect(reused.response.statusCode).toBe(400);
    expect(reused.body.errors[0]).toMatch(/'page'.*other filters/);
    const [payload, mac] = page.split('.');
    const forged = Buffer.from(JSON.stringify([1, 1, 'x'])).toString('base64url');
    for (const bad of [`${forged}.${mac}`, `${payload}.AAAA${mac!.slice(4)}`, 'garbage', '']) {
      const r = await list(`start_time=2023-06-01T00:00:00Z&end_time=2023-06-02T00:00:00Z&page=${encodeURIComponent(bad)}`);
      if (bad === '') expect(r.response.statusCode).toBe(200);
      else {
        expect(r.response.statusCode).toBe(400);
        expect(r.body).toMatchObject({ status: 400, code: 'INVALID_PAGE_TOKEN', path: '/api/v2/calls' });
      }
    }
    // A changed limit is fine: the token carries the position, not the page size.
    const next = await list(`start_time=2023-06-01T00:00:00Z&end_time=2023-06-02T00:00:00Z&limit=25&page=${page}`);
    expect(next.response.statusCode).toBe(200);
    expect(next.body.data).toHaveLength(25);
  });

  it.each([
    ['', /Missing required parameter 'start_time'/],
    ['start_time=yesterday', /'start_time'.*not an ISO 8601/],
    ['start_time=2024-02-30T00:00:00Z', /'start_time'/],
    ['start_time=2024-01-01T00:00:00Z&end_time=2024-13-01T00:00:00Z', /'end_time'/],
    ['start_time=2024-01-02T00:00:00Z&end_time=2024-01-01T00:00:00Z', /'end_time'.*before 'start_time'/],
    ['start_time=2999-01-01T00:00:00Z', /'start_time'.*future/],
    ['start_time=2024-01-01T00:00:00Z&limit=19', /'limit'.*20 to 1000/],
    ['start_time=2024-01-01T00:00:00Z&limit=1001', /'limit'/],
    ['start_time=2024-01-01T00:00:00Z&limit=abc', /'limit'/],
    ['start_time=2024-01-01T00:00:00Z&limit=50.5', /'limit'/],
    ['start_time=2024-01-01T00:00:00Z&call_types=answered', /'call_types'.*'answered'/],
    ['start_time=2024-01-01T00:00:00Z&employees=1,abc', /'employees'.*'abc'/],
    ['start_time=2024-01-01T00:00:00Z&employees=-1', /'employees'/],
    ['start_time=2024-01-01T00:00:00Z&tags=1.5', /'tags'.*'1.5'/],
    ['start_time=2024-01-01T00:00:00Z&tags=0', /'tags'/],
    ['start_time=2024-01-01T00:00:00Z&start_time=2024-01-02T00:00:00Z', /'start_time'.*more than once/],
    ['start_time=2024-01-01T00:00:00Z&call_type=missed', /Unknown parameter 'call_type'/],
  ])('rejects %s with a 400 that names the parameter', async (query, message) => {
    const { response, body } = await list(query);
    expect(response.statusCode).toBe(400);
    expect(body).toMatchObject({ status: 400, code: 'INVALID_PARAMETER', path: '/api/v2/calls' });
    expect(typeof body.request_id).toBe('string');
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatch(message);
  });

  it('lists every invalid parameter of a query in one answer, each in good grammar', async () => {
    const { response, body } = await list('limit=abc&call_types=sideways&employees=x&tags=0&page=' + 'p'.repeat(600) + '&colour=red');
    expect(response.statusCode).toBe(400);
    expect(body.errors).toEqual([
      "Unknown parameter 'colour'; allowed: start_time, end_time, employees, tags, call_types, search, limit, page",
      "Missing required parameter 'start_time' (an ISO 8601 date-time such as 2024-01-01T00:00:00Z)",
      "Invalid parameter 'call_types': unknown call type 'sideways' (allowed: inbound, incoming, outbound, outgoing, missed, voicemail)",
      "Invalid parameter 'employees': 'x' is not an employee id (a comma-separated list of positive integers is expected)",
      "Invalid parameter 'tags': '0' is not a tag id (a comma-separated list of positive integers is expected)",
      "Invalid parameter 'limit': 'abc' is not an integer from 20 to 1000",
      "Invalid parameter 'page': at most 512 characters",
    ]);
    const exported = await h.app.inject({
      url: '/api/v2/calls/export?start_time=2024-01-01T00:00:00Z&format=xml&fields=id,colour&call_types=sideways',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(exported.statusCode).toBe(400);
    expect(exported.json().errors).toEqual([
      "Invalid parameter 'call_types': unknown call type 'sideways' (allowed: inbound, incoming, outbound, outgoing, missed, voicemail)",
      "Invalid parameter 'format': 'xml' is not a format (allowed: csv, ndjson)",
      expect.stringMatching(/^Invalid parameter 'fields': unknown field 'colour'/),
    ]);
  });

  it('gets one call by id, and hides calls of other accounts as missing', async () => {
    const ok = await h.app.inject({ url: `/api/v2/calls/${ids.named}`, headers: { authorization: `Bearer ${token}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().data).toMatchObject({ id: ids.named, caller_name: 'Élodie Dupont' });
    for (const id of [otherAccountCallId, 99999999]) {
      const r = await h.app.inject({ url: `/api/v2/calls/${id}`, headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ status: 404, errors: ['Call not found'], path: `/api/v2/calls/${id}` });
    }
    const bad = await h.app.inject({ url: '/api/v2/calls/call_123', headers: { authorization: `Bearer ${token}` } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]).toMatch(/'id'/);
  });

  it("never lists another account's calls", async () => {
    const { body } = await list('start_time=2024-01-15T10:30:05Z&end_time=2024-01-15T10:30:05Z');
    expect(idsOf(body)).toEqual([ids.inbound]);
    const otherToken = await h.token(undefined, (await h.store.listAccounts()).find((a) => a.name === 'Other Co')!.id);
    const theirs = await list('start_time=2024-01-01T00:00:00Z&end_time=2024-02-01T00:00:00Z', otherToken);
    expect(idsOf(theirs.body)).toEqual([otherAccountCallId]);
  });

  it('serves the account with its company name', async () => {
    const r = await h.app.inject({ url: '/api/v2/account', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(200);
    expect(r.json().data).toMatchObject({ id: h.accountId, company_name: 'Acme Corporation', email: 'admin@acme.example' });
  });

  it('answers unknown routes with the error envelope', async () => {
    const r = await h.app.inject({ url: '/api/v2/nothing-here' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', path: '/api/v2/nothing-here' });
    expect(r.headers['x-request-id']).toBe(r.json().request_id);
    // A request id from a proxy in front is kept, so that logs line up.
    const traced = await h.app.inject({ url: '/health', headers: { 'x-request-id': 'lb-1234' } });
    expect(traced.headers['x-request-id']).toBe('lb-1234');
    expect(traced.json().request_id).toBe('lb-1234');
  });

  it('answers a known path asked with another method with a 405 that lists the allowed ones', async () => {
    const r = await h.app.inject({ method: 'DELETE', url: '/api/v2/account', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
    expect(r.json()).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED', path: '/api/v2/account' });
    const token405 = await h.app.inject({ method: 'GET', url: '/oauth/token' });
    expect(token405.statusCode).toBe(405);
    expect(token405.headers.allow).toBe('POST');
    const byId = await h.app.inject({ method: 'PUT', url: '/api/v2/calls/12' });
    expect(byId.statusCode).toBe(405);
    expect(byId.headers.allow).toBe('GET, HEAD, DELETE');
  });

  it('lets a fixed path answer 405 for itself rather than handing the request to a templated sibling', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/api/v2/calls/import', 'POST'],
      ['DELETE', '/api/v2/calls/import', 'POST'],
      ['PUT', '/api/v2/calls/import', 'POST'],
      ['DELETE', '/api/v2/calls/export', 'GET, HEAD'],
      ['POST', '/api/v2/webhooks/available', 'GET, HEAD'],
      ['DELETE', '/api/v2/webhooks/available', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const r = await h.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode, `${method} ${url}`).toBe(405);
      expect(r.headers.allow, `${method} ${url}`).toBe(allow);
      expect(r.json(), `${method} ${url}`).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED', path: url });
    }
  });

  it('reports health without a token', async () => {
    const r = await h.app.inject({ url: '/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json().data).toEqual({ status: 'ok', store: engine });
  });
});
