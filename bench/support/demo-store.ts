/**
 * The million-call demo store that the export benchmarks read, built once with
 * createDemo and kept in bench/data/ with a marker of what made it, so that a
 * later run reuses it while the seed, the size and the sources are unchanged.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createDemo } from '../../src/demo/seed.js';
import { Store } from '../../src/store/store.js';
import { BENCH_DIR, ROOT } from './deployment.js';

export interface DemoStoreSpec {
  seed: number;
  calls: number;
  /** Unix seconds: the newest call starts before this. */
  until: number;
  log: (message: string) => void;
}

export function demoStorePath(spec: Pick<DemoStoreSpec, 'seed' | 'calls'>): string {
  return join(BENCH_DIR, 'data', `calls-${spec.calls}-seed${spec.seed}.db`);
}

function marker(spec: DemoStoreSpec): string {
  const hash = createHash('sha256');
  for (const file of ['src/store/migrations/001-initial.ts', 'src/demo/generate.ts', 'src/demo/seed.ts']) {
    hash.update(readFileSync(join(ROOT, file)));
  }
  const until = new Date(spec.until * 1000).toISOString().replace('.000Z', 'Z');
  return JSON.stringify({ seed: spec.seed, calls: spec.calls, until, sources: hash.digest('hex').slice(0, 16) });
}

/** The store's path, built now unless a matching one is kept; always migrated to the current schema. */
export async function prepareDemoStore(spec: DemoStoreSpec): Promise<{ path: string; reused: boolean; loadSeconds: number | null }> {
  const path = demoStorePath(spec);
  const markerPath = `${path}.json`;
  const wanted = marker(spec);
  if (existsSync(path) && existsSync(markerPath) && readFileSync(markerPath, 'utf8') === wanted) {
    spec.log(`reusing ${relative(ROOT, path)}`);
    const store = Store.open(`sqlite:${path}`);
    await store.migrate();
    await store.close();
    return { path, reused: true, loadSeconds: null };
  }
  for (const suffix of ['', '-wal', '-shm', '.json']) rmSync(`${path}${suffix}`, { force: true });
  mkdirSync(dirname(path), { recursive: true });
  const started = performance.now();
  const store = Store.open(`sqlite:${path}`);
  await store.migrate();
  let lastLog = 0;
  await createDemo(store, {
    seed: spec.seed,
    calls: spec.calls,
    until: spec.until,
    onProgress: (done, total) => {
      if (performance.now() - lastLog > 10000) {
        lastLog = performance.now();
        spec.log(`loaded ${done}/${total}`);
      }
    },
  });
  await store.close();
  writeFileSync(markerPath, wanted);
  const loadSeconds = (performance.now() - started) / 1000;
  spec.log(`${spec.calls} calls loaded in ${loadSeconds.toFixed(0)} s`);
  return { path, reused: false, loadSeconds };
}

/** Calls of an account whose start falls in the window, both ends inclusive as the API's filter. */
export async function callsInWindow(store: Store, accountId: number, window: { start_time: string; end_time: string }): Promise<number> {
  const row = await store.db
    .selectFrom('calls')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', '=', accountId)
    .where('start_time', '>=', Date.parse(window.start_time) / 1000)
    .where('start_time', '<=', Date.parse(window.end_time) / 1000)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
