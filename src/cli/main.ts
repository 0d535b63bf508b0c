#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { issueClient } from '../admin.js';
import { loadConfig, type Config } from '../config.js';
import { createDemo, DEMO_ACCOUNT_NAME } from '../demo/seed.js';
import { DEFAULT_LIVE_RATE, startLiveCalls } from '../demo/live.js';
import { ALL_SCOPES } from '../domain/scopes.js';
import { formatDateTime, parseDateTime } from '../domain/time.js';
import { Store } from '../store/store.js';
import { databaseOption, forTerminal, jsonOption, nonNegativeInt, positiveInt, print, withStore } from './common.js';
import { ensureDemoCredentials } from './demo-credentials.js';
import { registerCallCommands } from './calls.js';
import { registerDirectoryCommands } from './directory.js';
import { registerImportCommand } from './import.js';
import { registerLoginCommand } from './login.js';
import { registerReportCommands } from './report.js';
import { registerTriggerCommands } from './trigger.js';
import { registerAccountCommands } from './accounts.js';
import { registerWebhookCommands } from './webhooks.js';
import { registerUserCommands } from './users.js';
import { SETTINGS } from '../settings.js';
import { VERSION } from '../version.js';
import { serverOption } from './setting-options.js';

function progressReporter(enabled: boolean) {
  if (!enabled) return undefined;
  let last = 0;
  return (done: number, total: number) => {
    const now = Date.now();
    if (now - last < 250 && done < total) return;
    last = now;
    process.stderr.write(`\r  calls: ${done.toLocaleString('en')} / ${total.toLocaleString('en')}${done >= total ? '\n' : ''}`);
  };
}

/** Calls the demo account gets, for `serve --demo` and `demo` alike. */
const DEMO_CALLS = 20000;

const program = new Command()
  .name('sipsim')
  .description('A self-hostable implementation of the SIPSIM API v2')
  .showHelpAfterError()
  .version(VERSION);

program
  .command('serve')
  .description('serve the API (migrates the store first, unless --no-migrate)')
  .addOption(serverOption(SETTINGS.port))
  .addOption(serverOption(SETTINGS.host))
  .addOption(databaseOption())
  .addOption(serverOption(SETTINGS.logLevel))
  .option('--demo', 'create the demo account on a fresh store and print credentials for it')
  .option('--demo-calls <n>', 'how many demo calls to create', positiveInt('--demo-calls'), DEMO_CALLS)
  .option('--live [rate]', `with --demo: keep making calls on the demo account, played in real time, about RATE a minute (default ${DEFAULT_LIVE_RATE})`)
  .addOption(serverOption(SETTINGS.workers))
  .option('--no-migrate', 'do not apply pending migrations first (run `sipsim migrate` as a step of its own)')
  .action(async (opts) => {
    const config = loadConfig({
      databaseUrl: opts.database,
      host: opts.host,
      port: opts.port,
      logLevel: opts.logLevel,
      workers: opts.workers,
      // Commander sets migrate to true unless --no-migrate is given.
      migrate: opts.migrate === false ? false : undefined,
      demo: opts.demo === true,
    });
    // The server's modules (HTTP, metrics, Redis) load only for this command, so
    // that the directory and admin commands start quickly.
    const rate = liveRate(opts.live, opts.demo === true, config.workers);
    const { runServer } = await import('../server.js');
    let demoAccountId: number | null = null;
    await runServer({
      config,
      prepare: opts.demo
        ? async (store) => {
            const prepared = await prepareDemo(store, config, opts.demoCalls);
            demoAccountId = prepared.accountId;
            return prepared.banner;
          }
        : undefined,
      whileServing:
        rate === null
          ? undefined
          : (store) => {
              if (demoAccountId === null) return null;
              process.stdout.write(`Live calls: about ${rate} a minute on the demo account, played in real time.\n`);
              return startLiveCalls(store, demoAccountId, {
                perMinute: rate,
                onError: (error) => process.stderr.write(`sipsim: a live call failed: ${(error as Error).message}\n`),
              });
            },
    });
  });

