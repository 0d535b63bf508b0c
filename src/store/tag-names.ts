import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Which tag names an account already has, for ingest rules that treat new tags apart. */
export class TagNames {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly run: <T>(operation: () => Promise<T>) => Promise<T>,
  ) {}

  /** The keys (see tagNameKey) among `keys` that name a tag of the account. */
  async existing(accountId: number, keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(keys)];
    // In slices, so that no statement passes either engine's limit on parameters.
    for (let i = 0; i < unique.length; i += 500) {
      const slice = unique.slice(i, i + 500);
      const rows = await this.run(() =>
        this.db.selectFrom('tags').select('name_key').where('account_id', '=', accountId).where('name_key', 'in', slice).execute(),
      );
      for (const row of rows) found.add(row.name_key);
    }
    return found;
  }
}
