import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = resolve(ROOT, 'node_modules/typescript/bin/tsc');

/** `npm run typecheck` as a test, so that `npm test` fails on a type error without a build before every run. */
describe('types', () => {
  it('the whole project (src, test, bench) type-checks under tsconfig.json', async () => {
    const result = await promisify(execFile)(process.execPath, [TSC, '-p', 'tsconfig.json', '--noEmit'], { cwd: ROOT, maxBuffer: 16 << 20 }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('the SDK package type-checks on its own, with browser globals and no Node.js types', async () => {
    const result = await promisify(execFile)(process.execPath, [TSC, '-p', 'packages/sdk/tsconfig.json', '--noEmit'], { cwd: ROOT, maxBuffer: 16 << 20 }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
    );
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });
});
