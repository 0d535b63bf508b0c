import { describe, expect, it } from 'vitest';
import { describeStoreFailure, redactPasswords } from '../../src/store/connection-errors.js';
import { parseDatabaseUrl } from '../../src/store/engine.js';

const PG = parseDatabaseUrl('postgres://app:s3cret@db.example.org:6543/calls');
const failure = (code: string, message = 'driver text') => Object.assign(new Error(message), { code });

describe('describeStoreFailure', () => {
  it.each([
    ['ECONNREFUSED', 'connection refused'],
    ['ENOTFOUND', 'unknown host db.example.org'],
    ['EAI_AGAIN', 'unknown host db.example.org'],
    ['ETIMEDOUT', 'timed out'],
    ['28P01', 'authentication failed for user app'],
    ['28000', 'does not let user app connect'],
    ['3D000', 'database calls does not exist'],
  ])('names host, port, database, user and the cause for %s', (code, cause) => {
    const text = describeStoreFailure(PG, failure(code));
    expect(text).toContain('PostgreSQL at db.example.org:6543 (database calls, user app)');
    expect(text).toContain(cause);
    expect(text).not.toContain('s3cret');
  });

  it('defaults the port, and never repeats a password a driver message quotes', () => {
    const location = parseDatabaseUrl('postgresql://me:hunter2@localhost/db');
    const text = describeStoreFailure(location, failure('XX000', 'bad postgres://me:hunter2@localhost/db'));
    expect(text).toContain('localhost:5432');
    expect(text).not.toContain('hunter2');
    expect(redactPasswords('postgres://u:p@h/d')).toBe('postgres://u:***@h/d');
  });

  it('names the SQLite file', () => {
    expect(describeStoreFailure(parseDatabaseUrl('sqlite:/nope/x.db'), failure('SQLITE_CANTOPEN'))).toBe(
      'cannot use the SQLite file /nope/x.db: cannot open it (does the folder exist, and may this user write there?)',
    );
  });
});
