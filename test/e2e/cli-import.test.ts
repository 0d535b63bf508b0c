import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readImportSource, type ImportFormat } from '../../src/ingest/formats/index.js';
import { checkRecord } from '../../src/ingest/ingest.js';
import { DirectoryIndex, resolveCall, type ResolvedCall } from '../../src/ingest/resolve.js';
import { Store } from '../../src/store/store.js';
import { EXTENSIONS, SALES_LINE, SUPPORT_LINE, generateImportFixture } from '../../scripts/generate-import-fixtures.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, ROOT, scratchDir, sipsim } from '../helpers/programs.js';

const FIXTURES = join(ROOT, 'test/fixtures/import');
const ZONE = 'Europe/Paris';

/** What a file should leave in the store: each PBX id's last good record, matched against the directory. */
async function expectedCalls(paths: string[], format: ImportFormat, directory: DirectoryIndex) {
  const calls = new Map<string, ResolvedCall>();
  let rejected = 0;
  let skipped = 0;
  let read = 0;
  for (const path of paths) {
    for await (const item of readImportSource(path, format, { timeZone: ZONE })) {
      read++;
      if (item.skipped) skipped++;
      else if (!item.record || checkRecord(item.record) !== null) rejected++;
      else calls.set(item.record.pbxId, resolveCall(item.record, directory));
    }
  }
  return { calls, rejected, skipped, read };
}

/** NDJSON call objects as a SIPSIM export gives them, plus pbx_id. */
function ndjson(count: number, prefix: string, from = 0): string {
  const base = Date.UTC(2025, 2, 3, 8, 0, 0) / 1000;
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  let text = '';
  for (let i = from; i < from + count; i++) {
    const start = base + i * 37;
    const answered = i % 4 !== 0;
    text += `${JSON.stringify({
      pbx_id: `${prefix}-${i}`,
      call_type: i % 5 === 0 ? 'outbound' : answered ? 'inbound' : 'missed',
      sip_status: answered ? 'answer' : 'cancel',
      caller_number: i % 5 === 0 ? '101' : `+3361234${String(i % 10000).padStart(4, '0')}`,
      caller_name: i % 3 === 0 ? 'Léa Moreau' : null,
      target_number: i % 5 === 0 ? `+3378765${String(i % 10000).padStart(4, '0')}` : '+33198765432',
      start_time: iso(start),
      answered_time: answered ? iso(start + 6) : null,
      end_time: iso(start + (answered ? 66 : 20)),
      tags: i % 7 === 0 ? ['Imported'] : [],
    })}\n`;
  }
  return text;
}

