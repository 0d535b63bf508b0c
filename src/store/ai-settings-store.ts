import type { Kysely } from 'kysely';
import { DEFAULT_AI_SETTINGS, type AiSettings, type RatingCriterion } from '../domain/ai.js';
import type { Database } from './schema.js';
import type { Guarded } from './guarded.js';

export type AiSettingsChange = Partial<AiSettings>;

/** Each account's AI settings, and the automatic transcription of its new calls. */
export class AiSettingsStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly guarded: Guarded,
  ) {}

  /** The account's settings; the defaults until it changes them. */
  async get(accountId: number): Promise<AiSettings> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('ai_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
      if (!row) return { ...DEFAULT_AI_SETTINGS, ratingCriteria: [...DEFAULT_AI_SETTINGS.ratingCriteria] };
      return {
        summaryInstructions: row.summary_instructions,
        ratingCriteria: JSON.parse(row.rating_criteria) as RatingCriterion[],
        autoTranscribe: Boolean(row.auto_transcribe),
        autoTranscribeMinSec: Number(row.auto_transcribe_min_sec),
      };
    });
  }

  /**
   * Changes some settings. Turning automatic transcription on applies to calls
   * that arrive from now on, not to the account's whole history.
   */
  async update(accountId: number, change: AiSettingsChange): Promise<AiSettings> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('ai_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
        const current = row
          ? {
              summaryInstructions: row.summary_instructions,
              ratingCriteria: JSON.parse(row.rating_criteria) as RatingCriterion[],
              autoTranscribe: Boolean(row.auto_transcribe),
              autoTranscribeMinSec: Number(row.auto_transcribe_min_sec),
            }
          : DEFAULT_AI_SETTINGS;
        const next: AiSettings = { ...current, ...change };
        let after = row ? Number(row.auto_after_call_id) : 0;
        if (next.autoTranscribe && !current.autoTranscribe) {
          const last = await trx
            .selectFrom('calls')
            .select((eb) => eb.fn.max('id').as('id'))
            .where('account_id', '=', accountId)
            .executeTakeFirst();
          after = Number(last?.id ?? 0);
        }
        const values = {
          summary_instructions: next.summaryInstructions,
          rating_criteria: JSON.stringify(next.ratingCriteria),
          auto_transcribe: next.autoTranscribe ? 1 : 0,
          auto_transcribe_min_sec: next.autoTranscribeMinSec,
          auto_after_call_id: after,
          updated_at: Date.now(),
        };
        if (row) await trx.updateTable('ai_settings').set(values).where('account_id', '=', accountId).execute();
        else await trx.insertInto('ai_settings').values({ account_id: accountId, ...values }).execute();
        return next;
      }),
    );
  }

  /**
   * Calls that arrived since the last look, answered and longer than the
   * account's threshold, in accounts that transcribe automatically; each
   * account's mark moves past the calls looked at, so that each is offered
   * once. Walks the calls' primary key, so a look costs what the new calls do.
   */
  async takeNewCallsToTranscribe(limitPerAccount = 500): Promise<Array<{ accountId: number; callId: number }>> {
    return this.guarded(async () => {
      const accounts = await this.db
        .selectFrom('ai_settings')
        .select(['account_id', 'auto_transcribe_min_sec', 'auto_after_call_id'])
        .where('auto_transcribe', '=', 1)
        .execute();
      const found: Array<{ accountId: number; callId: number }> = [];
      for (const a of accounts) {
        const accountId = Number(a.account_id);
        const after = Number(a.auto_after_call_id);
        const calls = await this.db
          .selectFrom('calls')
          .select(['id', 'answered_time', 'duration_sec'])
          .where('account_id', '=', accountId)
          .where('id', '>', after)
          .orderBy('id')
          .limit(limitPerAccount)
          .execute();
        if (!calls.length) continue;
        const last = Number(calls[calls.length - 1]!.id);
        // Moved only from where this look started: another process that looked at the same calls moves it once.
        const moved = await this.db
          .updateTable('ai_settings')
          .set({ auto_after_call_id: last })
          .where('account_id', '=', accountId)
          .where('auto_after_call_id', '=', after)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) continue;
        for (const c of calls) {
          if (c.answered_time !== null && Number(c.duration_sec) > Number(a.auto_transcribe_min_sec)) found.push({ accountId, callId: Number(c.id) });
        }
      }
      return found;
    });
  }
}
