import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

describeEngines('GET /dashboard/api/tags/counts', (engine) => {
  let h: ApiHarness;
  let token: string;
  const tags: number[] = [];

  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token('tags.read calls.read');
    for (const name of ['Sales', 'Complaint', 'Unused', 'Doomed']) tags.push((await h.store.createTag(h.accountId, { name })).id);
    const [sales, complaint, , doomed] = tags as [number, number, number, number];
    // 1,200 calls: more than one page of the calls list; some with two tags, some with none.
    const calls = Array.from({ length: 1200 }, (_, i) => ({
      ...callInput({ start: new Date(Date.UTC(2025, 0, 1) + i * 600_000).toISOString(), callerNumber: `+3361${String(i).padStart(7, '0')}` }),
      tagIds: i % 3 === 0 ? [sales] : i % 3 === 1 ? [sales, complaint] : i % 7 === 0 ? [doomed] : [],
    }));
    await h.insert(calls);
    // Another account's tagged calls count nowhere here.
    const other = await h.store.createAccount({ name: 'Other' });
    const otherTag = await h.store.createTag(other.id, { name: 'Sales' });
    await h.insert([{ ...callInput({ start: '2025-01-02T00:00:00Z' }), tagIds: [otherTag.id] }], other.id);
    await h.store.deleteTag(h.accountId, doomed);
  });
  afterAll(() => h?.close());

  const get = (url: string, bearer = token) => h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${bearer}` } });

  /** What a client counts by paging GET /api/v2/calls?tags=. */
  const listed = async (tagId: number) => {
    let count = 0;
    let page: string | undefined;
    do {
      const query = new URLSearchParams({ start_time: '1970-01-01T00:00:00Z', tags: String(tagId), limit: '1000', ...(page ? { page } : {}) });
      const body = (await get(`/api/v2/calls?${query}`)).json();
      count += body.data.length;
      page = body.pagination.has_more ? body.pagination.page : undefined;
    } while (page);
    return count;
  };

  it("counts each tag's calls as the calls list does, leaves out tags on no call and deleted tags", async () => {
    const response = await get('/dashboard/api/tags/counts');
    expect(response.statusCode).toBe(200);
    const data = response.json().data as Array<{ tag_id: number; calls: number }>;
    const [sales, complaint, unused, doomed] = tags as [number, number, number, number];
    expect(data).toEqual([
      { tag_id: sales, calls: 800 },
      { tag_id: complaint, calls: 400 },
    ]);
    expect(await listed(sales)).toBe(800);
    expect(await listed(complaint)).toBe(400);
    expect(data.some((d) => d.tag_id === unused || d.tag_id === doomed)).toBe(false);
  });

  it('needs tags.read, and a token', async () => {
    const callsOnly = await h.token('calls.read');
    const refused = await get('/dashboard/api/tags/counts', callsOnly);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBeTruthy();
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/api/tags/counts' })).statusCode).toBe(401);
  });
});
