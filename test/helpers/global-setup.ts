import { PG_ADMIN_URL, PG_SKIP_NOTICE } from './engines.js';

/** Says plainly, once per run, what was skipped and how to run it. */
export default function setup(): void {
  if (!PG_ADMIN_URL) process.stderr.write(`\n${PG_SKIP_NOTICE}\n\n`);
}
