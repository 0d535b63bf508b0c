import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { action, CliError, databaseOption, jsonOption, positiveInt, print, withStore } from './common.js';

/**
 * `sipsim accounts delete ID`: removes an account and everything of it, after
 * saying what that is and asking (or with --yes, for scripts). Interrupted,
 * it is finished by running it again.
 */
export function registerAccountCommands(accounts: Command): void {
  accounts
    .command('delete')
    .description('delete an account and all of it (calls, directory, clients, webhooks), after confirmation')
    .argument('<id>', 'account id', positiveInt('the account id'))
    .option('--yes', 'do not ask for confirmation')
    .option('--batch <n>', 'rows per delete statement', positiveInt('--batch'), 5000)
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (id: number, opts: { yes?: boolean; batch: number; database: string; json?: boolean }) => {
        const result = await withStore(opts.database, async (store) => {
          const account = await store.accounts.get(id);
          const counts = await store.accounts.countRows(id);
          const summary = Object.entries(counts).map(([table, n]) => `${n.toLocaleString('en')} ${table}`).join(', ') || 'no other rows';
          if (!opts.yes) {
            if (!process.stdin.isTTY) throw new CliError(`this deletes account ${id} (${account.name}): ${summary}. Add --yes to do it without a prompt.`);
            const prompt = createInterface({ input: process.stdin, output: process.stderr });
            const answer = await prompt.question(`Delete account ${id} (${account.name}) and ${summary}? Type the account id to confirm: `);
            prompt.close();
            if (answer.trim() !== String(id)) throw new CliError('Nothing deleted.');
          }
          let done = 0;
          const progress = !opts.json && process.stderr.isTTY;
          const deletion = await store.accounts.delete(id, {
            batchSize: opts.batch,
            onBatch: (table, n) => {
              done += n;
              if (progress) process.stderr.write(`\r  ${done.toLocaleString('en')} rows deleted (${table})   `);
            },
          });
          if (progress) process.stderr.write('\n');
          return { account, rows: deletion.rows };
        });
        const total = Object.values(result.rows).reduce((a, b) => a + b, 0);
        print(opts.json, { account_id: id, deleted: result.rows }, `Account ${id} (${result.account.name}) deleted: ${total.toLocaleString('en')} rows.`);
      }),
    );
}
