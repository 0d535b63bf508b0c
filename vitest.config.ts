import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Four projects, from fastest to slowest; `npm test` runs them all.
 * - unit: pure code and loopback sockets; no build, no database, no Redis.
 * - integration: the app and the store, on SQLite and (when configured) PostgreSQL and Redis.
 * - types: the type checker over the project and over the README's TypeScript.
 * - e2e: the built `sipsim` command, real clients and the dashboard in Chromium; builds dist/ first.
 */
const UNIT = [
  'test/domain/**/*.test.ts',
  'test/ingest/**/*.test.ts',
  'test/sip/**/*.test.ts',
  'test/sdk/sdk-faults.test.ts',
  'test/sdk/webhooks.test.ts',
  'test/store/connection-errors.test.ts',
];
const TYPES = ['test/types/**/*.test.ts'];
const E2E = ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts'];

const shared = {
  testTimeout: 30000,
  hookTimeout: 60000,
};

/**
 * Test files at once, for all four projects together (vitest runs projects of one
 * `sequence.groupOrder` in one pool, so unit and types run alongside the slow ones).
 * vitest's default, one less than the cores, is a single worker on a 2-core machine:
 * every file then waits for the one before, though an end-to-end file spends most of
 * its time waiting on the processes it starts (the built CLI, a server, Chromium,
 * PostgreSQL). One worker per core, at least two, fills those waits without more
 * workers than cores (cores + 1 timed out more tests on a loaded machine).
 * `--maxWorkers=N` on the command line still wins.
 */
const WORKERS = Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    ...shared,
    maxWorkers: WORKERS,
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...TYPES, ...E2E],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      { extends: true, test: { name: 'types', include: TYPES, testTimeout: 180000 } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          globalSetup: ['test/helpers/build-setup.ts', 'test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
