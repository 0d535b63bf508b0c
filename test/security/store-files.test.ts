import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';

/** The SQLite store holds secrets: its files are the owner's alone. */
describe('SQLite store files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipsim-modes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('creates the database, its WAL and SHM files 0600 and a new folder 0700, even under a lax umask', async () => {
    const previous = process.umask(0o002);
    try {
      const path = join(dir, 'fresh', 'nested', 'sipsim.db');
      const store = Store.open(`sqlite:${path}`);
      await store.migrate();
      const account = await store.accounts.create({ name: 'Acme', email: 'a@acme.example' });
      await store.tags.create(account.id, { name: 'written' });
      expect(mode(path)).toBe(0o600);
      expect(mode(`${path}-wal`)).toBe(0o600);
      expect(mode(`${path}-shm`)).toBe(0o600);
      expect(mode(join(dir, 'fresh', 'nested'))).toBe(0o700);
      await store.close();
    } finally {
      process.umask(previous);
    }
  });

  it('leaves the permissions of an existing file as its owner set them', async () => {
    const path = join(dir, 'existing.db');
    writeFileSync(path, '', { mode: 0o640 });
    const store = Store.open(`sqlite:${path}`);
    await store.migrate();
    await store.close();
    expect(mode(path)).toBe(0o640);
  });
});
