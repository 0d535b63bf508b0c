import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, openApi, runCurl, scratchDir, sipsim, sipsimJson } from '../helpers/programs.js';

/**
 * The `sipsim` command as users run it: the built `dist/cli/main.js` in a child
 * process, against a fresh database per engine. What it writes is checked
 * through the API of a store opened on the same database.
 */

const tokenRequest = (app: FastifyInstance, clientId: string, clientSecret: string) =>
  app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });

beforeAll(() => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: the CLI tests run the built command. Run \`npm run build\` first (\`npm test\` does it).`);
  }
});

// Each spawn costs a Node start-up, so the engines, and the independent tests within
// one, run concurrently; the accounts-and-clients story runs in order.
describeEngines('the sipsim CLI', { concurrent: true }, (engine) => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const database = await createTestDatabase(engine);
    databases.push(database);
    return database.url;
  };
  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  describe.sequential('accounts and clients', () => {
    let url: string;
    let accountId: number;
    let client: { client_id: string; client_secret: string; account_id: number; scopes: string[] };
    let api: Awaited<ReturnType<typeof openApi>>;
    let tokenBeforeRevoke: string;

    beforeAll(async () => {
      url = await fresh();
    });
    afterAll(() => api?.close());

    it('migrate --json lists the migrations applied, and nothing the second time', async () => {
      const first = await sipsimJson<{ applied: string[] }>(['migrate', '--database', url, '--json']);
      expect(first.applied.length).toBeGreaterThan(0);
      expect(first.applied[0]).toMatch(/^001/);
      expect(await sipsimJson(['migrate', '--database', url, '--json'])).toEqual({ applied: [] });
    });

    it('accounts create --json prints the new account id', async () => {
      const created = await sipsimJson<{ account_id: number; name: string }>([
        'accounts', 'create', '--name', 'Acme CLI', '--database', url, '--json',
      ]);
      expect(created).toEqual({ account_id: expect.any(Number), name: 'Acme CLI' });
      accountId = created.account_id;
      const listed = await sipsimJson<Array<{ account_id: number; name: string }>>(['accounts', 'list', '--database', url, '--json']);
      expect(listed.map((a) => [a.account_id, a.name])).toEqual([[accountId, 'Acme CLI']]);
    });

    it('clients create prints the secret once; it gets a token with exactly the registered scopes', async () => {
      client = await sipsimJson([
        'clients', 'create', '--account', String(accountId), '--scopes', 'calls.read tags.read', '--database', url, '--json',
      ]);
      expect(client).toMatchObject({ account_id: accountId, scopes: ['calls.read', 'tags.read'] });
      expect(client.client_id).toEqual(expect.any(String));
      expect(client.client_secret.length).toBeGreaterThanOrEqual(20);

      api = await openApi(url);
      const granted = await tokenRequest(api.app, client.client_id, client.client_secret);
      expect(granted.statusCode).toBe(200);
      expect(granted.json()).toMatchObject({ token_type: 'Bearer', scope: 'calls.read tags.read' });
      tokenBeforeRevoke = granted.json().access_token;
      const auth = { authorization: `Bearer ${tokenBeforeRevoke}` };
      const calls = await api.app.inject({ url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z', headers: auth });
      expect(calls.statusCode).toBe(200);
      expect(calls.json().data).toEqual([]);
      // account.read was not registered, so the token does not carry it.
      const account = await api.app.inject({ url: '/api/v2/account', headers: auth });
      expect(account.statusCode).toBe(403);

      const wrong = await tokenRequest(api.app, client.client_id, `${client.client_secret}x`);
      expect(wrong.statusCode).toBe(401);
    });

    it('clients list --json shows the client but never its secret', async () => {
      const result = await sipsim(['clients', 'list', '--database', url, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
      expect(listed).toEqual([
        {
          client_id: client.client_id,
          account_id: accountId,
          name: 'API client',
          scopes: ['calls.read', 'tags.read'],
          created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
          revoked_at: null,
        },
      ]);
      expect(result.stdout).not.toContain(client.client_secret);
      expect(result.stdout).not.toMatch(/secret/i);
    });

    it('clients revoke stops new tokens (invalid_client) and old ones', async () => {
      const result = await sipsim(['clients', 'revoke', client.client_id, '--database', url]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Client ${client.client_id} revoked`);

      const refused = await tokenRequest(api.app, client.client_id, client.client_secret);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ error: 'invalid_client' });
      const old = await api.app.inject({
        url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z',
        headers: { authorization: `Bearer ${tokenBeforeRevoke}` },
      });
      expect(old.statusCode).toBe(401);

      const again = await sipsim(['clients', 'revoke', client.client_id, '--database', url]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`No active client '${client.client_id}'`);
    });

    it('clients create for an unknown account fails clearly', async () => {
      const result = await sipsim(['clients', 'create', '--account', '999', '--database', url, '--json']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('No account with id 999');
      expect(result.stdout).toBe('');
    });
  });

  it('demo is deterministic: same seed and --until, same history through the API', async () => {
    const args = ['demo', '--calls', '2000', '--seed', '7', '--until', '2026-11-01T00:00:00Z', '--json'];
    const urls = [await fresh(), await fresh(), await fresh()];
    const runs = await Promise.all([
      sipsimJson([...args, '--database', urls[0]!]),
      sipsimJson([...args, '--database', urls[1]!]),
      sipsimJson([...args.map((a) => (a === '7' ? '8' : a)), '--database', urls[2]!]),
    ]);
    for (const demo of runs) {
      expect(demo).toMatchObject({ account_id: expect.any(Number), client_id: expect.any(String), client_secret: expect.any(String), calls: 2000 });
    }

    const histories = [];
    for (const [i, url] of urls.entries()) {
      const api = await openApi(url);
      try {
        const granted = await tokenRequest(api.app, runs[i].client_id, runs[i].client_secret);
        expect(granted.statusCode).toBe(200);
        const headers = { authorization: `Bearer ${granted.json().access_token}` };
        const calls: Array<{ start_time: string }> = [];
        let page: string | undefined;
        do {
          const query = new URLSearchParams({ start_time: '2000-01-01T00:00:00Z', end_time: '2030-01-01T00:00:00Z', limit: '1000' });
          if (page) query.set('page', page);
          const r = await api.app.inject({ url: `/api/v2/calls?${query}`, headers });
          expect(r.statusCode).toBe(200);
          calls.push(...r.json().data);
          page = r.json().pagination.page;
        } while (page);
        const account = (await api.app.inject({ url: '/api/v2/account', headers })).json().data;
        histories.push({ account: { ...account, created_at: undefined }, calls });
      } finally {
        await api.close();
      }
    }
    expect(histories[0]!.calls).toHaveLength(2000);
    expect(histories[0]!.calls[0]!.start_time <= '2026-11-01T00:00:00Z').toBe(true);
    expect(histories[0]!.calls.at(-1)!.start_time >= '2026-08-01T00:00:00Z').toBe(true);
    expect(histories[1]).toEqual(histories[0]);
    // A different seed gives a different history, so the comparison above means something.
    expect(histories[2]!.calls).toHaveLength(2000);
    expect(histories[2]!.calls).not.toEqual(histories[0]!.calls);
  });

  it('serve --demo prints a banner whose curl line works as printed, and exits 0 on SIGTERM', async () => {
    const url = await fresh();
    const scratch = scratchDir('sipsim-e2e-serve-');
    // cwd is a scratch directory: for PostgreSQL the demo credentials are saved under ./data.
    const child = spawn(process.execPath, [CLI, 'serve', '--demo', '--demo-calls', '500', '--port', '0', '--database', url], {
      cwd: scratch.path,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );
    try {
      const curlLine = /^\s*(curl -H "Authorization: Bearer [^"\s]+" "http:\/\/[^"\s]+")\s*$/m;
      const deadline = Date.now() + 60000;
      while (!curlLine.test(stdout)) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`no banner from sipsim serve (exit ${child.exitCode}):\n${stdout}\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const serving = /^sipsim is serving (SQLite|PostgreSQL) at (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout);
      expect(serving, stdout).not.toBeNull();
      expect(serving![1]).toBe(engine === 'sqlite' ? 'SQLite' : 'PostgreSQL');
      expect(Number(serving![3])).toBeGreaterThan(0);
      const command = curlLine.exec(stdout)![1]!;
      expect(command).toContain(`"${serving![2]}/api/v2/calls?start_time=`);

      const { status, body } = await runCurl(command, scratch.path);
      expect(status).toBe(200);
      const json = JSON.parse(body);
      expect(json.status).toBe(200);
      expect(json.data.length).toBeGreaterThan(0);
      expect(json.pagination.limit).toBe(20);
      const weekAgo = /start_time=([^&"]+)/.exec(command)![1]!;
      for (const call of json.data) expect(call.start_time >= weekAgo).toBe(true);
      expect(stdout).toMatch(/client_id: +\S+/);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const { code, signal } = await exited;
      clearTimeout(killer);
      scratch.remove();
      expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    }
  }, 90000);
});

describe('the sipsim CLI with a bad database URL', () => {
  it('--database bogus: fails with a clear message', async () => {
    const result = await sipsim(['migrate', '--database', 'bogus:', '--json']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Unsupported database URL 'bogus:'");
    expect(result.stderr).toContain('sqlite:PATH');
    expect(result.stdout).toBe('');
  });
});

describe('sipsim serve --no-migrate', () => {
  it('refuses to serve a store whose schema is behind, and names the command that fixes it', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const result = await sipsim(['serve', '--no-migrate', '--port', '0', '--database', database.url]);
      expect(result.code).toBe(1);
      // Every migration is missing from an empty store, the first one named first.
      expect(result.stderr).toMatch(/the schema is not up to date \(missing 001-initial, 002-directory, [\w-, ]+\): run sipsim migrate first/);
    } finally {
      await database.drop();
    }
  });
});
