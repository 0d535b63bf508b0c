import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';

/**
 * The number search of a list benchmark: the last six digits of the newest
 * inbound caller at or before `before` (epoch seconds), as a person would type
 * them, so that the search finds a caller who really called in the window.
 */
export async function recentCallerDigits(db: Kysely<Database>, accountId: number, before: number): Promise<string> {
  const call = await db
    .selectFrom('calls')
    .select('caller_number')
    .where('account_id', '=', accountId)
    .where('call_type', '=', 'inbound')
    .where('start_time', '<=', before)
    .orderBy('start_time', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return call.caller_number.replace(/\D/g, '').slice(-6);
}
