import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { issueClient } from '../admin.js';
import type { Config } from '../config.js';
import { hashSecret, newAccessToken, secretMatches } from '../domain/credentials.js';
import { formatDateTime, nowSeconds } from '../domain/time.js';
import { parseDatabaseUrl } from '../store/engine.js';
import type { Store } from '../store/store.js';
import { passwordMatches } from '../domain/passwords.js';
import { UserService } from '../users/service.js';

/** The demo's dashboard admin, created by `npm start` beside the demo API client. */
export const DEMO_ADMIN_EMAIL = 'admin@demo.sipsim.local';

/**
 * The store keeps only hashes of client secrets, so the demo client's secret is
 * kept where a user keeps any credential: a file of their own (mode 0600) beside
 * the database. `npm start` then prints the same credentials on every start.
 */
export function demoCredentialsPath(databaseUrl: string): string {
  const location = parseDatabaseUrl(databaseUrl);
  if (location.engine === 'sqlite' && location.path !== ':memory:') return `${location.path}.demo-credentials.json`;
  const key = createHash('sha256').update(databaseUrl).digest('hex').slice(0, 12);
  return resolve('data', `demo-credentials-${key}.json`);
}

interface SavedCredentials {
  account_id: number;
  client_id: string;
  client_secret: string;
  dashboard_email?: string;
  dashboard_password?: string;
}

function save(path: string, saved: SavedCredentials): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The demo admin, with the saved password: created the first time, and given
 * a new password when the saved one no longer signs in (the file was lost, or
 * the password changed), so that the banner always prints one that works.
 */
async function ensureDemoAdmin(store: Store, accountId: number, saved: SavedCredentials): Promise<{ email: string; password: string; changed: boolean }> {
  const users = new UserService(store);
  const existing = await store.users.findByEmail(DEMO_ADMIN_EMAIL);
  const password = saved.dashboard_password;
  if (existing && existing.accountId === accountId && existing.disabledAt === null && password && (await passwordMatches(password, existing.passwordHash))) {
    return { email: existing.email, password, changed: false };
  }
  const fresh = randomBytes(12).toString('base64url');
  if (!existing) {
    await users.createUser({ accountId, email: DEMO_ADMIN_EMAIL, name: 'Demo admin', role: 'admin', password: fresh });
  } else if (existing.accountId === accountId) {
    await users.setPassword(existing.id, fresh);
  } else {
    return { email: '', password: '', changed: false };
  }
  return { email: DEMO_ADMIN_EMAIL, password: fresh, changed: true };
}

function readSaved(path: string): SavedCredentials | null {
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as SavedCredentials;
    return typeof saved.client_id === 'string' && typeof saved.client_secret === 'string' ? saved : null;
  } catch {
    return null;
  }
}

/** Returns the banner that tells a newcomer how to call the API; `{BASE_URL}` is filled in by the caller. */
export async function ensureDemoCredentials(store: Store, config: Config, accountId: number): Promise<string> {
  const path = demoCredentialsPath(config.databaseUrl);
  let saved = readSaved(path);
  const client = saved ? await store.credentials.findClient(saved.client_id) : null;
  if (!saved || !client || client.revokedAt !== null || client.accountId !== accountId || !secretMatches(saved.client_secret, client.secretHash)) {
    const issued = await issueClient(store, accountId, { name: 'Demo client (npm start)' });
    saved = { account_id: accountId, client_id: issued.client.clientId, client_secret: issued.clientSecret };
    save(path, saved);
  }
  const admin = await ensureDemoAdmin(store, accountId, saved);
  if (admin.changed) {
    saved = { ...saved, dashboard_email: admin.email, dashboard_password: admin.password };
    save(path, saved);
  }

  // A ready token, so that the first curl works as pasted.
  const token = newAccessToken();
  const createdAt = nowSeconds();
  const scopes = (await store.credentials.findClient(saved.client_id))!.scopes;
  await store.credentials.saveToken({
    tokenHash: hashSecret(token),
    accountId,
    clientId: saved.client_id,
    scopes,
    createdAt,
    expiresAt: createdAt + config.tokenTtlSeconds,
  });
  const weekAgo = formatDateTime(Math.floor(createdAt / 86400) * 86400 - 7 * 86400);
  return [
    '',
    ...(admin.email
      ? [`Dashboard: {BASE_URL}/`, `  sign in as:    ${admin.email}`, `  password:      ${admin.password}`, '']
      : []),
    `Demo account ${accountId} (credentials saved in ${path})`,
    `  client_id:     ${saved.client_id}`,
    `  client_secret: ${saved.client_secret}`,
    '',
    'Get an access token:',
    `  curl -X POST {BASE_URL}/oauth/token -d grant_type=client_credentials -d client_id=${saved.client_id} -d client_secret=${saved.client_secret}`,
    '',
    `List last week's calls with a token valid for ${Math.round(config.tokenTtlSeconds / 60)} minutes:`,
    `  curl -H "Authorization: Bearer ${token}" "{BASE_URL}/api/v2/calls?start_time=${weekAgo}&limit=20"`,
    '',
    'For the sipsim client commands and the SDK in another shell (from this folder they find these by themselves):',
    '  export SIPSIM_API_URL={BASE_URL}',
    `  export SIPSIM_CLIENT_ID=${saved.client_id}`,
    `  export SIPSIM_CLIENT_SECRET=${saved.client_secret}`,
    '',
    'Interactive docs: {BASE_URL}/docs',
    `  Authorize (oauth2, client credentials): client_id ${saved.client_id}, client_secret ${saved.client_secret}`,
    '',
  ].join('\n');
}
