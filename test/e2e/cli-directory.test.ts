import { afterAll, expect, it } from 'vitest';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { openApi, sipsim, sipsimJson } from '../helpers/programs.js';

/**
 * `sipsim employees|phones|tags`: a team with its own PBX builds an account's
 * directory from the command line, then sees it through the API.
 */
describeEngines('the directory commands', (engine) => {
  let database: TestDatabase;
  afterAll(() => database?.drop());

  it('creates and lists employees, phones and tags, as the API then shows them', async () => {
    database = await createTestDatabase(engine);
    const db = ['--database', database.url];
    await sipsimJson(['migrate', ...db, '--json']);
    const account = (await sipsimJson(['accounts', 'create', '--name', 'Acme', ...db, '--json'])).account_id as number;
    const acc = ['--account', String(account)];

    const alice = await sipsimJson(['employees', 'create', ...acc, '--name', 'Alice Martin', '--email', 'alice@acme.example', ...db, '--json']);
    expect(alice).toMatchObject({ name: 'Alice Martin', email: 'alice@acme.example', phone_ids: [] });
    const desk = await sipsimJson([
      'phones', 'create', ...acc, '--number', '+33198765432', '--extension', '101', '--employee', String(alice.id), ...db, '--json',
    ]);
    expect(desk).toMatchObject({ number: '+33198765432', internal_number: 101, employee_id: alice.id, name: 'Extension 101', status: 'active' });
    const tag = await sipsimJson(['tags', 'create', ...acc, '--name', 'Important', '--color', '#FF0000', ...db, '--json']);
    expect(tag).toEqual({ id: tag.id, name: 'Important', color: '#FF0000', description: null });

    expect(await sipsimJson(['employees', 'list', ...acc, ...db, '--json'])).toEqual([{ ...alice, phone_ids: [desk.id] }]);
    expect((await sipsimJson(['phones', 'list', ...acc, '--status', 'active', ...db, '--json'])).map((p: { id: number }) => p.id)).toEqual([desk.id]);
    expect(await sipsimJson(['phones', 'list', ...acc, '--status', 'inactive', ...db, '--json'])).toEqual([]);
    const table = await sipsim(['phones', 'list', ...acc, ...db]);
    expect(table.stdout).toMatch(/^ID\s+NUMBER\s+EXT\s+STATUS\s+EMPLOYEE\s+NAME\n/);
    expect(table.stdout).toContain('+33198765432  101  active');

    const api = await openApi(database.url);
    try {
      const { client_id, client_secret } = await sipsimJson(['clients', 'create', ...acc, ...db, '--json']);
      const token = (
        await api.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id, client_secret } })
      ).json().access_token;
      const get = async (url: string) => (await api.app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json().data;
      expect(await get('/api/v2/tags')).toEqual([tag]);
      expect(await get(`/api/v2/phones/${desk.id}`)).toEqual(desk);
      expect(await get(`/api/v2/employees/${alice.id}`)).toEqual({ ...alice, phone_ids: [desk.id] });
    } finally {
      await api.close();
    }
  }, 180000);

  it('refuses bad input with a message naming the flag, and changes nothing', async () => {
    const own = await createTestDatabase(engine);
    try {
      const db = ['--database', own.url];
      await sipsimJson(['migrate', ...db, '--json']);
      const account = (await sipsimJson(['accounts', 'create', '--name', 'Acme', ...db, '--json'])).account_id as number;
      const acc = ['--account', String(account)];
      await sipsimJson(['phones', 'create', ...acc, '--number', '+33198765432', '--extension', '101', ...db, '--json']);
      await sipsimJson(['tags', 'create', ...acc, '--name', 'Important', ...db, '--json']);
      const failures: Array<[string[], string]> = [
        [['phones', 'create', ...acc, '--number', '0612345678'], 'sipsim: Invalid --number: must be a number in E.164 format such as +33612345678'],
        [['phones', 'create', ...acc, '--number', '+33198765499', '--extension', '101'], 'sipsim: Extension 101 is already taken in account'],
        [['phones', 'create', ...acc, '--number', '+33198765432'], 'sipsim: Number +33198765432 already belongs to a phone of account'],
        [['phones', 'create', ...acc, '--number', '+33198765499', '--extension', '42'], 'sipsim: Invalid --extension: must be at least 100'],
        [['phones', 'create', ...acc, '--number', '+33198765499', '--employee', '77'], 'sipsim: No employee 77 in account'],
        [['tags', 'create', ...acc, '--name', 'IMPORTANT'], 'sipsim: Tag with this name already exists: IMPORTANT'],
        [['tags', 'create', ...acc, '--name', 'Blue', '--color', 'blue'], 'sipsim: Invalid --color: must be a hex colour such as #22C55E'],
        [['tags', 'create', ...acc, '--name', 'x'.repeat(101)], 'sipsim: Invalid --name: must be at most 100 characters'],
        [['employees', 'create', ...acc, '--name', 'Bob', '--email', 'not-an-email'], 'sipsim: Invalid --email: must be an email address'],
        [['tags', 'list', '--account', '999'], 'sipsim: No account 999'],
      ];
      // A few at a time: each is a Node process of its own.
      for (let i = 0; i < failures.length; i += 3) {
        const batch = failures.slice(i, i + 3);
        const results = await Promise.all(batch.map(([args]) => sipsim([...args, ...db])));
        results.forEach((result, j) => {
          expect(result.code, batch[j]![0].join(' ')).toBe(1);
          expect(result.stderr, batch[j]![0].join(' ')).toContain(batch[j]![1]);
        });
      }
      expect(await sipsimJson(['phones', 'list', ...acc, ...db, '--json'])).toHaveLength(1);
      expect(await sipsimJson(['tags', 'list', ...acc, ...db, '--json'])).toHaveLength(1);
      expect(await sipsimJson(['employees', 'list', ...acc, ...db, '--json'])).toHaveLength(0);
    } finally {
      await own.drop();
    }
  }, 180000);
});
