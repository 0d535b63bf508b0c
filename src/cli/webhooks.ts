import { Option, type Command } from 'commander';
import { loadWebhookConfig } from '../config.js';
import type { Store } from '../store/store.js';
import { DELIVERY_STATUSES, type WebhookDelivery, type WebhookSettings } from '../store/webhook-store.js';
import { checkWebhookUrl, deliveryJson, maskSecret, redeliverIds, sendTestEvent, testOutcome } from '../webhooks/admin.js';
import { WEBHOOK_EVENTS } from '../domain/webhook-events.js';
import { accountOption, action, CliError, databaseOption, jsonOption, positiveInt, print, requireAccount, table, withStore } from './common.js';

/**
 * `sipsim webhooks`: what the SIPSIM dashboard does for webhooks, for whoever
 * runs sipsim. The URL is set here only (the API manages event subscriptions,
 * not the URL, as SIPSIM's does); the signing secret is shown and rotated here;
 * the test event is sent from here and its outcome shown at once; and the
 * outbox can be inspected and failed deliveries queued again.
 */

const MAX_LIST = 1000;
const ERROR_COLUMN = 60;

const subscribable = WEBHOOK_EVENTS as readonly string[];

/** `--events`: a comma list of event names, or all, or none. */
function parseEvents(text: string): string[] {
  const names = text.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return [...WEBHOOK_EVENTS];
  if (names.length === 1 && names[0] === 'none') return [];
  if (!names.length) throw new CliError('--events is empty: give event names separated by commas, or all, or none');
  if (names.includes('all') || names.includes('none')) throw new CliError('--events: all and none stand alone, not in a list');
  if (names.includes('test')) throw new CliError('--events: test is not subscribed to; it is sent on request with `sipsim webhooks test`');
  const unknown = names.filter((n) => !subscribable.includes(n));
  if (unknown.length) {
    throw new CliError(`--events: unknown event${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}\nThe events are: ${WEBHOOK_EVENTS.join(', ')}`);
  }
  // In SIPSIM's order, once each: the order they were typed in means nothing.
  return WEBHOOK_EVENTS.filter((e) => names.includes(e));
}

