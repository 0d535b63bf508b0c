import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, ROOT, openApi, sipsim, sipsimJson, type RunResult } from '../helpers/programs.js';

/** The CLI with something on its standard input (a password), and no terminal. */
function sipsimWithInput(args: string[], input: string | null): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (input !== null) child.stdin!.end(input);
  });
}

/**
 * `sipsim users`: an operator adds the people who sign in to the dashboard,
 * against a real SQLite file; the API then lets them in, or not.
 */
describe('the users commands', () => {
  let database: TestDatabase;
  let db: string[];
  let account: number;
  let employee: number;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    db = ['--database', database.url];
    await sipsim(['migrate', ...db]);
    account = (await sipsimJson(['accounts', 'create', '--name', 'Acme', '--timezone', 'Europe/Paris', ...db, '--json'])).account_id;
    employee = (await sipsimJson(['employees', 'create', '--account', String(account), '--name', 'Ana', ...db, '--json'])).id;
  }, 120000);
  afterAll(() => database?.drop());

  const signIn = async (email: string, password: string) => {
    const api = await openApi(database.url);
    try {
      const response = await api.app.inject({ method: 'POST', url: '/dashboard/api/session', payload: { email, password } });
      return { status: response.statusCode, body: response.json() };
    } finally {
      await api.close();
    }
  };

  it('creates users with a password from standard input, lists them, and they sign in', async () => {
    const created = await sipsimWithInput(
      ['users', 'create', '--account', String(account), '--email', 'Ana@Acme.example', '--name', 'Ana Agent', '--employee', String(employee), '--password-stdin', ...db, '--json'],
      'first password 1\n',
    );
    expect(created.code, created.stderr).toBe(0);
    const ana = JSON.parse(created.stdout);
    expect(ana).toMatchObject({ account_id: account, email: 'Ana@Acme.example', name: 'Ana Agent', role: 'member', employee_id: employee, disabled_at: null });
    const boss = await sipsimWithInput(
      ['users', 'create', '--account', String(account), '--email', 'boss@acme.example', '--name', 'Boss', '--role', 'admin', '--password-stdin', ...db, '--json'],
      'boss password 22',
    );
    expect(boss.code, boss.stderr).toBe(0);

    const list = await sipsimJson(['users', 'list', '--account', String(account), ...db, '--json']);
    expect(list.map((u: { email: string; role: string }) => [u.email, u.role])).toEqual([
      ['Ana@Acme.example', 'member'],
      ['boss@acme.example', 'admin'],
    ]);
    const table = await sipsimWithInput(['users', 'list', ...db], null);
    expect(table.stdout).toMatch(/^ID\s+ACCOUNT\s+EMAIL\s+NAME\s+ROLE\s+EMPLOYEE\s+STATUS\n/);

    const signed = await signIn('ana@acme.example', 'first password 1');
    expect(signed.status).toBe(200);
    expect(signed.body.data.user).toMatchObject({ role: 'member', employee_id: employee });
    expect(signed.body.data.account.timezone).toBe('Europe/Paris');
    // The password is stored hashed with scrypt, never as typed.
    const { Store } = await import('../../src/store/store.js');
    const store = Store.open(database.url);
    try {
      const row = await store.db.selectFrom('users').select('password_hash').where('email_key', '=', 'ana@acme.example').executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect(row.password_hash).not.toContain('first password');
    } finally {
      await store.close();
    }
  }, 120000);

  it('changes a password and disables a user', async () => {
    const changed = await sipsimWithInput(['users', 'set-password', 'ANA@acme.example', '--password-stdin', ...db], 'second password 2\n');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Password of Ana@Acme.example changed');
    expect((await signIn('ana@acme.example', 'first password 1')).status).toBe(401);
    expect((await signIn('ana@acme.example', 'second password 2')).status).toBe(200);

    const disabled = await sipsimWithInput(['users', 'disable', 'ana@acme.example', ...db, '--json'], null);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect((await signIn('ana@acme.example', 'second password 2')).status).toBe(401);
    const list = await sipsimJson(['users', 'list', ...db, '--json']);
    expect(list.find((u: { email: string }) => u.email === 'Ana@Acme.example').disabled_at).toMatch(/Z$/);
  }, 120000);

  it('refuses what it cannot use, with a message and exit code 1', async () => {
    const acc = ['--account', String(account)];
    const failures: Array<[string[], string | null, string]> = [
      [['users', 'create', ...acc, '--email', 'x@acme.example', '--name', 'X'], null, 'sipsim: No terminal to ask the password on: pipe it in with --password-stdin'],
      [['users', 'create', ...acc, '--email', 'x@acme.example', '--name', 'X', '--password-stdin'], 'short\n', 'sipsim: Cannot use this password: a password needs at least 8 characters'],
      [['users', 'create', ...acc, '--email', 'boss@ACME.example', '--name', 'X', '--password-stdin'], 'long enough 123\n', 'sipsim: A user with email boss@ACME.example exists already'],
      [['users', 'create', ...acc, '--email', 'not-an-email', '--name', 'X', '--password-stdin'], 'long enough 123\n', "sipsim: 'not-an-email' is not an email address"],
      [['users', 'create', '--account', '999', '--email', 'y@acme.example', '--name', 'Y', '--password-stdin'], 'long enough 123\n', 'sipsim: No account with id 999'],
      [['users', 'create', ...acc, '--email', 'y@acme.example', '--name', 'Y', '--employee', '999', '--password-stdin'], 'long enough 123\n', `sipsim: No employee 999 in account ${account}`],
      [['users', 'disable', 'nobody@acme.example'], null, 'sipsim: No user with email nobody@acme.example; see: sipsim users list'],
    ];
    for (const [args, input, message] of failures) {
      const result = await sipsimWithInput([...args, ...db], input);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr.trim()).toBe(message);
    }
    expect((await sipsimJson(['users', 'list', ...db, '--json'])).length).toBe(2);
  }, 120000);
});
