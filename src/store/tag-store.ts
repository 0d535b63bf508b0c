import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import { DEFAULT_TAG_COLOR, DUPLICATE_TAG, tagNameKey, type Tag } from '../domain/directory.js';
import { ConflictError, NotFoundError, StoreConflictError } from '../domain/errors.js';
import { nowSeconds } from '../domain/time.js';
import type { WebhookEventName } from '../domain/webhook-events.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import { pageOf, type DirectoryPage } from './pages.js';
import { lockRow } from './row-lock.js';
import type { Database } from './schema.js';
import { executeOn, queueWebhooks, subscribedEvents } from './webhook-store.js';

export interface TagCallCount {
  tagId: number;
  calls: number;
}

/** A call whose tags changed, with its tags as they now stand, by name. */
export interface RetaggedCall {
  id: number;
  pbxId: string | null;
  callerNumber: string;
  targetNumber: string;
  tagNames: string[];
}

/**
 * The webhooks a change of calls' tags sends, as the tag service decides them:
 * `messages` turns the calls whose tags changed into messages, and `event`
 * names what they are, so that those calls are read only when the account
 * subscribes to it. The store queues the messages in the transaction of the
 * change, so that a change and its webhooks are stored together or not at all.
 */
export interface RetagWebhooks {
  event: WebhookEventName;
  messages(calls: RetaggedCall[]): WebhookMessage[];
}

export type TagChange = { name?: string; color?: string; description?: string | null };
export type CallTagsChange = { add?: number[]; remove?: number[]; replace?: number[] };

const toTag = (row: Selectable<Database['tags']>): Tag => ({
  id: row.id,
  accountId: row.account_id,
  name: row.name,
  color: row.color,
  description: row.description,
});

/** A write that hits the unique name is the documented conflict. */
async function naming<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof StoreConflictError) throw new ConflictError(DUPLICATE_TAG);
    throw error;
  }
}

/**
 * An account's tags and the tags of its calls. A tag name is unique within an
 * account whatever its case; a taken one is a ConflictError (DUPLICATE_TAG).
 */
