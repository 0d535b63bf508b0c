import { randomBytes } from 'node:crypto';
import { sql, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { WEBHOOK_EVENTS } from '../domain/webhook-events.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import { LeasedQueue, type Lease } from './leased-queue.js';
import type { Database } from './schema.js';

/**
 * Webhook settings, subscriptions and the outbox. Queueing runs inside the
 * caller's transaction, whichever way that transaction is held (a Kysely
 * transaction, or the raw connection of an ingest batch): the queries are
 * built with Kysely and handed to an `ExecuteQuery` to execute there.
 */
export type ExecuteQuery = (query: CompiledQuery) => Promise<unknown[]>;

/** Executes built queries on a Kysely connection or transaction: the queries then are part of it. */
export const executeOn = (db: Kysely<Database>): ExecuteQuery => async (query) => (await db.executeQuery(query)).rows;

export interface WebhookSettings {
  accountId: number;
  url: string | null;
  secret: string;
  events: string[];
  createdAt: number;
  updatedAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

export interface WebhookDelivery {
  accountId: number;
  id: number;
  event: string;
  pbxId: string | null;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  /** Unix milliseconds, as every time of a delivery. */
  createdAt: number;
  nextAttemptAt: number;
  retryFrom: number;
  lastAttemptAt: number | null;
  deliveredAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** A delivery a worker has claimed, with where to send it and how to sign it. */
export interface ClaimedDelivery extends WebhookDelivery, Lease {
  url: string | null;
  secret: string | null;
}

export type AttemptOutcome =
  | { result: 'delivered'; status: number }
  | { result: 'retry'; status: number | null; error: string; nextAttemptAt: number }
  | { result: 'failed'; status: number | null; error: string }
  | { result: 'release' };

/** A signing secret: 32 random bytes, prefixed so that it is recognisable in a config file. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

const toDelivery = (r: Selectable<Database['webhook_deliveries']>): WebhookDelivery => ({
  accountId: Number(r.account_id),
  id: Number(r.id),
  event: r.event,
  pbxId: r.pbx_id,
  body: r.body,
  status: r.status as DeliveryStatus,
  attempts: Number(r.attempts),
  createdAt: Number(r.created_at),
  nextAttemptAt: Number(r.next_attempt_at),
  retryFrom: Number(r.retry_from),
  lastAttemptAt: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
  deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
});

/** Kept to this length: a receiver's error page can be long, and the first lines say what went wrong. */
const MAX_ERROR = 500;

/** The events an account receives now: none while it has no URL. */
export async function subscribedEvents(db: Kysely<Database>, execute: ExecuteQuery, accountId: number): Promise<Set<string>> {
  const rows = (await execute(
    db
      .selectFrom('webhook_subscriptions as s')
      .innerJoin('webhook_settings as w', 'w.account_id', 's.account_id')
      .select('s.event')
      .where('s.account_id', '=', accountId)
      .where('w.url', 'is not', null)
      .compile(),
  )) as Array<{ event: string }>;
  return new Set(rows.map((r) => r.event));
}

/**
 * Puts webhooks in the outbox, in the caller's transaction, keeping those the
 * account subscribes to. Returns how many were queued.
 */
export async function queueWebhooks(
  db: Kysely<Database>,
  execute: ExecuteQuery,
  accountId: number,
  messages: WebhookMessage[],
  subscribed?: Set<string>,
): Promise<number> {
  if (!messages.length) return 0;
  const events = subscribed ?? (await subscribedEvents(db, execute, accountId));
  const wanted = messages.filter((m) => events.has(m.event));
  if (!wanted.length) return 0;
  const now = Date.now();
  // Chunked: SQLite takes at most 32,766 parameters in one statement.
  for (let i = 0; i < wanted.length; i += 1000) {
    await execute(
      db
        .insertInto('webhook_deliveries')
        .values(
          wanted.slice(i, i + 1000).map((m) => ({
            account_id: accountId,
            event: m.event,
            pbx_id: m.pbxId,
            body: m.body,
            status: 'pending',
            next_attempt_at: now,
            retry_from: now,
            created_at: now,
          })),
        )
        .compile(),
    );
  }
  return wanted.length;
}

/** Everything else about webhooks, on the store's own connection. */
export class WebhookStore {
  constructor(
    private readonly db: Kysely<Database>,
    engine: Engine,
    private readonly guarded: Guarded,
  ) {
    this.outbox = new LeasedQueue(db, engine, 'webhook_deliveries', 'last_attempt_at');
  }

  /** The deliveries waiting to be sent, claimed by dispatchers for a lease (see LeasedQueue). */
  private readonly outbox: LeasedQueue<'webhook_deliveries'>;

  /**
   * Called after a transaction that queued webhooks has committed, so that
   * this process's dispatcher sends them at once instead of at its next poll.
   */
  onQueued(listener: () => void): () => void {
    return this.outbox.onQueued(listener);
  }

  announce(): void {
    this.outbox.announce();
  }

  async settings(accountId: number): Promise<WebhookSettings | null> {
    return this.guarded(() => this.settingsOn(this.db, accountId));
  }

  private async settingsOn(db: Kysely<Database>, accountId: number): Promise<WebhookSettings | null> {
    const row = await db.selectFrom('webhook_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!row) return null;
    const subscribed = await db
      .selectFrom('webhook_subscriptions')
      .select('event')
      .where('account_id', '=', accountId)
      .execute();
    const order = (e: string) => (WEBHOOK_EVENTS as readonly string[]).indexOf(e);
    return {
      accountId,
      url: row.url,
      secret: row.secret,
      events: subscribed.map((s) => s.event).sort((a, b) => order(a) - order(b)),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  /**
   * Sets the account's webhook URL (null turns delivery off). The first time,
   * a signing secret is made and, unless `events` says otherwise, every event
   * is subscribed; later calls keep both unless `events` is given.
   */
  async setUrl(accountId: number, url: string | null, events?: string[]): Promise<WebhookSettings> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const now = Math.floor(Date.now() / 1000);
        const existing = await trx.selectFrom('webhook_settings').select('account_id').where('account_id', '=', accountId).executeTakeFirst();
        if (existing) {
          await trx.updateTable('webhook_settings').set({ url, updated_at: now }).where('account_id', '=', accountId).execute();
        } else {
          await trx
            .insertInto('webhook_settings')
            .values({ account_id: accountId, url, secret: newWebhookSecret(), created_at: now, updated_at: now })
            .execute();
        }
        const subscribe = events ?? (existing ? undefined : [...WEBHOOK_EVENTS]);
        if (subscribe) {
          await trx.deleteFrom('webhook_subscriptions').where('account_id', '=', accountId).execute();
          if (subscribe.length) {
            await trx
              .insertInto('webhook_subscriptions')
              .values([...new Set(subscribe)].map((event) => ({ account_id: accountId, event, created_at: now })))
              .execute();
          }
        }
        return (await this.settingsOn(trx, accountId))!;
      }),
    );
  }

  /** A new signing secret; the old one stops working at once. */
  async rotateSecret(accountId: number): Promise<WebhookSettings> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const now = Math.floor(Date.now() / 1000);
        const secret = newWebhookSecret();
        const updated = await trx
          .updateTable('webhook_settings')
          .set({ secret, updated_at: now })
          .where('account_id', '=', accountId)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          await trx.insertInto('webhook_settings').values({ account_id: accountId, url: null, secret, created_at: now, updated_at: now }).execute();
        }
        return (await this.settingsOn(trx, accountId))!;
      }),
    );
  }

  /** Subscribes to or unsubscribes from one event; 'no-url' while the account has no webhook URL. */
  async setSubscription(accountId: number, event: string, enabled: boolean): Promise<WebhookSettings | 'no-url'> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const settings = await trx.selectFrom('webhook_settings').select('url').where('account_id', '=', accountId).executeTakeFirst();
        if (!settings?.url) return 'no-url' as const;
        if (enabled) {
          await trx
            .insertInto('webhook_subscriptions')
            .values({ account_id: accountId, event, created_at: Math.floor(Date.now() / 1000) })
            .onConflict((oc) => oc.doNothing())
            .execute();
        } else {
          await trx.deleteFrom('webhook_subscriptions').where('account_id', '=', accountId).where('event', '=', event).execute();
        }
        return (await this.settingsOn(trx, accountId))!;
      }),
    );
  }

  /** Queues webhooks outside any other change (the `test` event, a manual send). */
  async queue(accountId: number, messages: WebhookMessage[], options: { ignoreSubscriptions?: boolean } = {}): Promise<number> {
    return this.guarded(async () => {
      const subscribed = options.ignoreSubscriptions ? new Set(messages.map((m) => m.event)) : undefined;
      const queued = await queueWebhooks(this.db, executeOn(this.db), accountId, messages, subscribed);
      if (queued) this.announce();
      return queued;
    });
  }

  /**
   * Records a delivery made outside the outbox (the `test` event the CLI
   * sends) before it is sent, so that it goes out with its X-Webhook-Id and
   * shows in the list. It is held by a claim until `leaseUntil`, so that the
   * dispatcher leaves it alone; finishAttempt records how it went (a process
   * that dies before that leaves it to the dispatcher, as any claim).
   */
  async beginDelivery(accountId: number, message: WebhookMessage, at: number, leaseUntil: number): Promise<ClaimedDelivery> {
    return this.guarded(async () => {
      const row = await this.db
        .insertInto('webhook_deliveries')
        .values({
          account_id: accountId,
          event: message.event,
          pbx_id: message.pbxId,
          body: message.body,
          status: 'pending',
          attempts: 1,
          next_attempt_at: leaseUntil,
          retry_from: at,
          created_at: at,
          last_attempt_at: at,
          delivered_at: null,
          last_status: null,
          last_error: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { ...toDelivery(row), url: null, secret: null, leaseUntil };
    });
  }

  /**
   * Claims up to `limit` deliveries that are due, for one attempt each (see
   * LeasedQueue), with where to send them and how to sign them.
   */
  async claimDue(limit: number, now: number, leaseUntil: number): Promise<ClaimedDelivery[]> {
    return this.guarded(async () => {
      const deliveries = (await this.outbox.claimDue(limit, now, leaseUntil)).map(toDelivery);
      if (!deliveries.length) return [];
      const accounts = [...new Set(deliveries.map((d) => d.accountId))];
      const settings = await this.db
        .selectFrom('webhook_settings')
        .select(['account_id', 'url', 'secret'])
        .where('account_id', 'in', accounts)
        .execute();
      const byAccount = new Map(settings.map((s) => [Number(s.account_id), s]));
      return deliveries.map((d) => ({
        ...d,
        url: byAccount.get(d.accountId)?.url ?? null,
        secret: byAccount.get(d.accountId)?.secret ?? null,
        leaseUntil,
      }));
    });
  }

  /**
   * Records how an attempt went, if the claim is still this worker's: a
   * delivery whose lease ran out and that another worker claimed since is
   * theirs to record. Returns whether it was recorded.
   */
  async finishAttempt(claim: Lease, outcome: AttemptOutcome, now: number): Promise<boolean> {
    return this.guarded(async () => {
      switch (outcome.result) {
        case 'delivered':
          return this.outbox.record(this.db, claim, { status: 'delivered', delivered_at: now, last_status: outcome.status, last_error: null });
        case 'retry':
          return this.outbox.record(this.db, claim, { next_attempt_at: outcome.nextAttemptAt, last_status: outcome.status, last_error: outcome.error.slice(0, MAX_ERROR) });
        case 'release':
          // Not attempted: the claim is handed back, and the attempt it counted with it.
          return this.outbox.release(this.db, claim, now);
        case 'failed':
          return this.outbox.record(this.db, claim, { status: 'failed', last_status: outcome.status, last_error: outcome.error.slice(0, MAX_ERROR) });
      }
    });
  }

  /** Recent deliveries, newest first; `beforeId` pages back. */
  async list(
    accountId: number,
    filter: { status?: DeliveryStatus; event?: string; beforeId?: number; limit: number },
  ): Promise<WebhookDelivery[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(filter.status !== undefined, (qb) => qb.where('status', '=', filter.status!))
        .$if(filter.event !== undefined, (qb) => qb.where('event', '=', filter.event!))
        .$if(filter.beforeId !== undefined, (qb) => qb.where('id', '<', filter.beforeId!))
        .orderBy('id', 'desc')
        .limit(filter.limit)
        .execute();
      return rows.map(toDelivery);
    });
  }

  /** The deliveries that carry one of these pbx ids (one call's), newest first. */
  async listForPbxIds(accountId: number, pbxIds: string[], limit: number): Promise<WebhookDelivery[]> {
    if (!pbxIds.length) return [];
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('pbx_id', 'in', pbxIds)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    });
  }

  async get(accountId: number, id: number): Promise<WebhookDelivery | null> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('webhook_deliveries').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return row ? toDelivery(row) : null;
    });
  }

  /**
   * Queues finished deliveries again, now, with a fresh retry window: the ones
   * named, or every failed one. Returns the ids queued.
   */
  async redeliver(accountId: number, which: { ids: number[] } | { failed: true }): Promise<number[]> {
    if ('ids' in which && !which.ids.length) return [];
    return this.guarded(async () => {
      const now = Date.now();
      // A pending delivery is queued already, and may be in a worker's hands:
      // queueing it again could send it twice at the same time.
      const rows = await this.db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: now, retry_from: now, attempts: 0 })
        .where('account_id', '=', accountId)
        .where('status', '!=', 'pending')
        .$if('ids' in which, (qb) => qb.where('id', 'in', (which as { ids: number[] }).ids))
        .$if('failed' in which, (qb) => qb.where('status', '=', 'failed'))
        .returning('id')
        .execute();
      return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    });
  }

  /**
   * Deletes finished deliveries (delivered or failed) queued before `before`,
   * at most `limit` of them, so that a large history goes a batch at a time
   * without holding a long lock. Returns how many went.
   */
  async prune(before: number, limit = 5000): Promise<number> {
    return this.guarded(async () => {
      const result = await this.db
        .deleteFrom('webhook_deliveries')
        .where((eb) =>
          eb(
            eb.refTuple('account_id', 'id'),
            'in',
            eb
              .selectFrom('webhook_deliveries')
              .select(['account_id', 'id'])
              .where('status', '<>', 'pending')
              .where('created_at', '<', before)
              .limit(limit)
              .$asTuple('account_id', 'id'),
          ),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  /** The account's deliveries by status. */
  async countByStatus(accountId: number): Promise<Record<DeliveryStatus, number>> {
    return this.guarded(() => this.outbox.countByStatus(DELIVERY_STATUSES, accountId));
  }

  /** How many deliveries wait, across every account: for metrics and benchmarks. */
  async pendingCount(): Promise<number> {
    return this.guarded(async () => {
      const row = await this.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
