import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const CRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: Array<{ name: string }>;
}

interface KnownException {
  from: string;
  to: string;
  rule: { name: string };
}

/** Every import of src/, web/ and packages/ that breaks a rule of .dependency-cruiser.cjs. */
async function cruise(): Promise<Violation[]> {
  const roots = ['src', 'web/src', 'packages'].filter((root) => existsSync(join(ROOT, root)));
  const args = [CRUISE, ...roots, '--config', CONFIG, '--output-type', 'json'];
  // The command exits non-zero when it finds violations; its JSON is on stdout either way.
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      if (!error.stdout) throw new Error(`dependency-cruiser failed: ${error.stderr ?? error.message}`);
      return { stdout: error.stdout };
    },
  );
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const describeViolation = (v: Violation) =>
  v.cycle ? `${v.rule.name}: ${[v.from, ...v.cycle.map((step) => step.name)].join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`;

/**
 * The layers of docs/architecture.md, as dependency-cruiser sees them. A failure lists each
 * import that crosses a layer or closes a loop, and each known exception the code has left
 * behind (delete it from KNOWN_EXCEPTIONS in .dependency-cruiser.cjs).
 */
describe('the layers', () => {
  // One run for both tests, started by whichever runs first.
  let run: Promise<Violation[]> | undefined;
  const violations = () => (run ??= cruise());

  it('are kept: no import crosses a layer, no module loops back on itself', async () => {
    const broken = (await violations()).filter((v) => v.rule.severity !== 'ignore' && v.rule.severity !== 'info');
    expect(broken.map(describeViolation)).toEqual([]);
  }, 120_000);

  it('list as known exceptions only imports the code still has', async () => {
    const config = createRequire(import.meta.url)(CONFIG) as { options: { knownViolations: KnownException[] } };
    const ignored = (await violations()).filter((v) => v.rule.severity === 'ignore');
    const stale = config.options.knownViolations.filter(
      (known) => !ignored.some((v) => v.rule.name === known.rule.name && v.from === known.from && v.to === known.to),
    );
    expect(stale.map((known) => `${known.rule.name}: ${known.from} → ${known.to} no longer happens`)).toEqual([]);
  }, 120_000);
});
