import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

describeEngines('tags, phones and employees', (engine) => {
  let h: ApiHarness;
  let token: string;
  let alice: number;
  let bob: number;
  let deskPhone: number;
  let callId: number;
  let otherCallId: number;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    alice = (await h.store.createEmployee(h.accountId, { name: 'Alice Martin', email: 'alice@acme.example' })).id;
    bob = (await h.store.createEmployee(h.accountId, { name: 'Bob Durand' })).id;
    deskPhone = (await h.store.createPhone(h.accountId, { number: '+33198765432', name: 'Alice desk', internalNumber: 101, employeeId: alice })).id;
    await h.store.createPhone(h.accountId, { number: '+33198765433', name: 'Alice mobile', internalNumber: 102, employeeId: alice });
    await h.store.createPhone(h.accountId, { number: '+33198765434', name: 'Old line', status: 'inactive' });
    await h.store.createPhone(h.accountId, { number: '+33198765435', name: 'New hire', status: 'not_activated' });
    const inserted = await h.insert([
      callInput({ start: '2024-01-15T10:30:05Z' }),
      callInput({ start: '2024-01-16T08:00:00Z' }),
    ]);
    [callId, otherCallId] = [inserted[0]!, inserted[1]!];
  });
  afterAll(() => h?.close());

  const call = async (method: string, url: string, payload?: unknown, bearer = token) => {
    const response = await h.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${bearer}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { response, body: response.body ? response.json() : null };
  };
  const window = 'start_time=2024-01-01T00:00:00Z&end_time=2024-01-31T23:59:59Z';

  describe('tags', () => {
    it('creates a tag with the documented fields and answers 201', async () => {
      const { response, body } = await call('POST', '/api/v2/tags', {
        name: 'Sales Lead',
        color: '#22C55E',
        description: 'Potential sales opportunity',
      });
      expect(response.statusCode).toBe(201);
      expect(body).toMatchObject({ status: 201, data: { name: 'Sales Lead', color: '#22C55E', description: 'Potential sales opportunity' } });
      expect(Object.keys(body.data).sort()).toEqual(['color', 'description', 'id', 'name']);
      expect(body.data.id).toBeGreaterThan(0);
    });

    it('gives a new tag the default colour and no description', async () => {
      const { body } = await call('POST', '/api/v2/tags', { name: '  Callback  ' });
      expect(body.data).toMatchObject({ name: 'Callback', color: '#6B7280', description: null });
    });

    it('answers the documented 409 for a name that exists in any case', async () => {
      const { response, body } = await call('POST', '/api/v2/tags', { name: 'SALES lead' });
      expect(response.statusCode).toBe(409);
      expect(body).toMatchObject({ status: 409, errors: ['Tag with this name already exists'], path: '/api/v2/tags' });
      expect(body.request_id).toBe(response.headers['x-request-id']);
    });

    it('names the field of every invalid body', async () => {
      const cases: Array<[unknown, string]> = [
        [{}, "Missing required field 'name'"],
        [{ name: '' }, "Invalid field 'name': must not be empty"],
        [{ name: '   ' }, "Invalid field 'name': must be a name that is not blank"],
        // Control and format characters are not visible either.
        [{ name: '\u001f' }, "Invalid field 'name': must be a name that is not blank"],
        [{ name: ' \u0007\u200b\t' }, "Invalid field 'name': must be a name that is not blank"],
        [{ name: 'x'.repeat(101) }, "Invalid field 'name': must be at most 100 characters"],
        [{ name: 42 }, "Invalid field 'name': must be a string"],
        [{ name: 'Ok', color: 'red' }, "Invalid field 'color': must be a hex colour such as #22C55E"],
        [{ name: 'Ok', color: '#12345' }, "Invalid field 'color': must be a hex colour such as #22C55E"],
        [{ name: 'Ok', description: 7 }, "Invalid field 'description': must be a string or null"],
        [{ name: 'Ok', colour: '#FFFFFF' }, "Unknown field 'colour'"],
        [[{ name: 'Ok' }], 'The request body must be a JSON object'],
        ['"Ok"', 'The request body must be a JSON object'],
      ];
      for (const [payload, message] of cases) {
        const response = await h.app.inject({
          method: 'POST',
          url: '/api/v2/tags',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        });
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(response.json(), JSON.stringify(payload)).toMatchObject({ status: 400, code: 'INVALID_BODY', errors: [message] });
      }
    });

    it('refuses NUL characters, which no name holds and PostgreSQL cannot store', async () => {
      const { response, body } = await call('POST', '/api/v2/tags', { name: 'a\u0000b' });
      expect(response.statusCode).toBe(400);
      expect(body.errors).toEqual(['Text in the request body must not contain NUL characters (\\u0000)']);
      const form = await h.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=client_credentials&client_id=a%00b&client_secret=x',
      });
      expect(form.statusCode).toBe(400);
    });

    it('lists every problem of a body at once', async () => {
      const { body } = await call('POST', '/api/v2/tags', { color: 'red', extra: 1 });
      expect(body.errors).toEqual(
        expect.arrayContaining(["Missing required field 'name'", "Unknown field 'extra'", "Invalid field 'color': must be a hex colour such as #22C55E"]),
      );
    });

    it('updates a tag partially and keeps the name unique', async () => {
      const created = (await call('POST', '/api/v2/tags', { name: 'Important', color: '#FF0000', description: 'High priority calls' })).body.data;
      const { response, body } = await call('PATCH', `/api/v2/tags/${created.id}`, { name: 'VIP Customer', color: '#8B5CF6' });
      expect(response.statusCode).toBe(200);
      expect(body.data).toEqual({ id: created.id, name: 'VIP Customer', color: '#8B5CF6', description: 'High priority calls' });
      expect((await call('PATCH', `/api/v2/tags/${created.id}`, { description: null })).body.data.description).toBeNull();
      // Renaming to its own name in another case is allowed; to another tag's name is not.
      expect((await call('PATCH', `/api/v2/tags/${created.id}`, { name: 'vip customer' })).response.statusCode).toBe(200);
      const clash = await call('PATCH', `/api/v2/tags/${created.id}`, { name: 'sales lead' });
      expect(clash.response.statusCode).toBe(409);
      expect(clash.body.errors).toEqual(['Tag with this name already exists']);
      expect((await call('GET', `/api/v2/tags/${created.id}`)).body.data.name).toBe('vip customer');
    });

    it('pages through tags with the envelope of /calls', async () => {
      for (let i = 0; i < 5; i++) await call('POST', '/api/v2/tags', { name: `Batch ${i}` });
      const all = (await call('GET', '/api/v2/tags')).body;
      expect(all.pagination).toMatchObject({ count: all.data.length, limit: 1000, has_more: false });
      const seen: number[] = [];
      let page: string | undefined;
      do {
        const { body } = await call('GET', `/api/v2/tags?limit=2${page ? `&page=${encodeURIComponent(page)}` : ''}`);
        expect(body.data.length).toBeLessThanOrEqual(2);
        seen.push(...body.data.map((t: { id: number }) => t.id));
        page = body.pagination.page;
        expect(body.pagination.has_more).toBe(page !== undefined);
      } while (page);
      expect(seen).toEqual(all.data.map((t: { id: number }) => t.id));
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    });

    it('rejects bad list parameters and foreign page tokens', async () => {
      expect((await call('GET', '/api/v2/tags?limit=0')).body.errors).toEqual(["Invalid parameter 'limit': must be at least 1"]);
      expect((await call('GET', '/api/v2/tags?limit=abc')).body.errors).toEqual(["Invalid parameter 'limit': must be an integer"]);
      expect((await call('GET', '/api/v2/tags?sort=name')).body.errors).toEqual(["Unknown parameter 'sort'"]);
      const callsPage = (await call('GET', `/api/v2/calls?${window}&limit=20`)).body.pagination.page;
      const phonesPage = (await call('GET', '/api/v2/phones?limit=1')).body.pagination.page;
      for (const page of [callsPage, phonesPage, 'garbage'].filter(Boolean)) {
        const { response, body } = await call('GET', `/api/v2/tags?page=${encodeURIComponent(page)}`);
        expect(response.statusCode).toBe(400);
        expect(body.code).toBe('INVALID_PAGE_TOKEN');
      }
    });

    it('deletes a tag and takes it off every call', async () => {
      const tag = (await call('POST', '/api/v2/tags', { name: 'Short-lived' })).body.data;
      await call('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [tag.id] });
      expect((await call('GET', `/api/v2/calls?${window}&tags=${tag.id}`)).body.data).toHaveLength(1);
      const { response } = await call('DELETE', `/api/v2/tags/${tag.id}`);
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      expect((await call('GET', `/api/v2/tags/${tag.id}`)).response.statusCode).toBe(404);
      expect((await call('DELETE', `/api/v2/tags/${tag.id}`)).response.statusCode).toBe(404);
      expect((await call('GET', `/api/v2/calls/${callId}`)).body.data.tags.map((t: { id: number }) => t.id)).not.toContain(tag.id);
      // The name is free again.
      expect((await call('POST', '/api/v2/tags', { name: 'short-lived' })).response.statusCode).toBe(201);
    });

    it('takes a DELETE labelled JSON with no body, and words an empty POST', async () => {
      const tag = (await call('POST', '/api/v2/tags', { name: 'Labelled' })).body.data;
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const deleted = await h.app.inject({ method: 'DELETE', url: `/api/v2/tags/${tag.id}`, headers });
      expect(deleted.statusCode).toBe(204);
      const empty = await h.app.inject({ method: 'POST', url: '/api/v2/tags', headers, payload: '' });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().errors).toEqual(['The request body must be a JSON object']);
    });

    it('needs tags.read to read and tags.write to write', async () => {
      const readOnly = await h.token('tags.read');
      expect((await call('GET', '/api/v2/tags', undefined, readOnly)).response.statusCode).toBe(200);
      const denied = await call('POST', '/api/v2/tags', { name: 'Nope' }, readOnly);
      expect(denied.response.statusCode).toBe(403);
      expect(denied.body.errors[0]).toContain("'tags.write'");
      // Authentication comes before validation: a bad body without a token is a 401.
      const anonymous = await h.app.inject({ method: 'POST', url: '/api/v2/tags', payload: { colour: 1 } });
      expect(anonymous.statusCode).toBe(401);
    });
  });

  describe('tags on calls', () => {
    let red: number;
    let blue: number;
    let green: number;
    beforeAll(async () => {
      red = (await call('POST', '/api/v2/tags', { name: 'Red' })).body.data.id;
      blue = (await call('POST', '/api/v2/tags', { name: 'Blue' })).body.data.id;
      green = (await call('POST', '/api/v2/tags', { name: 'Green' })).body.data.id;
    });
    const tagIdsOf = (body: { data: { tags: Array<{ id: number }> } }) => body.data.tags.map((t) => t.id).sort((a, b) => a - b);

    it('adds tags, harmlessly twice, and answers with the updated call', async () => {
      const first = await call('POST', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [red, blue] });
      expect(first.response.statusCode).toBe(200);
      expect(first.body.data.id).toBe(otherCallId);
      expect(first.body.data.tags).toEqual(
        expect.arrayContaining([
          { id: red, name: 'Red' },
          { id: blue, name: 'Blue' },
        ]),
      );
      const again = await call('POST', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [red, red] });
      expect(tagIdsOf(again.body)).toEqual([red, blue].sort((a, b) => a - b));
    });

    it('shows a change at once in the tags filter of /calls', async () => {
      const filtered = async (tagId: number) =>
        (await call('GET', `/api/v2/calls?${window}&tags=${tagId}`)).body.data.map((c: { id: number }) => c.id);
      expect(await filtered(green)).toEqual([]);
      await call('POST', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [green] });
      expect(await filtered(green)).toEqual([otherCallId]);
      const removed = await call('DELETE', `/api/v2/calls/${otherCallId}/tags/${green}`);
      expect(removed.response.statusCode).toBe(200);
      expect(tagIdsOf(removed.body)).not.toContain(green);
      expect(await filtered(green)).toEqual([]);
      // Removing a tag the call does not carry changes nothing.
      expect((await call('DELETE', `/api/v2/calls/${otherCallId}/tags/${green}`)).response.statusCode).toBe(200);
    });

    it('replaces the set with PUT, and clears it with an empty list', async () => {
      const replaced = await call('PUT', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [green] });
      expect(tagIdsOf(replaced.body)).toEqual([green]);
      const cleared = await call('PUT', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [] });
      expect(cleared.body.data.tags).toEqual([]);
    });

    it('changes nothing when one of the tags does not exist', async () => {
      await call('PUT', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [red] });
      const { response, body } = await call('POST', `/api/v2/calls/${otherCallId}/tags`, { tag_ids: [blue, 999999] });
      expect(response.statusCode).toBe(404);
      expect(body.errors).toEqual(['Tag not found']);
      expect(tagIdsOf((await call('GET', `/api/v2/calls/${otherCallId}`)).body)).toEqual([red]);
    });

    it('validates the body and the path', async () => {
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', `/api/v2/calls/${callId}/tags`, {}, "Missing required field 'tag_ids'"],
        ['POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [] }, "Invalid field 'tag_ids': must have at least 1 item"],
        ['POST', `/api/v2/calls/${callId}/tags`, { tag_ids: ['1'] }, "Invalid field 'tag_ids[0]': must be a positive integer"],
        ['POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [0] }, "Invalid field 'tag_ids[0]': must be a positive integer"],
        ['PUT', `/api/v2/calls/${callId}/tags`, { tag_ids: 5 }, "Invalid field 'tag_ids': must be an array"],
        ['POST', '/api/v2/calls/abc/tags', { tag_ids: [red] }, "Invalid parameter 'id': must be a positive integer"],
        ['DELETE', `/api/v2/calls/${callId}/tags/0`, undefined, "Invalid parameter 'tag_id': must be a positive integer"],
      ];
      for (const [method, url, payload, message] of cases) {
        const { response, body } = await call(method, url, payload);
        expect(response.statusCode, `${method} ${url}`).toBe(400);
        expect(body.errors, `${method} ${url}`).toEqual([message]);
      }
      expect((await call('POST', '/api/v2/calls/99999999/tags', { tag_ids: [red] })).body.errors).toEqual(['Call not found']);
    });

    it('needs calls.tags.write', async () => {
      const readOnly = await h.token('calls.read tags.write');
      const { response, body } = await call('POST', `/api/v2/calls/${callId}/tags`, { tag_ids: [red] }, readOnly);
      expect(response.statusCode).toBe(403);
      expect(body.errors[0]).toContain("'calls.tags.write'");
    });
  });

  describe('phones', () => {
    it('lists phones with the full phone object of the Click-to-Call guide', async () => {
      const { response, body } = await call('GET', '/api/v2/phones');
      expect(response.statusCode).toBe(200);
      expect(body.pagination).toMatchObject({ count: 4, has_more: false });
      const desk = body.data.find((p: { id: number }) => p.id === deskPhone);
      expect(desk).toMatchObject({
        id: deskPhone,
        name: 'Alice desk',
        status: 'active',
        internal_number: 101,
        number: '+33198765432',
        employee_id: alice,
        group: null,
        outbound_setting: { outbound_number: null, use_different_outbound_number: false, outbound_number_phone_id: null },
        record_setting: { record_inbound_call: true, record_outbound_call: true },
        voicemail_setting: { allow_voicemail: true, voicemail_file_id: null },
        forwarding_setting: {
          forced: { enabled: false, forward_number: null },
          conditional: { enabled: false, timeout_seconds: 25, forward_number: null },
        },
        audio_setting: { inbound_call_preroll_id: null, outbound_call_preroll_id: null, no_answer_file_id: null, wait_preroll_dial: 0 },
      });
      expect(desk.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it('filters by status, one or several', async () => {
      const statuses = async (query: string) =>
        (await call('GET', `/api/v2/phones?${query}`)).body.data.map((p: { status: string }) => p.status).sort();
      expect(await statuses('status=active')).toEqual(['active', 'active']);
      expect(await statuses('status=inactive,not_activated')).toEqual(['inactive', 'not_activated']);
      const bad = await call('GET', '/api/v2/phones?status=broken');
      expect(bad.response.statusCode).toBe(400);
      expect(bad.body.errors).toEqual(["Invalid parameter 'status': must be one or more of not_activated, active, inactive, separated by commas"]);
    });

    it('keeps a page token to the status it was issued for', async () => {
      const first = (await call('GET', '/api/v2/phones?status=active&limit=1')).body;
      expect(first.pagination.has_more).toBe(true);
      const page = encodeURIComponent(first.pagination.page);
      expect((await call('GET', `/api/v2/phones?status=active&limit=1&page=${page}`)).body.data).toHaveLength(1);
      const other = await call('GET', `/api/v2/phones?status=inactive&limit=1&page=${page}`);
      expect(other.response.statusCode).toBe(400);
      expect(other.body.code).toBe('INVALID_PAGE_TOKEN');
    });

    it('updates name, status, employee, group and settings, merging settings', async () => {
      const { response, body } = await call('PATCH', `/api/v2/phones/${deskPhone}`, {
        name: 'Sales Department Phone',
        employee_id: bob,
        group: { group_id: 5, group_title: 'Sales Team' },
        forwarding_setting: { conditional: { enabled: true, forward_number: '+33555888999' } },
        record_setting: { record_outbound_call: false },
      });
      expect(response.statusCode).toBe(200);
      expect(body.data).toMatchObject({
        name: 'Sales Department Phone',
        employee_id: bob,
        group: { group_id: 5, group_title: 'Sales Team' },
        forwarding_setting: {
          forced: { enabled: false, forward_number: null },
          conditional: { enabled: true, timeout_seconds: 25, forward_number: '+33555888999' },
        },
        record_setting: { record_inbound_call: true, record_outbound_call: false },
      });
      const again = (await call('GET', `/api/v2/phones/${deskPhone}`)).body.data;
      expect(again).toEqual(body.data);
      const detached = (await call('PATCH', `/api/v2/phones/${deskPhone}`, { employee_id: null, status: 'inactive', group: null })).body.data;
      expect(detached).toMatchObject({ employee_id: null, status: 'inactive', group: null, name: 'Sales Department Phone' });
      await call('PATCH', `/api/v2/phones/${deskPhone}`, { employee_id: alice, status: 'active' });
    });

    it('names the field of every invalid change', async () => {
      const cases: Array<[unknown, string]> = [
        [{ status: 'on' }, "Invalid field 'status': must be one of not_activated, active, inactive"],
        [{ number: '+33100000000' }, "Unknown field 'number'"],
        [{ name: 'x'.repeat(201) }, "Invalid field 'name': must be at most 200 characters"],
        [{ employee_id: 'alice' }, "Invalid field 'employee_id': must be a positive integer or null"],
        [{ record_setting: { record_inbound_call: 'yes' } }, "Invalid field 'record_setting.record_inbound_call': must be true or false"],
        [{ forwarding_setting: { forced: { forward_number: '0612' } } }, "Invalid field 'forwarding_setting.forced.forward_number': must be a number in E.164 format such as +33612345678"],
        [{ forwarding_setting: { conditional: { timeout_seconds: 1000 } } }, "Invalid field 'forwarding_setting.conditional.timeout_seconds': must be at most 300"],
        [{ audio_setting: { volume: 3 } }, "Unknown field 'audio_setting.volume'"],
      ];
      for (const [payload, message] of cases) {
        const { response, body } = await call('PATCH', `/api/v2/phones/${deskPhone}`, payload);
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(body.errors, JSON.stringify(payload)).toEqual([message]);
      }
      const missing = await call('PATCH', `/api/v2/phones/${deskPhone}`, { employee_id: 99999999 });
      expect(missing.response.statusCode).toBe(404);
      expect(missing.body.errors).toEqual(['Employee not found']);
    });

    it('needs phones.read and phones.write', async () => {
      const readOnly = await h.token('phones.read');
      expect((await call('GET', '/api/v2/phones', undefined, readOnly)).response.statusCode).toBe(200);
      expect((await call('PATCH', `/api/v2/phones/${deskPhone}`, { name: 'x' }, readOnly)).response.statusCode).toBe(403);
      expect((await call('GET', '/api/v2/phones', undefined, await h.token('calls.read'))).response.statusCode).toBe(403);
    });
  });

  describe('employees', () => {
    it('lists employees with the ids of their phones', async () => {
      const { response, body } = await call('GET', '/api/v2/employees');
      expect(response.statusCode).toBe(200);
      const byName = Object.fromEntries(body.data.map((e: { name: string }) => [e.name, e]));
      expect(byName['Alice Martin']).toMatchObject({ id: alice, email: 'alice@acme.example', phone_ids: [deskPhone, deskPhone + 1] });
      expect(byName['Bob Durand']).toMatchObject({ id: bob, email: null, phone_ids: [] });
      expect(Object.keys(byName['Alice Martin']).sort()).toEqual(['created_at', 'email', 'id', 'name', 'phone_ids', 'updated_at']);
    });

    it('retrieves one, and the id works as the employees filter of /calls', async () => {
      const { body } = await call('GET', `/api/v2/employees/${alice}`);
      expect(body.data.name).toBe('Alice Martin');
      expect((await call('GET', `/api/v2/calls?${window}&employees=${body.data.id}`)).response.statusCode).toBe(200);
      expect((await call('GET', '/api/v2/employees/99999999')).body.errors).toEqual(['Employee not found']);
    });

    it('pages and needs account.read', async () => {
      const first = (await call('GET', '/api/v2/employees?limit=1')).body;
      expect(first.pagination).toMatchObject({ count: 1, limit: 1, has_more: true });
      const second = (await call('GET', `/api/v2/employees?limit=1&page=${encodeURIComponent(first.pagination.page)}`)).body;
      expect(second.data[0].id).toBeGreaterThan(first.data[0].id);
      expect((await call('GET', '/api/v2/employees', undefined, await h.token('calls.read'))).response.statusCode).toBe(403);
    });
  });
});