export class TagStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guarded: Guarded,
    private readonly announce: () => void,
  ) {}

  async create(accountId: number, input: { name: string; color?: string; description?: string | null }): Promise<Tag> {
    const now = nowSeconds();
    const color = input.color ?? DEFAULT_TAG_COLOR;
    const row = await naming(
      this.guarded(() =>
        this.db
          .insertInto('tags')
          .values({
            account_id: accountId,
            name: input.name,
            name_key: tagNameKey(input.name),
            color,
            description: input.description ?? null,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow(),
      ),
    );
    return { id: row.id, accountId, name: input.name, color, description: input.description ?? null };
  }

  /** The tag with this id; NotFoundError('Tag') when the account has none. */
  async get(accountId: number, id: number): Promise<Tag> {
    const row = await this.guarded(() =>
      this.db.selectFrom('tags').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst(),
    );
    if (!row) throw new NotFoundError('Tag');
    return toTag(row);
  }

  async list(accountId: number, limit: number, afterId: number | null): Promise<DirectoryPage<Tag>> {
    const rows = await this.guarded(() =>
      this.db
        .selectFrom('tags')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute(),
    );
    const page = pageOf(rows, limit);
    return { items: page.items.map(toTag), next: page.next };
  }

  /**
   * Renames, recolours or redescribes a tag. A new name is a change of the
   * tags of every call that has it (their webhooks carry names): those calls
   * go to `webhooks`.
   */
  async update(accountId: number, id: number, change: TagChange, webhooks: RetagWebhooks): Promise<Tag> {
    let queued = 0;
    const tag = await naming(
      this.guarded(() =>
        this.db.transaction().execute(async (trx) => {
          const set: Updateable<Database['tags']> = { updated_at: nowSeconds() };
          if (change.name !== undefined) Object.assign(set, { name: change.name, name_key: tagNameKey(change.name) });
          if (change.color !== undefined) set.color = change.color;
          if (change.description !== undefined) set.description = change.description;
          const before =
            change.name === undefined
              ? undefined
              : await trx.selectFrom('tags').select('name').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
          const row = await trx.updateTable('tags').set(set).where('account_id', '=', accountId).where('id', '=', id).returningAll().executeTakeFirst();
          if (!row) throw new NotFoundError('Tag');
          if (before && before.name !== row.name) {
            queued = await this.queueRetagged(trx, accountId, webhooks, async () =>
              (await trx.selectFrom('call_tags').select('call_id').where('account_id', '=', accountId).where('tag_id', '=', id).execute()).map((r) =>
                Number(r.call_id),
              ),
            );
          }
          return toTag(row);
        }),
      ),
    );
    if (queued) this.announce();
    return tag;
  }

  /** Deletes a tag and takes it off every call, each of which goes to `webhooks`. */
  async delete(accountId: number, id: number, webhooks: RetagWebhooks): Promise<void> {
    let queued = 0;
    await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const run = executeOn(trx);
        const subscribed = await subscribedEvents(this.db, run, accountId);
        const removed = await trx.deleteFrom('call_tags').where('account_id', '=', accountId).where('tag_id', '=', id).returning('call_id').execute();
        const result = await trx.deleteFrom('tags').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw new NotFoundError('Tag');
        if (removed.length) {
          queued = await this.queueRetagged(trx, accountId, webhooks, async () => removed.map((r) => Number(r.call_id)), subscribed);
        }
      }),
    );
    if (queued) this.announce();
  }

  /**
   * Adds, removes or replaces the tags of one call, all or nothing, one change
   * of a call after the other. The call, when its tags changed, goes to
   * `webhooks`. NotFoundError('Call') or NotFoundError('Tag') when the account
   * has no such call or one of the tags.
   */
  async changeOnCall(accountId: number, callId: number, change: CallTagsChange, webhooks: RetagWebhooks): Promise<void> {
    let queued = 0;
    await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        await lockRow(trx, this.engine, 'calls', accountId, callId);
        const call = await trx.selectFrom('calls').select('start_time').where('account_id', '=', accountId).where('id', '=', callId).executeTakeFirst();
        if (!call) throw new NotFoundError('Call');
        const wanted = [...new Set([...(change.add ?? []), ...(change.replace ?? []), ...(change.remove ?? [])])];
        if (wanted.length) {
          const found = await trx.selectFrom('tags').select('id').where('account_id', '=', accountId).where('id', 'in', wanted).execute();
          if (found.length !== wanted.length) throw new NotFoundError('Tag');
        }
        const tagsNow = async () =>
          (await trx.selectFrom('call_tags').select('tag_id').where('account_id', '=', accountId).where('call_id', '=', callId).orderBy('tag_id').execute())
            .map((r) => Number(r.tag_id))
            .join(',');
        const subscribed = await subscribedEvents(this.db, executeOn(trx), accountId);
        const before = subscribed.has(webhooks.event) ? await tagsNow() : '';
        const onCall = trx.deleteFrom('call_tags').where('account_id', '=', accountId).where('call_id', '=', callId);
        if (change.replace) await onCall.execute();
        if (change.remove?.length) await onCall.where('tag_id', 'in', change.remove).execute();
        const adding = [...new Set([...(change.add ?? []), ...(change.replace ?? [])])];
        if (adding.length) {
          await trx
            .insertInto('call_tags')
            // start_time is the call's own, so that tag filters walk in list order.
            .values(adding.map((tagId) => ({ account_id: accountId, call_id: callId, tag_id: tagId, start_time: call.start_time })))
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        if (subscribed.has(webhooks.event) && (await tagsNow()) !== before) {
          queued = await this.queueRetagged(trx, accountId, webhooks, async () => [callId], subscribed);
        }
      }),
    );
    if (queued) this.announce();
  }

  /**
   * Queues the webhooks of calls whose tags changed, in the change's
   * transaction; the calls are read (by `changed`) only when the account
   * subscribes to the event. Returns how many were queued.
   */
  private async queueRetagged(
    trx: Transaction<Database>,
    accountId: number,
    webhooks: RetagWebhooks,
    changed: () => Promise<number[]>,
    subscribedAlready?: Set<string>,
  ): Promise<number> {
    const run = executeOn(trx);
    const subscribed = subscribedAlready ?? (await subscribedEvents(this.db, run, accountId));
    if (!subscribed.has(webhooks.event)) return 0;
    const calls = await this.retagged(trx, accountId, await changed());
    return queueWebhooks(this.db, run, accountId, webhooks.messages(calls), subscribed);
  }

  /** These calls with their tags as they stand in this transaction, in id order. */
  private async retagged(trx: Transaction<Database>, accountId: number, callIds: number[]): Promise<RetaggedCall[]> {
    const retagged: RetaggedCall[] = [];
    for (let i = 0; i < callIds.length; i += 500) {
      const ids = callIds.slice(i, i + 500);
      const calls = await trx
        .selectFrom('calls')
        .select(['id', 'pbx_id', 'caller_number', 'target_number'])
        .where('account_id', '=', accountId)
        .where('id', 'in', ids)
        .orderBy('id')
        .execute();
      const tagRows = await trx
        .selectFrom('call_tags')
        .innerJoin('tags', (join) => join.onRef('tags.account_id', '=', 'call_tags.account_id').onRef('tags.id', '=', 'call_tags.tag_id'))
        .select(['call_tags.call_id', 'tags.name'])
        .where('call_tags.account_id', '=', accountId)
        .where('call_tags.call_id', 'in', ids)
        .orderBy('tags.name')
        .execute();
      const names = new Map<number, string[]>();
      for (const r of tagRows) {
        const list = names.get(Number(r.call_id)) ?? [];
        list.push(r.name);
        names.set(Number(r.call_id), list);
      }
      for (const c of calls) {
        const id = Number(c.id);
        retagged.push({ id, pbxId: c.pbx_id, callerNumber: c.caller_number, targetNumber: c.target_number, tagNames: names.get(id) ?? [] });
      }
    }
    return retagged;
  }

  /** The keys (see tagNameKey) among `keys` that name a tag of the account: ingest treats new tags apart. */
  async existingKeys(accountId: number, keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(keys)];
    // In slices, so that no statement passes either engine's limit on parameters.
    for (let i = 0; i < unique.length; i += 500) {
      const slice = unique.slice(i, i + 500);
      const rows = await this.guarded(() =>
        this.db.selectFrom('tags').select('name_key').where('account_id', '=', accountId).where('name_key', 'in', slice).execute(),
      );
      for (const row of rows) found.add(row.name_key);
    }
    return found;
  }

  /**
   * How many calls carry each tag of an account, counted by the database in one
   * GROUP BY over the call-tag links (the index on account and tag serves it).
   * Tags no call carries are absent: their count is 0.
   */
  callsPerTag(accountId: number): Promise<TagCallCount[]> {
    return this.guarded(async () => {
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
