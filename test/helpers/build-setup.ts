import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The end-to-end and browser tests run the built `sipsim` (dist/cli/main.js),
 * the SDK package it imports and the dashboard it serves (dist/web), so they get a fresh build of them
 * first; the unit and integration projects never wait for it.
 * SIPSIM_TEST_SKIP_BUILD=1 uses dist/ as it is.
 */
export default function build(): void {
  if (process.env.SIPSIM_TEST_SKIP_BUILD === '1') return;
  process.stderr.write('e2e: building dist/ (npm run build)\n');
  const tsc = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  // The SDK package first: the CLI imports it as built (sipsim/sdk).
  execFileSync(process.execPath, [tsc, '-p', 'packages/sdk/tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [resolve(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