describeEngines('sipsim import', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let account: number;
  const scratch = scratchDir('sipsim-import-');
  const importArgs = (files: string[], extra: string[] = []) => [
    'import', ...files, '--account', String(account), '--format', 'ndjson', '--database', database.url, ...extra,
  ];
  const countOf = async (prefix: string) =>
    Number(
      (await store.db.selectFrom('calls').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', account).where('pbx_id', 'like', `${prefix}-%`).executeTakeFirstOrThrow()).n,
    );

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = Store.open(database.url);
    await store.migrate();
    account = (await store.createAccount({ name: 'Dupont & Associés' })).id;
    const employee = await store.createEmployee(account, { name: 'Marie Lefèvre' });
    await store.createPhone(account, { number: '+33198765401', name: 'Marie', internalNumber: 101, employeeId: employee.id });
    await store.createPhone(account, { number: '+33198765432', name: 'Sales line' });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
    scratch.remove();
  });

  it('imports a file, and the same file again adds nothing', async () => {
    const file = join(scratch.path, 'calls.ndjson');
    writeFileSync(file, ndjson(500, 'idem'));
    const first = await sipsim(importArgs([file], ['--json']));
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).total).toEqual({ read: 500, created: 500, updated: 0, unchanged: 0, rejected: 0, skipped: 0 });
    const again = await sipsim(importArgs([file], ['--json']));
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).total).toEqual({ read: 500, created: 0, updated: 0, unchanged: 500, rejected: 0, skipped: 0 });
    expect(await countOf('idem')).toBe(500);
    // The directory gave outbound calls from extension 101 its phone, number and employee.
    const outbound = await store.db.selectFrom('calls').selectAll().where('pbx_id', '=', 'idem-5').executeTakeFirstOrThrow();
    expect(outbound).toMatchObject({ call_type: 'outbound', caller_number: '+33198765401' });
    expect(outbound.employee_id).not.toBeNull();
    const plain = await sipsim(importArgs([file]));
    expect(plain.stdout).toBe(`${file}: 500 read, 0 created, 0 updated, 500 unchanged, 0 rejected\n`);
  });

  it('an import killed with kill -9 halfway and run again leaves exactly the file\'s calls', async () => {
    const total = 30000;
    const file = join(scratch.path, 'crash.ndjson');
    writeFileSync(file, ndjson(total, 'crash'));
    const child = spawn(process.execPath, [CLI, ...importArgs([file], ['--batch-size', '250'])], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Killed once some batches are in and well before the end.
    let seen = 0;
    for (let i = 0; i < 600 && seen < 1000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await countOf('crash');
    }
    child.kill('SIGKILL');
    await exited;
    const partial = await countOf('crash');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(total);

    const rerun = await sipsim(importArgs([file], ['--json']));
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout).total;
    expect(summary.created + summary.unchanged).toBe(total);
    expect(summary.created).toBe(total - partial);
    expect(await countOf('crash')).toBe(total);
    // Each PBX id once, and each call as the file says.
    const duplicates = await store.db
      .selectFrom('calls')
      .select('pbx_id')
      .where('account_id', '=', account)
      .groupBy('pbx_id')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(duplicates).toEqual([]);
    const last = await store.db.selectFrom('calls').selectAll().where('pbx_id', '=', `crash-${total - 1}`).executeTakeFirstOrThrow();
    expect(last.start_time).toBe(Date.UTC(2025, 2, 3, 8, 0, 0) / 1000 + (total - 1) * 37);
  }, 180000);

  it('reports bad lines with file and line, writes them beside the input, and says so in the exit code', async () => {
    const file = join(scratch.path, 'mixed.ndjson');
    const good = ndjson(3, 'mixed').split('\n').filter(Boolean);
    const bad = ['{"pbx_id":"mixed-bad-1","caller_number":"+33612345678"}', 'not json at all', '{"pbx_id":"mixed-bad-3","caller_number":"+33612345678","target_number":"+33198765432","start_time":"2025-03-03T10:00:00Z","end_time":"2025-03-03T09:00:00Z"}'];
    writeFileSync(file, [good[0], bad[0], good[1], bad[1], bad[2], good[2]].join('\n') + '\n');
    const result = await sipsim(importArgs([file]));
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`${file}: 6 read, 3 created, 0 updated, 0 unchanged, 3 rejected (see ${file}.rejects)`);
    const reported = result.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(reported.map((l) => l.slice(file.length + 1).split(':')[0])).toEqual(['2', '4', '5']);
    expect(reported[0]).toMatch(/target_number|start_time/);
    expect(reported[2]).toContain('end_time');
    expect(readFileSync(`${file}.rejects`, 'utf8')).toBe(`${bad.join('\n')}\n`);
    expect(await countOf('mixed')).toBe(3);

    // Fixed and run again: nothing rejected, and the stale rejects file is gone.
    writeFileSync(file, good.join('\n') + '\n');
    const fixed = await sipsim(importArgs([file]));
    expect(fixed.code).toBe(0);
    expect(existsSync(`${file}.rejects`)).toBe(false);
  });

  it('imports every format, hand-written and generated, exactly as the records say', async () => {
    // The generator's company, in an account of its own: two lines and twelve extensions.
    const company = (await store.createAccount({ name: 'Dupont et Associés', timezone: ZONE })).id;
    await store.createPhone(company, { number: SALES_LINE, name: 'Sales line' });
    await store.createPhone(company, { number: SUPPORT_LINE, name: 'Support line' });
    for (const [i, extension] of EXTENSIONS.entries()) {
      const employee = await store.createEmployee(company, { name: extension.name });
      await store.createPhone(company, { number: `+331987655${String(i).padStart(2, '0')}`, name: extension.name, internalNumber: Number(extension.number), employeeId: employee.id });
    }
    const directory = new DirectoryIndex(await store.phoneRefs(company));
    const sources: Array<{ format: ImportFormat; files: string[] }> = [
      { format: 'asterisk-csv', files: ['asterisk/Master.csv', 'asterisk/Master-newcdrcolumns.csv', 'asterisk/Master-minimal.csv'].map((f) => join(FIXTURES, f)) },
      { format: 'freeswitch-json', files: [join(FIXTURES, 'freeswitch')] },
      { format: 'sipsim-csv', files: ['sipsim/calls_export.csv', 'sipsim/calls-extended.csv'].map((f) => join(FIXTURES, f)) },
      { format: 'ndjson', files: [join(FIXTURES, 'calls.ndjson')] },
    ];
    for (const source of sources) {
      const generated = join(scratch.path, `generated-${source.format}${source.format === 'freeswitch-json' ? '' : '.txt'}`);
      await generateImportFixture({ format: source.format, calls: 150, out: generated, seed: 7, timeZone: ZONE });
      const files = [...source.files, generated];
      const expected = await expectedCalls(files, source.format, directory);
      const result = await sipsim(['import', ...files, '--account', String(company), '--format', source.format, '--tz', ZONE, '--database', database.url, '--json']);
      expect(result.code, `${source.format}: ${result.stderr}`).toBe(expected.rejected ? 2 : 0);
      const total = JSON.parse(result.stdout).total;
      expect(total.read, source.format).toBe(expected.read);
      expect(total.rejected, source.format).toBe(expected.rejected);
      expect(total.skipped, source.format).toBe(expected.skipped);
      if (source.format === 'freeswitch-json') expect(total.skipped).toBe(1);
      expect(expected.calls.size, source.format).toBeGreaterThan(150);

      const rows = await store.db.selectFrom('calls').selectAll().where('account_id', '=', company).where('pbx_id', 'in', [...expected.calls.keys()]).execute();
      expect(rows.length, source.format).toBe(expected.calls.size);
      for (const row of rows) {
        const want = expected.calls.get(row.pbx_id!)!;
        expect(
          [row.call_type, row.sip_status, row.caller_number, row.caller_name, row.target_number, row.answered_phone_number, row.phone_id, row.answered_phone_id, row.employee_id, row.wait_duration_sec, row.duration_sec, row.play_record_link, row.registration_time, row.start_time, row.answered_time, row.end_time],
          `${source.format} ${row.pbx_id}`,
        ).toEqual([want.callType, want.sipStatus, want.callerNumber, want.callerName, want.targetNumber, want.answeredPhoneNumber, want.phoneId, want.answeredPhoneId, want.employeeId, want.waitDurationSec, want.durationSec, want.playRecordLink, want.registrationTime, want.startTime, want.answeredTime, want.endTime]);
      }
      // Every type and outcome a PBX can report came through.
      const kinds = new Set(rows.map((r) => `${r.call_type}/${r.sip_status}`));
      expect(kinds.size, `${source.format}: ${[...kinds].join(' ')}`).toBeGreaterThanOrEqual(5);
    }
  }, 180000);

  it('refuses what it cannot run, with exit code 1 and a plain message', async () => {
    const missing = await sipsim(importArgs([join(scratch.path, 'nope.ndjson')]));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^sipsim: cannot read .*nope\.ndjson: no such file or folder\n$/);
    const noAccount = await sipsim(['import', 'x', '--account', '999999', '--format', 'ndjson', '--database', database.url]);
    expect(noAccount.code).toBe(1);
    expect(noAccount.stderr).toContain('No account 999999');
    const badZone = await sipsim([...importArgs(['x']), '--tz', 'Mars/Olympus']);
    expect(badZone.code).toBe(1);
    expect(badZone.stderr).toContain("--tz 'Mars/Olympus' is not a time zone");
  });
});
