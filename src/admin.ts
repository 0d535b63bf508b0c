import { hashSecret, newClientId, newClientSecret } from './domain/credentials.js';
import { ALL_SCOPES, parseScopeList, unknownScopes } from './domain/scopes.js';
import type { OAuthClient, Store } from './store/store.js';

export interface IssuedClient {
  client: OAuthClient;
  /** Shown once; only its hash is stored. */
  clientSecret: string;
}

/** Registers an OAuth client for an account. Scopes default to every scope. */
export async function issueClient(
  store: Store,
  accountId: number,
  options: { name?: string; scopes?: string } = {},
): Promise<IssuedClient> {
  const account = await store.accounts.find(accountId);
  if (!account) throw new Error(`No account with id ${accountId}`);
  const scopes = options.scopes === undefined ? [...ALL_SCOPES] : parseScopeList(options.scopes);
  const unknown = unknownScopes(scopes);
  if (unknown.length) throw new Error(`Unknown scope: ${unknown.join(', ')} (known: ${ALL_SCOPES.join(' ')})`);
  if (scopes.length === 0) throw new Error('A client needs at least one scope');
  const clientSecret = newClientSecret();
  const client = await store.credentials.createClient({
    clientId: newClientId(),
    accountId,
    name: options.name ?? 'API client',
    secretHash: hashSecret(clientSecret),
    scopes,
  });
  return { client, clientSecret };
}
