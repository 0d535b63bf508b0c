import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from './schema.js';
import type { Guarded } from './guarded.js';

export type UserRole = 'admin' | 'member';
export const USER_ROLES: readonly UserRole[] = ['admin', 'member'];

export interface User {
  id: number;
  accountId: number;
  email: string;
  name: string;
  role: UserRole;
  employeeId: number | null;
  /** Unix seconds; a disabled user cannot sign in and has no sessions. */
  disabledAt: number | null;
  createdAt: number;
}

export interface UserWithPassword extends User {
  passwordHash: string;
}

export interface SessionRow {
  idHash: string;
  accountId: number;
  userId: number;
  /** Unix milliseconds, as every session time. */
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

const toUser = (r: Selectable<Database['users']>): UserWithPassword => ({
  id: Number(r.id),
  accountId: Number(r.account_id),
  email: r.email,
  name: r.name,
  role: r.role as UserRole,
  employeeId: r.employee_id === null ? null : Number(r.employee_id),
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
  createdAt: Number(r.created_at),
  passwordHash: r.password_hash,
});

const withoutPassword = ({ passwordHash: _hash, ...user }: UserWithPassword): User => user;

/**
 * Dashboard users, their sessions and the wrong-password counts, in the store
 * so that every process serving it agrees. Emails arrive already folded
 * (`emailKey`) where they are looked up.
 */
export class UserStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly guarded: Guarded,
  ) {}

  async create(input: { accountId: number; email: string; emailKey: string; name: string; role: UserRole; employeeId: number | null; passwordHash: string }): Promise<User> {
    return this.guarded(async () => {
      const now = Math.floor(Date.now() / 1000);
      const row = await this.db
        .insertInto('users')
        .values({
          account_id: input.accountId,
          email: input.email,
          email_key: input.emailKey,
          name: input.name,
          role: input.role,
          employee_id: input.employeeId,
          password_hash: input.passwordHash,
          disabled_at: null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return withoutPassword(toUser(row));
    });
  }

  async findByEmail(emailKey: string): Promise<UserWithPassword | null> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('users').selectAll().where('email_key', '=', emailKey).executeTakeFirst();
      return row ? toUser(row) : null;
    });
  }

  /** The user, or null: a session may outlive its user. */
  async find(id: number): Promise<User | null> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? withoutPassword(toUser(row)) : null;
    });
  }

  async list(accountId?: number): Promise<User[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('users')
        .selectAll()
        .$if(accountId !== undefined, (qb) => qb.where('account_id', '=', accountId!))
        .orderBy('account_id')
        .orderBy('id')
        .execute();
      return rows.map((r) => withoutPassword(toUser(r)));
    });
  }

  /** Disables a user and ends their sessions, in one transaction. False when there is no such user. */
  async disable(id: number): Promise<boolean> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const now = Math.floor(Date.now() / 1000);
        const updated = await trx.updateTable('users').set({ disabled_at: now, updated_at: now }).where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst();
        await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
        return Number(updated.numUpdatedRows) > 0;
      }),
    );
  }

  /** A new password ends every session the user had. */
  async setPasswordHash(id: number, passwordHash: string): Promise<void> {
    await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ password_hash: passwordHash, updated_at: Math.floor(Date.now() / 1000) }).where('id', '=', id).execute();
        await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
      }),
    );
  }

  // ---- sessions ----

  async createSession(session: SessionRow): Promise<void> {
    await this.guarded(() =>
      this.db
        .insertInto('user_sessions')
        .values({
          id_hash: session.idHash,
          account_id: session.accountId,
          user_id: session.userId,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
        })
        .execute(),
    );
  }

  /** The session and its user, whatever their state: the caller judges expiry. */
  async findSession(idHash: string): Promise<{ session: SessionRow; user: User } | null> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('user_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      if (!row) return null;
      const user = await this.db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
      if (!user) return null;
      return {
        session: {
          idHash: row.id_hash,
          accountId: Number(row.account_id),
          userId: Number(row.user_id),
          createdAt: Number(row.created_at),
          lastSeenAt: Number(row.last_seen_at),
          expiresAt: Number(row.expires_at),
        },
        user: withoutPassword(toUser(user)),
      };
    });
  }

  async touchSession(idHash: string, at: number): Promise<void> {
    await this.guarded(() => this.db.updateTable('user_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).where('last_seen_at', '<', at).execute());
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.guarded(() => this.db.deleteFrom('user_sessions').where('id_hash', '=', idHash).execute());
  }

  /** Deletes the sessions that have ended: unused since `idleBefore`, or past their cap at `now`. Returns how many. */
  async pruneSessions(idleBefore: number, now: number): Promise<number> {
    return this.guarded(async () => {
      const result = await this.db
        .deleteFrom('user_sessions')
        .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('expires_at', '<=', now)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  // ---- wrong passwords ----

  /** Until when sign-in for this email is locked (Unix ms), or null. */
  async lockedUntil(emailKey: string, now: number): Promise<number | null> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('sign_in_failures').select('locked_until').where('email_key', '=', emailKey).executeTakeFirst();
      const until = row?.locked_until === null || row?.locked_until === undefined ? null : Number(row.locked_until);
      return until !== null && until > now ? until : null;
    });
  }

  /**
   * Counts a wrong password, in one statement so that concurrent attempts all
   * count: the count restarts once `windowMs` has passed since the first
   * failure (or a lock has run out), and reaching `limit` locks the email for
   * `lockMs`. Returns the lock's end, or null.
   */
  async recordFailure(emailKey: string, now: number, rule: { limit: number; windowMs: number; lockMs: number }): Promise<number | null> {
    return this.guarded(async () => {
      const fresh = sql`(sign_in_failures.first_failure_at < ${now - rule.windowMs} OR (sign_in_failures.locked_until IS NOT NULL AND sign_in_failures.locked_until <= ${now}))`;
      const { rows } = await sql<{ locked_until: number | null }>`
        INSERT INTO sign_in_failures (email_key, failures, first_failure_at, locked_until)
        VALUES (${emailKey}, 1, ${now}, ${rule.limit <= 1 ? now + rule.lockMs : null})
        ON CONFLICT (email_key) DO UPDATE SET
          failures = CASE WHEN ${fresh} THEN 1 ELSE sign_in_failures.failures + 1 END,
          first_failure_at = CASE WHEN ${fresh} THEN ${now} ELSE sign_in_failures.first_failure_at END,
          locked_until = CASE
            WHEN ${fresh} THEN NULL
            WHEN sign_in_failures.failures + 1 >= ${rule.limit} THEN ${now + rule.lockMs}
            ELSE sign_in_failures.locked_until END
        RETURNING locked_until`.execute(this.db);
      const until = rows[0]?.locked_until;
      return until === null || until === undefined ? null : Number(until);
    });
  }

  async clearFailures(emailKey: string): Promise<void> {
    await this.guarded(() => this.db.deleteFrom('sign_in_failures').where('email_key', '=', emailKey).execute());
  }
}