/** `--live [rate]`: null when not asked for; a positive number of calls a minute otherwise. */
function liveRate(value: string | boolean | undefined, demo: boolean, workers: string | number): number | null {
  if (value === undefined || value === false) return null;
  if (!demo) throw new InvalidArgumentError('--live makes calls on the demo account: give --demo too');
  if (String(workers) !== '1') throw new InvalidArgumentError('--live runs in a single process: use --workers 1');
  if (value === true) return DEFAULT_LIVE_RATE;
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(rate > 0) || rate > 600) throw new InvalidArgumentError('--live RATE must be a number of calls a minute, above 0 and at most 600');
  return rate;
}

/** Creates the demo account on an empty store and returns the banner for it. */
async function prepareDemo(store: Store, config: Config, calls: number): Promise<{ banner: string | null; accountId: number | null }> {
  const accounts = await store.accounts.list();
  let demoAccount = accounts.find((a) => a.name === DEMO_ACCOUNT_NAME);
  if (!demoAccount && accounts.length === 0) {
    process.stderr.write(`Creating demo data (${calls.toLocaleString('en')} calls)...\n`);
    const demo = await createDemo(store, { calls, onProgress: progressReporter(process.stderr.isTTY) });
    demoAccount = await store.accounts.get(demo.accountId);
  }
  if (demoAccount) return { banner: await ensureDemoCredentials(store, config, demoAccount.id), accountId: demoAccount.id };
  process.stderr.write(
    'This store already holds accounts, so no demo data was added. Create credentials with: sipsim clients create --account ID\n',
  );
  return { banner: null, accountId: null };
}

program
  .command('migrate')
  .description('create or update the schema')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const applied = await withStore(opts.database, (store) => store.migrate(), { migrate: false, create: true });
    print(opts.json, { applied }, applied.length ? `Applied: ${applied.join(', ')}` : 'The schema is up to date');
  });

program
  .command('demo')
  .description('create a demo account with employees, phones, tags and calls')
  .addOption(databaseOption())
  .option('--seed <n>', 'seed for the generator (same seed, same history)', nonNegativeInt('--seed'), 42)
  .option('--calls <n>', 'number of calls', positiveInt('--calls'), DEMO_CALLS)
  .option('--until <time>', 'newest call start (ISO 8601); defaults to now')
  .option('--reset', `delete every account named '${DEMO_ACCOUNT_NAME}' first, with all of it, so the demo starts as new`)
  .addOption(jsonOption())
  .action(async (opts) => {
    let until: number | undefined;
    if (opts.until) {
      const parsed = parseDateTime(opts.until);
      if (!parsed) throw new InvalidArgumentError('--until must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z');
      until = parsed.seconds;
    }
    const started = Date.now();
    // Ctrl-C part-way leaves a demo account with some of its calls: say which, and how to clear it.
    const made = { accountId: 0, calls: 0 };
    const interrupted = () => {
      process.stderr.write(
        made.accountId
          ? `\nInterrupted: demo account ${made.accountId} has ${made.calls.toLocaleString('en')} of ${opts.calls.toLocaleString('en')} calls and no client yet. Remove it with: sipsim accounts delete ${made.accountId} --yes (or start over with: sipsim demo --reset)\n`
          : '\nInterrupted before the demo account was created: nothing was added.\n',
      );
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const demo = await withStore(
      opts.database,
      async (store) => {
        if (opts.reset) {
          for (const account of (await store.accounts.list()).filter((a) => a.name === DEMO_ACCOUNT_NAME)) {
            await store.accounts.delete(account.id);
            if (!opts.json) process.stderr.write(`Deleted the previous demo account ${account.id}.\n`);
          }
        }
        const report = progressReporter(!opts.json && process.stderr.isTTY);
        return createDemo(store, {
          seed: opts.seed,
          calls: opts.calls,
          until,
          onAccount: (id) => (made.accountId = id),
          onProgress: (done, total) => {
            made.calls = done;
            report?.(done, total);
          },
        });
      },
      { create: true },
    );
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    const seconds = (Date.now() - started) / 1000;
    print(
      opts.json,
      { account_id: demo.accountId, client_id: demo.client.clientId, client_secret: demo.clientSecret, calls: demo.calls },
      [
        `Demo account ${demo.accountId} created with ${demo.calls.toLocaleString('en')} calls in ${seconds.toFixed(1)} s.`,
        `client_id:     ${demo.client.clientId}`,
        `client_secret: ${demo.clientSecret}   (shown once)`,
      ].join('\n'),
    );
  });

const accounts = program.command('accounts').description('manage accounts');
accounts
  .command('create')
  .description('create an account')
  .requiredOption('--name <name>', 'company name')
  .option('--email <email>', 'contact email')
  .option('--timezone <zone>', 'IANA time zone', 'UTC')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const account = await withStore(opts.database, (store) =>
      store.accounts.create({ name: opts.name, email: opts.email ?? null, timezone: opts.timezone }),
    );
    print(opts.json, { account_id: account.id, name: account.name }, `Account ${account.id} created: ${account.name}`);
  });
