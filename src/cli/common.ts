import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATABASE_URL } from '../store/engine.js';
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

/** Opens the store (migrated unless told otherwise), runs the action, and always closes the store. */
export async function withStore<T>(databaseUrl: string, action: (store: Store) => Promise<T>, options = { migrate: true }): Promise<T> {
  const store = Store.open(databaseUrl);
  try {
    if (options.migrate) await store.migrate();
    return await action(store);
  } finally {
    await store.close();
  }
}

export function print(json: boolean | undefined, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}
