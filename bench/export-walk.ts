/**
 * The export of bench/export.ts without HTTP: the store's batches of every
 * call of the 1,000,000-call demo store, encoded as the route encodes them,
 * in this process. For profiling where an export's time goes:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/export-walk.ts [csv|ndjson]
 *
 * Reads bench/data/calls-1000000-seed1.db as bench/export.ts leaves it (run that first).
 */
import { DEFAULT_CSV_FIELDS, encoderFor, type ExportFormat } from '../src/domain/call-export.js';
import { Store } from '../src/store/store.js';
import { demoStorePath } from './support/demo-store.js';

const format = (process.argv[2] ?? 'ndjson') as ExportFormat;
const UNTIL = Date.parse('2026-11-27T00:00:00Z') / 1000;
const filter = { startTime: UNTIL - 90 * 86400, endTime: UNTIL, employeeIds: null, tagIds: null, callTypes: null, search: null };

const store = Store.open(`sqlite:${demoStorePath({ seed: 1, calls: 1_000_000 })}`);
const account = (await store.accounts.list())[0]!;
const encoder = encoderFor(format, DEFAULT_CSV_FIELDS);
const started = performance.now();
let calls = 0;
let chars = 0;
for await (const batch of store.calls.export(account.id, filter, undefined, format === 'csv' ? DEFAULT_CSV_FIELDS : undefined)) {
  calls += batch.length;
  chars += encoder.encode(batch).length;
}
console.log(`${format}: ${calls} calls, ${chars} characters in ${((performance.now() - started) / 1000).toFixed(2)} s`);
await store.close();
