#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { issueClient } from '../admin.js';
import { buildApp } from '../api/app.js';
import { loadConfig } from '../config.js';
import { createDemo, DEMO_ACCOUNT_NAME } from '../demo/seed.js';
import { ALL_SCOPES } from '../domain/scopes.js';
import { formatDateTime, parseDateTime } from '../domain/time.js';
import { DEFAULT_DATABASE_URL } from '../store/engine.js';
import { Store } from '../store/store.js';
import { ensureDemoCredentials } from './demo-credentials.js';

const databaseOption = () =>
  new Option('--database <url>', 'sqlite:PATH or postgres://USER@HOST/DB').env('SIPSIM_DATABASE_URL').default(DEFAULT_DATABASE_URL);
const jsonOption = () => new Option('--json', 'print machine-readable JSON');

function positiveInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return Number(value);
  };
}

function nonNegativeInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(value);
  };
}

/** Opens the store (migrated unless told otherwise), runs the action, and always closes the store. */
async function withStore<T>(databaseUrl: string, action: (store: Store) => Promise<T>, options = { migrate: true }): Promise<T> {
  const store = Store.open(databaseUrl);
  try {
    if (options.migrate) await store.migrate();
    return await action(store);
  } finally {
    await store.close();
  }
}

function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

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

const program = new Command()
  .name('sipsim')
  .description('A self-hostable implementation of the SIPSIM API v2')
  .showHelpAfterError()
  .version('0.1.0');

program
  .command('serve')
  .description('serve the API (migrates the store first)')
  .option('--port <port>', 'port to listen on', process.env.SIPSIM_PORT ?? '3000')
  .option('--host <host>', 'address to listen on', process.env.SIPSIM_HOST ?? '127.0.0.1')
  .addOption(databaseOption())
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', process.env.SIPSIM_LOG_LEVEL ?? 'info')
  .option('--demo', 'create the demo account on a fresh store and print credentials for it')
  .option('--demo-calls <n>', 'how many demo calls to create', positiveInt('--demo-calls'), 20000)
  .action(async (opts) => {
    const config = loadConfig({ databaseUrl: opts.database, host: opts.host, port: opts.port, logLevel: opts.logLevel });
    const store = Store.open(config.databaseUrl);
    await store.migrate();
    let banner: string | null = null;
    if (opts.demo) {
      const accounts = await store.listAccounts();
      let demoAccount = accounts.find((a) => a.name === DEMO_ACCOUNT_NAME);
      if (!demoAccount && accounts.length === 0) {
        process.stderr.write(`Creating demo data (${opts.demoCalls.toLocaleString('en')} calls)...\n`);
        const demo = await createDemo(store, { calls: opts.demoCalls, onProgress: progressReporter(process.stderr.isTTY) });
        demoAccount = (await store.getAccount(demo.accountId))!;
      }
      if (demoAccount) banner = await ensureDemoCredentials(store, config, demoAccount.id);
      else {
        process.stderr.write(
          'This store already holds accounts, so no demo data was added. Create credentials with: sipsim clients create --account ID\n',
        );
      }
    }
    const app = buildApp({ store, config });
    const shutdown = async (signal: string) => {
      app.log.info({ signal }, 'shutting down');
      await app.close();
      await store.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    const address = await app.listen({ port: config.port, host: config.host });
    const base = address.replace('[::1]', 'localhost');
    process.stdout.write(`sipsim is serving ${store.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} at ${base}\n`);
    if (banner) process.stdout.write(banner.replaceAll('{BASE_URL}', base));
  });

program
  .command('migrate')
  .description('create or update the schema')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const applied = await withStore(opts.database, (store) => store.migrate(), { migrate: false });
    print(opts.json, { applied }, applied.length ? `Applied: ${applied.join(', ')}` : 'The schema is up to date');
  });

program
  .command('demo')
  .description('create a demo account with employees, phones, tags and calls')
  .addOption(databaseOption())
  .option('--seed <n>', 'seed for the generator (same seed, same history)', nonNegativeInt('--seed'), 42)
  .option('--calls <n>', 'number of calls', positiveInt('--calls'), 20000)
  .option('--until <time>', 'newest call start (ISO 8601); defaults to now')
  .addOption(jsonOption())
  .action(async (opts) => {
    let until: number | undefined;
    if (opts.until) {
      const parsed = parseDateTime(opts.until);
      if (!parsed) throw new InvalidArgumentError('--until must be an ISO 8601 date-time such as 2026-11-01T00:00:00Z');
      until = parsed.seconds;
    }
    const started = Date.now();
    const demo = await withStore(opts.database, (store) =>
      createDemo(store, { seed: opts.seed, calls: opts.calls, until, onProgress: progressReporter(!opts.json && process.stderr.isTTY) }),
    );
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
      store.createAccount({ name: opts.name, email: opts.email ?? null, timezone: opts.timezone }),
    );
    print(opts.json, { account_id: account.id, name: account.name }, `Account ${account.id} created: ${account.name}`);
  });
accounts
  .command('list')
  .description('list accounts')
  .addOption(databaseOption())
  .addOption(jsonOption())
  .action(async (opts) => {
    const list = await withStore(opts.database, (store) => store.listAccounts());
    print(
      opts.json,
      list.map((a) => ({ account_id: a.id, name: a.name, email: a.email, timezone: a.timezone, created_at: formatDateTime(a.createdAt) })),
      list.length ? list.map((a) => `${a.id}\t${a.name}`).join('\n') : 'No accounts',
    );
  });

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
    const list = await withStore(opts.database, (store) => store.listClients(opts.account));
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
    const revoked = await withStore(opts.database, (store) => store.revokeClient(clientId));
    if (!revoked) {
      process.stderr.write(`No active client '${clientId}'\n`);
      process.exitCode = 1;
    }
    print(opts.json, { client_id: clientId, revoked }, revoked ? `Client ${clientId} revoked` : '');
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`sipsim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
