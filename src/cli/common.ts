import { existsSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { printable } from '../domain/text.js';
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from '../store/engine.js';
import { Store } from '../store/store.js';

/** Options, argument parsers and plumbing that every command shares. */

export const databaseOption = () =>
  new Option('--database <url>', 'sqlite:PATH or postgres://USER@HOST/DB').env('SIPSIM_DATABASE_URL').default(DEFAULT_DATABASE_URL);
export const jsonOption = () => new Option('--json', 'print machine-readable JSON');

export function positiveInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return Number(value);
  };
}

export function nonNegativeInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(value);
  };
}

/**
 * Opens the store (migrated unless told otherwise), runs the action, and always
 * closes the store. Only the commands that make a store (`migrate`, `demo`)
 * pass `create`; every other one fails, naming where it looked, rather than
 * leave a new empty store behind in whatever folder it ran from.
 */
export async function withStore<T>(databaseUrl: string, action: (store: Store) => Promise<T>, options: { migrate?: boolean; create?: boolean } = {}): Promise<T> {
  const { migrate = true, create = false } = options;
  const location = parseDatabaseUrl(databaseUrl);
  if (!create && location.engine === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
    throw new CliError(noStore(location.path, databaseUrl));
  }
  const store = Store.open(databaseUrl);
  try {
    if (!create && !(await store.hasSchema())) throw new CliError(noStore(location.engine === 'sqlite' ? location.path : redactedUrl(databaseUrl), databaseUrl));
    if (migrate) await store.migrate();
    return await action(store);
  } finally {
    await store.close();
  }
}

function noStore(where: string, databaseUrl: string): string {
  const flag = databaseUrl === DEFAULT_DATABASE_URL ? '' : ` --database '${redactedUrl(databaseUrl)}'`;
  return [
    `no sipsim store at ${where} (looked there because of ${databaseUrl === DEFAULT_DATABASE_URL ? 'the default, sqlite:./data/sipsim.db, relative to this folder' : '--database or SIPSIM_DATABASE_URL'}); nothing was created.`,
    `Create one with \`sipsim migrate${flag}\` (empty) or \`sipsim demo${flag}\` (demo data), or point --database or SIPSIM_DATABASE_URL at an existing store.`,
  ].join('\n');
}

/** A database URL fit to print: any password replaced. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.protocol === 'sqlite:' ? url : parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Everything the CLI shows passes through here: stored text (a caller name from
 * a PBX, a tag name, a webhook's error) must not drive the terminal.
 */
export function forTerminal(text: string): string {
  return printable(text, { keepNewlines: true });
}

export function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(forTerminal(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`));
}

/** Plain columns for a terminal, padded to the widest cell; a cell never breaks its row. */
export function table(headers: string[], rows: Array<Array<string | number | null>>): string {
  if (rows.length === 0) return '';
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : printable(String(c)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** A problem with what the user asked: printed as `sipsim: message`, exit code 1, no stack. */
export class CliError extends Error {}

export const accountOption = () => new Option('--account <id>', 'account id').argParser(positiveInt('--account')).makeOptionMandatory();

/** Fails with the CLI's "No account N" when the account does not exist. */
export async function requireAccount(store: Store, accountId: number): Promise<void> {
  await store.accounts.get(accountId);
}

/**
 * What the CLI prints for a row that does not exist: which one, in which
 * account, and the command that lists the ones there are ("No phone 7 in
 * account 1; see: sipsim phones list --account 1").
 */
export function notFoundMessage(error: NotFoundError): string {
  const { id, accountId } = error.which;
  const noun = error.what.toLowerCase();
  const where = accountId === undefined ? '' : ` in account ${accountId}`;
  return `No ${noun}${id === undefined ? '' : ` ${id}`}${where}; see: sipsim ${noun}s list${accountId === undefined ? '' : ` --account ${accountId}`}`;
}

/** The message a failure prints, for the ones the user can act on; null for a bug, which keeps its stack. */
function userMessage(error: unknown): string | null {
  if (error instanceof CliError || error instanceof ConflictError) return error.message;
  if (error instanceof NotFoundError) return notFoundMessage(error);
  return null;
}

/** Runs an action, turning input errors into a message and exit code 1. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      const message = userMessage(error);
      if (message === null) throw error;
      process.stderr.write(forTerminal(`${message.split('\n').map((line) => `sipsim: ${line}`).join('\n')}\n`));
      process.exitCode = 1;
    }
  };
}
