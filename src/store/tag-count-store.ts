import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface TagCallCount {
  tagId: number;
  calls: number;
}

/**
 * How many calls carry each tag of an account, counted by the database in one
 * GROUP BY over the call-tag links (the index on account and tag serves it).
 * Tags no call carries are absent: their count is 0.
 */
export class TagCountStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly guard: <T>(operation: () => Promise<T>) => Promise<T>,
  ) {}

  callsPerTag(accountId: number): Promise<TagCallCount[]> {
    return this.guard(async () => {
      const rows = await this.db
        .selectFrom('call_tags')
        .innerJoin('tags', (join) => join.onRef('tags.id', '=', 'call_tags.tag_id').onRef('tags.account_id', '=', 'call_tags.account_id'))
        .where('call_tags.account_id', '=', accountId)
        .groupBy('call_tags.tag_id')
        .select((eb) => ['call_tags.tag_id as tag_id', eb.fn.countAll().as('calls')])
        .orderBy('call_tags.tag_id')
        .execute();
      // PostgreSQL's count is a bigint, handed over as a string.
      return rows.map((r) => ({ tagId: Number(r.tag_id), calls: Number(r.calls) }));
    });
  }
}
