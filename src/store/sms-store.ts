import type { Kysely } from 'kysely';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';
import { executeOn, queueWebhooks } from './webhook-store.js';
import type { Guarded } from './guarded.js';

/** An SMS to keep, with the webhook it causes. */
export interface SmsRow {
  key: string;
  direction: 'inbound' | 'outbound';
  caller: string;
  receiver: string;
  message: string;
  /** Unix seconds. */
  time: number;
  webhook: WebhookMessage;
}

export interface StoredSms {
  id: number;
  direction: string;
  caller: string;
  receiver: string;
  message: string;
  time: number;
}

/**
 * Text messages of an account. Each new one is stored with its `sms` webhook
 * in the outbox in one transaction, so that a crash keeps both or neither; an
 * SMS already stored (same key) is left as it is and sends nothing.
 */
export class SmsStore {
  constructor(
    private readonly db: Kysely<Database>,
    readonly engine: Engine,
    private readonly guarded: Guarded,
    private readonly announce: () => void,
  ) {}

  /** Stores the new ones; returns the keys that were new, with their ids. */
  async receive(accountId: number, rows: SmsRow[]): Promise<Map<string, number>> {
    if (!rows.length) return new Map();
    const createdAt = Math.floor(Date.now() / 1000);
    const { fresh, queued } = await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const fresh = new Map<string, number>();
        const webhooks: WebhookMessage[] = [];
        for (const row of rows) {
          if (fresh.has(row.key)) continue;
          const inserted = await trx
            .insertInto('sms_messages')
            .values({
              account_id: accountId,
              event_key: row.key,
              direction: row.direction,
              caller: row.caller,
              receiver: row.receiver,
              message: row.message,
              time: row.time,
              created_at: createdAt,
            })
            .onConflict((oc) => oc.columns(['account_id', 'event_key']).doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!inserted) continue;
          fresh.set(row.key, Number(inserted.id));
          webhooks.push(row.webhook);
        }
        const queued = await queueWebhooks(this.db, executeOn(trx), accountId, webhooks);
        return { fresh, queued };
      }),
    );
    if (queued) this.announce();
    return fresh;
  }

  /** The account's messages, newest first. */
  async list(accountId: number, limit = 100): Promise<StoredSms[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('sms_messages')
        .select(['id', 'direction', 'caller', 'receiver', 'message', 'time'])
        .where('account_id', '=', accountId)
        .orderBy('time', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...r, id: Number(r.id), time: Number(r.time) }));
    });
  }
}
