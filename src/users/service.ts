import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ALL_SCOPES, type Scope } from '../domain/scopes.js';
import { decoyHash, emailKey, hashPassword, isEmail, passwordMatches, passwordProblem, type ScryptCost } from '../domain/passwords.js';
import type { Store } from '../store/store.js';
import { USER_ROLES, type User, type UserRole } from '../store/user-store.js';

/** What a member may do: calls, reports and tags, not integrations, settings or API clients. */
export const MEMBER_SCOPES: readonly Scope[] = [
  'account.read',
  'calls.read',
  'calls.create',
  'calls.tags.write',
  'calls.transcription.read',
  'calls.summary.read',
  'phones.read',
  'tags.read',
  'tags.write',
];

export function scopesOfRole(role: UserRole): Scope[] {
  return role === 'admin' ? [...ALL_SCOPES] : [...MEMBER_SCOPES];
}

export interface SessionSettings {
  /** A session unused this long ends. */
  idleMinutes: number;
  /** A session ends this long after sign-in, however much it is used. */
  maxHours: number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = Object.freeze({ idleMinutes: 720, maxHours: 168 });

/** Wrong passwords for one email: this many within the window lock it for the lock time. */
export const SIGN_IN_RULE = Object.freeze({ limit: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 });

/** The last-seen time is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export class UserInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

export type SignInResult =
  | { ok: true; user: User; sessionId: string; expiresAt: number }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

export interface ActiveSession {
  user: User;
  idHash: string;
  /** When the session ends if unused from now on (Unix ms). */
  expiresAt: number;
  csrfToken: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The session's CSRF token: derived from the session id, which only the
 * cookie's holder knows, so it needs no storage and stays the same for the
 * whole session (several tabs agree on it).
 */
export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('sipsim csrf').digest('base64url');
}

export function csrfTokenMatches(sessionId: string, given: string): boolean {
  const expected = Buffer.from(csrfTokenOf(sessionId));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** People who sign in to the dashboard: their accounts, passwords and sessions. */
export class UserService {
  constructor(
    private readonly store: Store,
    private readonly settings: SessionSettings = DEFAULT_SESSION_SETTINGS,
    private readonly cost?: ScryptCost,
  ) {}

  async createUser(input: { accountId: number; email: string; name: string; role?: string; employeeId?: number | null; password: string }): Promise<User> {
    const email = input.email.trim();
    if (!isEmail(email)) throw new UserInputError(`'${input.email}' is not an email address`);
    const name = input.name.trim();
    if (!name) throw new UserInputError('A user needs a name');
    const role = (input.role ?? 'member') as UserRole;
    if (!USER_ROLES.includes(role)) throw new UserInputError(`Unknown role '${input.role}': use admin or member`);
    const problem = passwordProblem(input.password);
    if (problem) throw new UserInputError(`Cannot use this password: ${problem}`);
    if (!(await this.store.accounts.find(input.accountId))) throw new UserInputError(`No account with id ${input.accountId}`);
    const employeeId = input.employeeId ?? null;
    if (employeeId !== null && !(await this.store.directory.findEmployee(input.accountId, employeeId))) {
      throw new UserInputError(`No employee ${employeeId} in account ${input.accountId}`);
    }
    if (await this.store.users.findByEmail(emailKey(email))) throw new UserInputError(`A user with email ${email} exists already`);
    return this.store.users.create({
      accountId: input.accountId,
      email,
      emailKey: emailKey(email),
      name,
      role,
      employeeId,
      passwordHash: await hashPassword(input.password, this.cost),
    });
  }

  async findByEmail(email: string): Promise<User | null> {
    const found = await this.store.users.findByEmail(emailKey(email));
    if (!found) return null;
    const { passwordHash: _hash, ...user } = found;
    return user;
  }

  async setPassword(userId: number, password: string): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw new UserInputError(`Cannot use this password: ${problem}`);
    await this.store.users.setPasswordHash(userId, await hashPassword(password, this.cost));
  }

  /**
   * Checks a password and opens a session. An unknown email, a disabled user
   * and a wrong password look the same from outside, in the answer and (by
   * checking a decoy hash) in the time taken; each counts towards the lock.
   */
  async signIn(email: string, password: string, now = Date.now()): Promise<SignInResult> {
    const key = emailKey(email);
    const lockedUntil = await this.store.users.lockedUntil(key, now);
    if (lockedUntil !== null) return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil((lockedUntil - now) / 1000) };
    const found = await this.store.users.findByEmail(key);
    const matches = await passwordMatches(password, found?.passwordHash ?? (await decoyHash()));
    if (!found || !matches || found.disabledAt !== null) {
      const locked = await this.store.users.recordFailure(key, now, SIGN_IN_RULE);
      if (locked !== null) return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil((locked - now) / 1000) };
      return { ok: false, reason: 'invalid' };
    }
    await this.store.users.clearFailures(key);
    // Ended sessions go when someone signs in, so that the table holds only live ones and a few stale.
    await this.store.users.pruneSessions(now - this.idleMs, now);
    const sessionId = randomBytes(32).toString('base64url');
    await this.store.users.createSession({
      idHash: sha256(sessionId),
      accountId: found.accountId,
      userId: found.id,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.settings.maxHours * 3_600_000,
    });
    const { passwordHash: _hash, ...user } = found;
    return { ok: true, user, sessionId, expiresAt: Math.min(now + this.idleMs, now + this.settings.maxHours * 3_600_000) };
  }

  private get idleMs(): number {
    return this.settings.idleMinutes * 60_000;
  }

  /** The live session a cookie names, its idle timer restarted; null when unknown, idle, past its cap or its user disabled. */
  async resolveSession(sessionId: string, now = Date.now()): Promise<ActiveSession | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(sessionId)) return null;
    const idHash = sha256(sessionId);
    const found = await this.store.users.findSession(idHash);
    if (!found) return null;
    const { session, user } = found;
    if (user.disabledAt !== null || session.lastSeenAt + this.idleMs <= now || session.expiresAt <= now) {
      await this.store.users.deleteSession(idHash);
      return null;
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await this.store.users.touchSession(idHash, now);
    return { user, idHash, expiresAt: Math.min(now + this.idleMs, session.expiresAt), csrfToken: csrfTokenOf(sessionId) };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.store.users.deleteSession(sha256(sessionId));
  }
}
