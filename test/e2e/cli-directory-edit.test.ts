import { afterAll, beforeAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, run } from '../helpers/programs.js';

/**
 * `sipsim employees update|delete` and `sipsim phones update|delete`, the
 * built CLI on a real store: changes land, a deleted employee's phones stay
 * with nobody, another account's rows are never touched, and a wrong id or
 * flag is refused saying what to do.
 */
describeEngines('sipsim employees/phones update and delete', (engine) => {
  let database: TestDatabase;
  let store: Store;

  const cli = (args: string[]) => run(process.execPath, [CLI, ...args, '--database', database.url], { timeoutMs: 60000 });
  const json = async (args: string[]) => {
    const result = await cli([...args, '--json']);
    expect(result.code, `sipsim ${args.join(' ')}:\n${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout);
  };

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = Store.open(database.url);
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('changes and removes employees and phones of one account only', async () => {
    const a = (await store.createAccount({ name: 'Dupont' })).id;
    const b = (await store.createAccount({ name: 'Martin' })).id;
    const marie = await store.createEmployee(a, { name: 'Marie Curie', email: 'marie@example.com' });
    const other = await store.createEmployee(b, { name: 'Pierre', email: null });
    const desk = await store.createPhone(a, { number: '+33198765432', name: 'Desk', internalNumber: 101, employeeId: marie.id });
    const mobile = await store.createPhone(a, { number: '+33612345678', name: 'Mobile', internalNumber: 102, employeeId: marie.id });
    const acc = ['--account', String(a)];

    expect(await json(['employees', 'update', String(marie.id), '--name', ' Marie Skłodowska-Curie ', ...acc])).toMatchObject({ id: marie.id, name: 'Marie Skłodowska-Curie', email: 'marie@example.com' });
    expect(await json(['employees', 'update', String(marie.id), '--no-email', ...acc])).toMatchObject({ name: 'Marie Skłodowska-Curie', email: null });
    const text = await cli(['employees', 'update', String(marie.id), '--email', 'mc@example.com', ...acc]);
    expect(text.stdout).toBe(`Employee ${marie.id} updated: Marie Skłodowska-Curie <mc@example.com>\n`);

    expect(await json(['phones', 'update', String(desk.id), '--name', 'Front desk', '--status', 'inactive', ...acc])).toMatchObject({ id: desk.id, name: 'Front desk', status: 'inactive', employee_id: marie.id });
    expect(await json(['phones', 'update', String(mobile.id), '--employee', 'none', ...acc])).toMatchObject({ employee_id: null });

    const deleted = await cli(['employees', 'delete', String(marie.id), ...acc]);
    expect(deleted.stdout).toBe(`Employee ${marie.id} deleted; phone ${desk.id} now belongs to nobody\n`);
    expect(await store.getEmployee(a, marie.id)).toBeNull();
    expect((await store.getPhone(a, desk.id))!.employeeId).toBeNull();

    expect(await json(['phones', 'delete', String(mobile.id), ...acc])).toEqual({ deleted: mobile.id });
    expect(await store.getPhone(a, mobile.id)).toBeNull();
    expect((await store.getPhone(a, desk.id))!.name).toBe('Front desk');

    // Another account's ids are not this account's.
    const foreign = await cli(['employees', 'delete', String(other.id), ...acc]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toBe(`sipsim: No employee ${other.id} in account ${a}; see: sipsim employees list --account ${a}\n`);
    expect(await store.getEmployee(b, other.id)).not.toBeNull();
  }, 120000);

  it('refuses what it cannot do, saying why', async () => {
    const a = (await store.createAccount({ name: 'Leroy' })).id;
    const phone = await store.createPhone(a, { number: '+33198765499', name: 'Desk', internalNumber: 103 });
    const acc = ['--account', String(a)];
    const cases: Array<[string[], string]> = [
      [['phones', 'update', String(phone.id), ...acc], 'sipsim: Nothing to change: give --name, --status or --employee\n'],
      [['phones', 'update', String(phone.id), '--employee', 'Marie', ...acc], 'sipsim: Invalid --employee: an employee id, or none\n'],
      [['phones', 'update', String(phone.id), '--employee', '999999', ...acc], `sipsim: No employee 999999 in account ${a}; see: sipsim employees list --account ${a}\n`],
      [['phones', 'delete', '999999', ...acc], `sipsim: No phone 999999 in account ${a}; see: sipsim phones list --account ${a}\n`],
      [['employees', 'update', '999999', '--name', 'X', ...acc], `sipsim: No employee 999999 in account ${a}; see: sipsim employees list --account ${a}\n`],
      [['employees', 'update', '1', ...acc], 'sipsim: Nothing to change: give --name, --email or --no-email\n'],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toBe(message);
    }
    const badEmail = await cli(['employees', 'update', String((await store.createEmployee(a, { name: 'Léa' })).id), '--email', 'not-an-email', ...acc]);
    expect(badEmail.code).toBe(1);
    expect(badEmail.stderr).toMatch(/^sipsim: Invalid --email/);
  }, 120000);
});
