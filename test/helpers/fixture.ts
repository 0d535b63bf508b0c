import type { ClickToCallService } from '../../src/click-to-call/service.js';
import type { FastifyInstance } from 'fastify';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { deriveCall, type CallInput } from '../../src/domain/call.js';
import { parseDateTime } from '../../src/domain/time.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore, type EngineName } from './engines.js';
import { checkEveryAnswer } from './openapi-checker.js';

/** Rate limits are off: suites that send thousands of requests are not about them (test/api/rate-limit.test.ts is). */
export const TEST_CONFIG = { logLevel: 'silent', tokenTtlSeconds: 7200, bodyLimit: 1048576, rateLimit: { enabled: false } } as const;

export const at = (iso: string): number => parseDateTime(iso)!.seconds;

/** A call input with sensible defaults, for tests that care about a few fields. */
export function callInput(overrides: Partial<CallInput> & { start: string }): CallInput {
  const startTime = at(overrides.start);
  return {
    direction: 'inbound',
    callerNumber: '+33612345678',
    targetNumber: '+33198765432',
    sipCode: 200,
    answeredTime: startTime + 5,
    answeredPhoneNumber: '+33198765432',
    startTime,
    endTime: startTime + 125,
    ...overrides,
  };
}

export interface ApiHarness {
  app: FastifyInstance;
  store: Store;
  /** The store's database, for a second process (a second Store) on it. */
  databaseUrl: string;
  accountId: number;
  /** A bearer token for the account with the given scopes (all when omitted). */
  token(scopes?: string, accountId?: number): Promise<string>;
  insert(calls: Array<CallInput & { tagIds?: number[] }>, accountId?: number): Promise<number[]>;
  close(): Promise<void>;
}

export async function createHarness(
  engine: EngineName,
  options: { clickToCall?: (store: Store) => ClickToCallService } = {},
): Promise<ApiHarness> {
  const { store, database, close } = await openTestStore(engine);
  const account = await store.accounts.create({ name: 'Acme Corporation', email: 'admin@acme.example' });
  const clickToCall = options.clickToCall?.(store) ?? null;
  const app = buildApp({ store, config: TEST_CONFIG, clickToCall });
  await app.ready();
  // Every answer a test gets is also checked against the OpenAPI document.
  await checkEveryAnswer(app);
  return {
    app,
    store,
    databaseUrl: database.url,
    accountId: account.id,
    async token(scopes, accountId = account.id) {
      const { client, clientSecret } = await issueClient(store, accountId, { scopes });
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
      });
      return response.json().access_token as string;
    },
    insert(calls, accountId = account.id) {
      return store.ingest.insertCalls(
        accountId,
        calls.map((c) => ({ ...deriveCall(c), tagIds: c.tagIds })),
      );
    },
    async close() {
      await app.close();
      await clickToCall?.close();
      await close();
    },
  };
}
