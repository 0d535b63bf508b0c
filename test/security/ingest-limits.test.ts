import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importFile } from '../../src/cli/import.js';
import { DirectoryIndex } from '../../src/ingest/resolve.js';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * Records that no engine can store are refused one by one, with their reason,
 * and never take the rest of their batch down with them.
 */

const CUSTOMER = '+33612345678';
const SALES = '+33198765432';

/** A call of 1990 that ends in 2099: 3.47e9 seconds, past PostgreSQL's 32-bit duration columns. */
const centuryCall = (pbxId: string) => ({
  pbx_id: pbxId,
  call_type: 'inbound',
  caller_number: CUSTOMER,
  target_number: SALES,
  start_time: '1990-01-01T00:00:00Z',
  answered_time: '1990-01-01T00:00:10Z',
  end_time: '2099-12-31T23:59:59Z',
});
const goodCall = (pbxId: string) => ({
  pbx_id: pbxId,
  call_type: 'inbound',
  caller_number: CUSTOMER,
  target_number: SALES,
  start_time: '2025-02-03T09:15:00Z',
  answered_time: '2025-02-03T09:15:12Z',
  end_time: '2025-02-03T09:20:12Z',
});

describeEngines('records out of what the store can hold', (engine) => {
  let h: ApiHarness;
  let token: string;
  let dir: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    dir = mkdtempSync(join(tmpdir(), 'sipsim-limits-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await h?.close();
  });

  const post = (url: string, payload: unknown) =>
    h.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  const byPbx = async (pbxId: string) => (await h.store.db.selectFrom('calls').select('id').where('pbx_id', '=', pbxId).execute()).map((r) => r.id);

  it('POST /calls/import refuses a century-long call alone and keeps the good one beside it', async () => {
    const response = await post('/api/v2/calls/import', [centuryCall('imp-century'), goodCall('imp-beside')]);
    expect(response.statusCode).toBe(200);
    const data = response.json().data;
    expect(data).toMatchObject({ created: 1, rejected: 1 });
    expect(data.results[0]).toMatchObject({ pbx_id: 'imp-century', status: 'rejected', error: expect.stringContaining('end_time') });
    expect(await byPbx('imp-century')).toEqual([]);
    expect(await byPbx('imp-beside')).toHaveLength(1);
  });

  it('POST /pbx/events keeps the events, refuses the call they would make, and keeps the other call', async () => {
    const events = [
      { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '1990-01-01T00:00:00Z', pbx_id: 'ev-century' },
      { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2099-12-31T23:59:59Z', pbx_id: 'ev-century', duration: 30, status: 'ANSWER' },
      { event: 'incoming_call_start', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:30:00Z', pbx_id: 'ev-beside' },
      { event: 'incoming_call_end', caller: CUSTOMER, receiver: SALES, time: '2025-01-15T10:31:00Z', pbx_id: 'ev-beside', duration: 30, status: 'ANSWER' },
    ];
    const response = await post('/api/v2/pbx/events', events);
    expect(response.statusCode).toBe(202);
    const data = response.json().data;
    expect(data.accepted).toBe(4);
    expect(data.calls.map((c: { pbx_id: string }) => c.pbx_id)).toEqual(['ev-beside']);
    expect(data.refused_calls).toEqual([{ pbx_id: 'ev-century', error: expect.stringContaining('end_time') }]);
    expect(await byPbx('ev-century')).toEqual([]);
    expect(await byPbx('ev-beside')).toHaveLength(1);
  });

  it('takes numbers that look like numbers or SIP users, and refuses markup, formulas and escapes', async () => {
    const good = ['+33612345678', '101', '*97', '#31#', '0033 6 12 34 56 78', '(555) 123-4567', 'anonymous', 'alice@pbx.example.com', '+1.555/123'];
    const bad = ['<script>alert(1)</script>', '=1+1', '@SUM(A1)', '-2+3', '101;drop', '"quoted"', '\u001b[31m101', ' '];
    const imported = await post('/api/v2/calls/import', [...good, ...bad].map((number, i) => ({ ...goodCall(`num-${i}`), caller_number: number })));
    expect(imported.statusCode).toBe(200);
    const results = imported.json().data.results as Array<{ status: string; error?: string }>;
    expect(results.slice(0, good.length).map((r, i) => [good[i], r.status, r.error])).toEqual(good.map((n) => [n, 'created', undefined]));
    for (const [i, result] of results.slice(good.length).entries()) {
      expect(result.status, bad[i]).toBe('rejected');
      expect(result.error, bad[i]).toMatch(/caller_number/);
    }
    const events = await post(
      '/api/v2/pbx/events',
      bad.map((caller, i) => ({ event: 'incoming_call_start', caller, receiver: SALES, time: '2025-01-15T10:30:00Z', pbx_id: `ev-num-${i}` })),
    );
    expect(events.statusCode).toBe(400);
    expect(events.json().errors).toHaveLength(bad.length);
    for (const error of events.json().errors) expect(error).toMatch(/caller/);
  });

  it('creates tags through import only with tags.write, and at most 100 in one request', async () => {
    const writerOnly = await h.token('calls.write');
    const importAs = (bearer: string, calls: unknown[]) =>
      h.app.inject({ method: 'POST', url: '/api/v2/calls/import', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, payload: JSON.stringify(calls) });
    await h.store.createTag(h.accountId, { name: 'Known' });
    const tagCount = async () => (await h.store.db.selectFrom('tags').select('id').where('account_id', '=', h.accountId).execute()).length;
    const before = await tagCount();

    const refused = await importAs(writerOnly, [
      { ...goodCall('tag-known'), tags: ['known'] },
      { ...goodCall('tag-new'), tags: ['Known', 'Brand new'] },
    ]);
    expect(refused.statusCode).toBe(200);
    const results = refused.json().data.results;
    expect(results[0]).toMatchObject({ status: 'created' });
    expect(results[1]).toMatchObject({ status: 'rejected', error: expect.stringContaining("'tags.write'") });
    expect(results[1].error).toContain("'Brand new'");
    expect(await tagCount()).toBe(before);

    const many = Array.from({ length: 150 }, (_, i) => ({ ...goodCall(`tag-many-${i}`), tags: [`Bulk ${i}`, 'Known'] }));
    const capped = await importAs(token, many);
    expect(capped.statusCode).toBe(200);
    expect(capped.json().data).toMatchObject({ created: 100, rejected: 50 });
    expect(capped.json().data.results[100].error).toContain('at most 100 new tags');
    expect(await tagCount()).toBe(before + 100);
    // A tag created earlier in the same request is no longer new for the records after it.
    const reuse = await importAs(token, [{ ...goodCall('tag-reuse-1'), tags: ['Reused'] }, { ...goodCall('tag-reuse-2'), tags: ['reused'] }]);
    expect(reuse.json().data).toMatchObject({ created: 2, rejected: 0 });
  });

  it('sipsim import writes the century-long call to .rejects and imports the rest', async () => {
    const file = join(dir, `calls-${engine}.ndjson`);
    writeFileSync(file, `${JSON.stringify(goodCall('file-before'))}\n${JSON.stringify(centuryCall('file-century'))}\n${JSON.stringify(goodCall('file-after'))}\n`);
    const reported: string[] = [];
    const summary = await importFile(h.store, h.accountId, new DirectoryIndex(await h.store.phoneRefs(h.accountId)), file, 'ndjson', {
      batchSize: 100,
      report: (line) => reported.push(line),
    });
    expect(summary).toMatchObject({ read: 3, created: 2, rejected: 1, rejects_file: `${file}.rejects` });
    expect(readFileSync(`${file}.rejects`, 'utf8')).toContain('file-century');
    expect(reported).toEqual([expect.stringMatching(/:2: .*end_time/)]);
    expect(await byPbx('file-century')).toEqual([]);
    expect(await byPbx('file-after')).toHaveLength(1);
  });
});
