import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, run, scratchDir } from '../helpers/programs.js';

/**
 * The README's ways to get `sipsim` on the PATH. `npm install -g` of the
 * packed tarball is played without the network: the tarball npm would
 * install is unpacked into a global prefix's layout, given the clone's
 * dependencies, and linked into its bin/ as npm links a package's `bin`.
 */

const scratch = scratchDir('sipsim-install-');
afterAll(() => scratch.remove());
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('installing sipsim', () => {
  it('npx sipsim works in the clone', async () => {
    // npm exec links the clone as a package and would run its prepare script, rebuilding
    // dist/ while the other end-to-end files run the build: the suite builds once, before them.
    const result = await run(NPM, ['exec', '--no', '--ignore-scripts', '--', 'sipsim', '--version'], { cwd: ROOT, timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('the packed tarball holds a runnable `sipsim` bin that works from the PATH, from any folder', async () => {
    const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch.path], { cwd: ROOT, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('package.json');
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('packages/sdk/src/'))).toEqual([]);
    // The SDK package's build, which `sipsim` and `sipsim/sdk` export.
    expect(files).toContain('packages/sdk/dist/index.js');
    expect(files).toContain('packages/sdk/dist/index.d.ts');

    // A global prefix's layout: lib/node_modules/sipsim and bin/sipsim -> the package's bin.
    const prefix = join(scratch.path, 'prefix');
    const pkg = join(prefix, 'lib/node_modules/sipsim');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['xzf', join(scratch.path, packed[0]!.filename), '-C', pkg, '--strip-components', '1']);
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    mkdirSync(join(prefix, 'bin'));
    const target = join(pkg, manifest.bin.sipsim!);
    symlinkSync(target, join(prefix, 'bin/sipsim'));
    expect(readFileSync(target, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // npm sets the bin's mode itself; the file must at least be readable by all.
    expect(statSync(target).mode & 0o444).toBe(0o444);

    // The package imports itself by name as its users do: `sipsim/sdk` and `sipsim` are the SDK.
    const sdk = await run(process.execPath, ['--input-type=module', '-e', "const sdk = await import('sipsim/sdk'); const main = await import('sipsim'); console.log(typeof sdk.Sipsim, main.default === sdk.Sipsim)"], { cwd: pkg, timeoutMs: 60_000 });
    expect(sdk.code, sdk.stderr).toBe(0);
    expect(sdk.stdout.trim()).toBe('function true');

    const elsewhere = join(scratch.path, 'elsewhere');
    mkdirSync(elsewhere);
    const result = await run('sh', ['-c', 'chmod +x "$1" && sipsim --version && sipsim --help', 'sh', target], {
      cwd: elsewhere,
      env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}` },
      timeoutMs: 60_000,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^0\.\d+\.\d+\n/);
    expect(result.stdout).toContain('Usage: sipsim');
  });
});