accounts
  .command('list')
  .description('list accounts')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const list = await withStore(opts.database, (store) => store.accounts.list());
    print(
      opts.json,
      list.map((a) => ({ account_id: a.id, name: a.name, email: a.email, timezone: a.timezone, created_at: formatDateTime(a.createdAt) })),
      list.length ? list.map((a) => `${a.id}\t${a.name}`).join('\n') : 'No accounts',
    );
  });

registerAccountCommands(accounts);

const clients = program.command('clients').description('manage OAuth clients');
clients
  .command('create')
  .description('register an OAuth client; its secret is printed once')
  .requiredOption('--account <id>', 'account id', positiveInt('--account'))
  .option('--scopes <scopes>', `space-separated scopes (default: all of ${ALL_SCOPES.join(' ')})`)
  .option('--name <name>', 'a label for the client', 'API client')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const issued = await withStore(opts.database, (store) =>
      issueClient(store, opts.account, { name: opts.name, scopes: opts.scopes }),
    );
    print(
      opts.json,
      { client_id: issued.client.clientId, client_secret: issued.clientSecret, account_id: opts.account, scopes: issued.client.scopes },
      [
        `client_id:     ${issued.client.clientId}`,
        `client_secret: ${issued.clientSecret}   (shown once; store it now)`,
        `scopes:        ${issued.client.scopes.join(' ')}`,
      ].join('\n'),
    );
  });
clients
  .command('list')
  .description('list OAuth clients (never their secrets)')
  .option('--account <id>', 'only this account', positiveInt('--account'))
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const list = await withStore(opts.database, (store) => store.credentials.listClients(opts.account));
    print(
      opts.json,
      list.map((c) => ({
        client_id: c.clientId,
        account_id: c.accountId,
        name: c.name,
        scopes: c.scopes,
        created_at: formatDateTime(c.createdAt),
        revoked_at: c.revokedAt === null ? null : formatDateTime(c.revokedAt),
      })),
      list.length
        ? list.map((c) => `${c.clientId}\taccount ${c.accountId}\t${c.revokedAt ? 'revoked' : 'active'}\t${c.name}`).join('\n')
        : 'No clients',
    );
  });
clients
  .command('revoke')
  .description('revoke a client and every token issued to it')
  .argument('<client_id>')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (clientId: string, opts) => {
    const revoked = await withStore(opts.database, (store) => store.credentials.revokeClient(clientId));
    if (!revoked) {
      process.stderr.write(`No active client '${clientId}'\n`);
      process.exitCode = 1;
    }
    print(opts.json, { client_id: clientId, revoked }, revoked ? `Client ${clientId} revoked` : '');
  });

registerDirectoryCommands(program);
registerCallCommands(program);
registerReportCommands(program);
registerTriggerCommands(program);
registerLoginCommand(program);
registerImportCommand(program);
registerWebhookCommands(program);
registerUserCommands(program);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(forTerminal(`sipsim: ${error instanceof Error ? error.message : String(error)}\n`));
  process.exit(1);
});
