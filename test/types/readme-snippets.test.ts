import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = resolve(ROOT, 'node_modules/typescript/bin/tsc');

/** Every ```ts block of a Markdown file, with the line it starts on. */
export function typescriptBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1]!)) i++;
    blocks.push({ line: start + 1, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return blocks;
}

/**
 * What a reader copies from the README and the pages under docs/ must compile as
 * written, under `strict`, against the SDK as published (`sipsim/sdk` mapped onto
 * its source). Each block is its own ES module, so one cannot lean on another's names.
 */
describe('the README and docs/', () => {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const blocks = pages.flatMap((page) =>
    typescriptBlocks(readFileSync(join(ROOT, page), 'utf8')).map((block) => ({ ...block, page })),
  );

  it('has TypeScript examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  it('compiles every TypeScript block under strict', async () => {
    const dir = join(ROOT, 'node_modules/.cache/sipsim-readme-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((block) => {
      const name = `${block.page.replace(/\W+/g, '-')}-line-${block.line}.mts`;
      writeFileSync(join(dir, name), block.code);
      return name;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          paths: { 'sipsim/sdk': [join(ROOT, 'packages/sdk/src/index.ts')] },
        },
        files,
      }),
    );
    const output = await promisify(execFile)(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(
      () => '',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    // Errors name the page and the line the block starts on (docs-webhooks-md-line-N.mts).
    expect(output).toBe('');
  }, 120_000);
});