function describeEvents(events: string[]): string {
  if (events.length === WEBHOOK_EVENTS.length) return `all ${events.length} events`;
  if (!events.length) return 'none (nothing is delivered until some are enabled)';
  return `${events.join(', ')} (${events.length} of ${WEBHOOK_EVENTS.length})`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** To the second: a table has no room for milliseconds. */
const shortIso = (ms: number | null) => iso(ms)?.replace(/\.\d{3}Z$/, 'Z') ?? null;
const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function lastResult(d: WebhookDelivery): string | null {
  if (d.status === 'delivered') return d.lastStatus === null ? 'delivered' : `HTTP ${d.lastStatus}`;
  if (d.lastError) return truncate(d.lastError.replace(/\s+/g, ' '), ERROR_COLUMN);
  return d.lastStatus === null ? null : `HTTP ${d.lastStatus}`;
}

const setUrlHint = (accountId: number) => `set one with: sipsim webhooks set-url URL --account ${accountId}`;

async function requireUrl(store: Store, accountId: number): Promise<WebhookSettings & { url: string }> {
  const settings = await store.webhooks.settings(accountId);
  if (!settings?.url) throw new CliError(`Account ${accountId} has no webhook URL; ${setUrlHint(accountId)}`);
  return settings as WebhookSettings & { url: string };
}

/** Delivery ids from arguments such as `4 7` or `4,7`. */
function parseIds(args: string[]): number[] {
  const parts = args.flatMap((a) => a.split(',')).map((p) => p.trim()).filter(Boolean);
  for (const part of parts) {
    if (!/^\d+$/.test(part) || Number(part) < 1) throw new CliError(`Not a delivery id: '${part}'`);
  }
  return [...new Set(parts.map(Number))];
}

export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description("an account's webhook: its URL and events, its signing secret, a test send, and the deliveries");

  webhooks
    .command('set-url')
    .description('set where events are posted: an https:// URL, or http:// to the loopback or to a host in SIPSIM_WEBHOOK_ALLOW_HTTP')
    .argument('<url>', 'the receiving endpoint')
    .addOption(accountOption())
    .option('--events <list>', 'events to deliver: names separated by commas, all, or none (default: all the first time, then unchanged)')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (text: string, opts) => {
        const checked = checkWebhookUrl(text, loadWebhookConfig().allowHttpHosts);
        if ('problem' in checked) {
          let hint = '';
          try {
            const url = new URL(text);
            if (url.protocol === 'http:') {
              hint = `\nTo allow plain http to ${url.hostname} (a host on a private network): SIPSIM_WEBHOOK_ALLOW_HTTP=${url.hostname} sipsim webhooks set-url ...`;
            }
          } catch {
            // not a URL at all: the problem says so
          }
          throw new CliError(`Cannot use this webhook URL: ${checked.problem}${hint}`);
        }
        const events = opts.events === undefined ? undefined : parseEvents(opts.events);
        const url = checked.url;
        const settings = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.webhooks.setUrl(opts.account, url, events);
        });
        print(
          opts.json,
          { account_id: opts.account, url: settings.url, events: settings.events },
          [
            `Webhook URL of account ${opts.account}: ${settings.url}`,
            `Events: ${describeEvents(settings.events)}`,
            `Deliveries are signed with the account's secret: see it with \`sipsim webhooks show --account ${opts.account} --json\`.`,
            `Try the endpoint with: sipsim webhooks test --account ${opts.account}`,
          ].join('\n'),
        );
      }),
    );

  webhooks
    .command('unset-url')
    .description('stop delivering webhooks; the secret and the event list are kept for a later set-url')
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const previous = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          const settings = await store.webhooks.settings(opts.account);
          if (!settings?.url) return null;
          await store.webhooks.setUrl(opts.account, null);
          return settings.url;
        });
        print(
          opts.json,
          { account_id: opts.account, url: null, previous_url: previous },
          previous
            ? [
                `Webhook delivery is off for account ${opts.account} (the URL was ${previous}).`,
                'No more events are queued; deliveries still pending will fail. The secret and the event list are kept.',
              ].join('\n')
            : `Account ${opts.account} has no webhook URL: nothing was being delivered.`,
        );
      }),
    );

  webhooks
    .command('rotate-secret')
    .description('make a new signing secret; the old one stops working at once')
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const settings = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.webhooks.rotateSecret(opts.account);
        });
        print(
          opts.json,
          { account_id: opts.account, secret: settings.secret },
          [
            `New signing secret of account ${opts.account}: ${settings.secret}`,
            // Deliveries are signed when sent, so the outbox's pending ones go out under the new secret too.
            'The old secret no longer signs anything, pending deliveries and retries included: give this one to the receiver now.',
            ...(settings.url ? [] : [`The account has no webhook URL yet; ${setUrlHint(opts.account)}`]),
          ].join('\n'),
        );
      }),
    );

  webhooks
    .command('show')
    .description('the URL, the events and the signing secret (in full with --json), and how many deliveries wait or failed')
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const found = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          const settings = await store.webhooks.settings(opts.account);
          if (!settings || opts.json) return { settings, pending: null, failed: null };
          const counts = await store.webhooks.countByStatus(opts.account);
          return { settings, pending: counts.pending, failed: counts.failed };
        });
        const { settings } = found;
        if (!settings) {
          print(opts.json, { account_id: opts.account, url: null, secret: null, events: [] }, `Account ${opts.account} has no webhook URL; ${setUrlHint(opts.account)}`);
          return;
        }
        print(
          opts.json,
          { account_id: opts.account, url: settings.url, secret: settings.secret, events: settings.events },
          [
            `Webhook of account ${opts.account}`,
            `URL:        ${settings.url ?? '(none: delivery is off)'}`,
            `Events:     ${describeEvents(settings.events)}`,
            `Secret:     ${maskSecret(settings.secret)}   (in full: --json)`,
            `Deliveries: ${found.pending} pending, ${found.failed} failed   (see: sipsim webhooks deliveries --account ${opts.account})`,
          ].join('\n'),
        );
      }),
    );

  webhooks
    .command('test')
    .description('send the test event to the URL now, signed as every delivery is, and say how the endpoint answered')
    .addOption(accountOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        const { timeoutMs } = loadWebhookConfig();
        const { url, result, delivery } = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          await requireUrl(store, opts.account);
          const sent = await sendTestEvent(store, opts.account, timeoutMs);
          if (sent === 'no-url') throw new CliError(`Account ${opts.account} has no webhook URL; ${setUrlHint(opts.account)}`);
          return sent;
        });
        const outcome = testOutcome(result);
        const text = `${outcome.text}\n  to ${url} (delivery ${delivery.id})`;
        if (opts.json) {
          print(true, { ok: result.ok, result: outcome.result, url, status: result.status, error: result.error, delivery_id: delivery.id }, '');
        }
        if (!result.ok) {
          const advice = result.status === null ? 'check that the URL is reachable from this machine' : "check the endpoint's logs";
          throw new CliError(`${text}\n${advice}`);
        }
        if (!opts.json) print(false, null, text);
      }),
    );

  webhooks
    .command('deliveries')
    .description('recent deliveries, newest first, with their status, attempts and last error')
    .addOption(accountOption())
    .addOption(new Option('--status <status>', 'only deliveries with this status').choices([...DELIVERY_STATUSES]))
    .option('--event <name>', 'only this event')
    .option('--limit <n>', `how many, at most ${MAX_LIST}`, positiveInt('--limit'), 20)
    .option('--before <id>', 'only deliveries older than this id (the next page)', positiveInt('--before'))
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (opts) => {
        if (opts.limit > MAX_LIST) throw new CliError(`--limit must be at most ${MAX_LIST}; page with --before`);
        if (opts.event !== undefined && opts.event !== 'test' && !subscribable.includes(opts.event)) {
          throw new CliError(`--event: unknown event ${opts.event}\nThe events are: ${[...WEBHOOK_EVENTS, 'test'].join(', ')}`);
        }
        // One more than asked, to know whether there is an older page to point to.
        const found = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          return store.webhooks.list(opts.account, { status: opts.status, event: opts.event, beforeId: opts.before, limit: opts.limit + 1 });
        });
        const rows = found.slice(0, opts.limit);
        const listed = table(
          ['ID', 'EVENT', 'PBX_ID', 'STATUS', 'ATTEMPTS', 'CREATED', 'LAST_ATTEMPT', 'LAST_RESULT'],
          rows.map((d) => [d.id, d.event, d.pbxId, d.status, d.attempts, shortIso(d.createdAt), shortIso(d.lastAttemptAt), lastResult(d)]),
        );
        const more = found.length > opts.limit ? `\nOlder ones: --before ${rows[rows.length - 1]!.id}` : '';
        print(opts.json, rows.map(deliveryJson), listed ? `${listed}${more}` : 'No deliveries');
      }),
    );

  webhooks
    .command('redeliver')
    .description('queue deliveries again, now and with a fresh retry window: the ids given, or every failed one')
    .argument('[ids...]', 'delivery ids, separated by spaces or commas')
    .addOption(accountOption())
    .option('--failed', 'every failed delivery of the account')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (args: string[], opts) => {
        const ids = parseIds(args);
        if (ids.length && opts.failed) throw new CliError('Give delivery ids or --failed, not both');
        if (!ids.length && !opts.failed) throw new CliError('Give the delivery ids to redeliver, or --failed for every failed one');
        const result = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          // Without a URL they would only fail again at once.
          await requireUrl(store, opts.account);
          if (!ids.length) return { queued: await store.webhooks.redeliver(opts.account, { failed: true }), alreadyPending: [] as number[] };
          const done = await redeliverIds(store, opts.account, ids);
          if ('unknown' in done) {
            throw new CliError(`No delivery ${done.unknown[0]} in account ${opts.account}; see: sipsim webhooks deliveries --account ${opts.account}`);
          }
          return done;
        });
        // A named delivery the store left out was pending: queued already, perhaps in a worker's hands.
        const { queued, alreadyPending } = result;
        const lines = [
          queued.length ? `Queued again: ${queued.join(', ')}` : opts.failed ? 'No failed deliveries to redeliver' : 'Nothing queued again',
          ...(alreadyPending.length ? [`Already pending, left as they are: ${alreadyPending.join(', ')}`] : []),
          ...(queued.length ? ['A running `sipsim serve` sends them within a second (its dispatcher looks at the outbox every 0.5 s).'] : []),
        ];
        print(opts.json, { account_id: opts.account, queued, already_pending: alreadyPending }, lines.join('\n'));
      }),
    );
}
