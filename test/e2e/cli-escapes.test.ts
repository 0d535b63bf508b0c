import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { forTerminal, table } from '../../src/cli/common.js';
import { deriveCall } from '../../src/domain/call.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { callInput, TEST_CONFIG } from '../helpers/fixture.js';
import { CLI, listen, run } from '../helpers/programs.js';

/**
 * Stored text comes from PBXs and API clients; the CLI must never let it drive
 * the terminal it prints to. Run as the built command (npm run build first).
 */

const HOSTILE_NAME = '\u001b[31mRED\u001b]0;pwned\u0007 \u009b2J \u202eevil';
const ESCAPES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('the one printer of the CLI', () => {
  it('writes control characters, C1 and bidi overrides as visible \\u escapes, keeping its own line breaks', () => {
    expect(forTerminal(`a\u001b[31mb\nc\u0007\u009b\u202e\td`)).toBe('a\\u001b[31mb\nc\\u0007\\u009b\\u202e\\u0009d');
    // The escapes are JSON's own: JSON output keeps its meaning.
    expect(JSON.parse(forTerminal(JSON.stringify({ name: HOSTILE_NAME })))).toEqual({ name: HOSTILE_NAME });
  });

  it('never lets a cell break its row', () => {
    const text = table(['id', 'name'], [[1, 'line one\nline two\u001b[2J']]);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).not.toMatch(ESCAPES);
  });
});

describe('sipsim commands print stored text safely', () => {
  let store: Store;
  let database: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  let accountId: number;
  let callId: number;
  let credentials: { id: string; secret: string };

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    store = Store.open(database.url);
    await store.migrate();
    accountId = (await store.createAccount({ name: 'Acme', email: 'admin@acme.example' })).id;
    const tag = await store.createTag(accountId, { name: 'VIP\u001b[2J\u001b]0;x\u0007' });
    [callId] = (await store.insertCalls(accountId, [{ ...deriveCall({ ...callInput({ start: '2024-02-10T10:00:00Z' }), callerName: HOSTILE_NAME }), tagIds: [tag.id] }])) as [number];
    const { client, clientSecret } = await issueClient(store, accountId);
    credentials = { id: client.clientId, secret: clientSecret };
    app = buildApp({ store, config: TEST_CONFIG });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await database?.drop();
  });

  const connection = () => ['--api-url', base, '--client-id', credentials.id, '--client-secret', credentials.secret];

  it('calls get, calls list and their JSON print no raw escape', async () => {
    for (const args of [
      ['calls', 'get', String(callId)],
      ['calls', 'get', String(callId), '--json'],
      ['calls', 'list', '--start', '2024-02-10', '--end', '2024-02-10'],
      ['calls', 'list', '--start', '2024-02-10', '--end', '2024-02-10', '--ndjson'],
    ]) {
      const result = await run(process.execPath, [CLI, ...args, ...connection()], { timeoutMs: 60000 });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout, args.join(' ')).not.toMatch(ESCAPES);
      // The table of a list has no name column; everything else shows the name, escaped.
      if (args[1] === 'get' || args.includes('--ndjson')) expect(result.stdout, args.join(' ')).toContain('\\u001b[31mRED');
    }
    const json = await run(process.execPath, [CLI, 'calls', 'get', String(callId), '--json', ...connection()]);
    expect(JSON.parse(json.stdout).caller_name).toBe(HOSTILE_NAME);
  });

  it('tags list, as a table and as JSON, prints no raw escape', async () => {
    for (const extra of [[], ['--json']]) {
      const result = await run(process.execPath, [CLI, 'tags', 'list', '--account', String(accountId), '--database', database.url, ...extra]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(ESCAPES);
      expect(result.stdout).toContain('VIP\\u001b[2J');
    }
  });
});
