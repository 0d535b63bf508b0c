import { createReadStream } from 'node:fs';
import { open, rm, stat, readdir, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { importRecords } from '../ingest/ingest.js';
import { IMPORT_FORMATS, isImportFormat, readImportSource, type ImportFormat } from '../ingest/formats/index.js';
import type { FormatOptions, ParsedItem } from '../ingest/record.js';
import { DirectoryIndex } from '../ingest/resolve.js';
import { SETTINGS } from '../settings.js';
import type { Store } from '../store/store.js';
import { accountOption, action, CliError, databaseOption, forTerminal, jsonOption, positiveInt, requireAccount, withStore } from './common.js';
import { envOption } from './setting-options.js';

/**
 * `sipsim import FILE...`: PBX call records into an account. Each batch is one
 * transaction and every record is keyed by its PBX id, so an import can be
 * stopped at any point (even with kill -9) and run again: it ends with exactly
 * the file's calls. A bad record is reported with its file and line, copied to
 * FILE.rejects and counted; the others go in.
 */

export interface FileSummary {
  file: string;
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Sound records left out on purpose (FreeSWITCH B-legs): no error. */
  skipped: number;
  rejects_file: string | null;
}

interface Progress {
  advance(bytes: number, records: number): void;
  stop(): void;
}

/** A bar on a terminal; elsewhere (logs, CI) a plain line every few seconds. */
function progressFor(file: string, totalBytes: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${file} {bar} {percentage}% | {records} records | {rate}/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let done = 0, records = 0;
    bar.start(Math.max(totalBytes, 1), 0, { records: 0, rate: 0 });
    return {
      advance(bytes, count) {
        done += bytes;
        records += count;
        bar.update(Math.min(done, totalBytes), { records, rate: Math.round(records / Math.max((Date.now() - started) / 1000, 0.001)) });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0, records = 0, lastLine = Date.now();
  return {
    advance(bytes, count) {
      done += bytes;
      records += count;
      if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        process.stderr.write(`${file}: ${records} records, ${totalBytes ? Math.floor((100 * done) / totalBytes) : 100}%\n`);
      }
    },
    stop() {},
  };
}

/** How much input there is, for the progress: a file's bytes, or a folder's files' bytes. */
async function sizeOf(path: string): Promise<number> {
  // A path that cannot be read is reported by the reader, in its own words.
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) if (entry.isFile()) total += (await stat(`${path}/${entry.name}`)).size;
  return total;
}

async function firstLine(path: string): Promise<string> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

/** FILE.rejects, beside the input, in the input's own format so that it can be fixed and imported again. */
class RejectsFile {
  private handle: FileHandle | null = null;
  readonly path: string;
  count = 0;

  constructor(private readonly input: string, private readonly format: ImportFormat) {
    this.path = `${input.replace(/\/+$/, '')}.rejects`;
  }

  /** A rejects file left by an earlier run would speak of records that may have gone in since. */
  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }

  async write(item: ParsedItem): Promise<void> {
    if (!this.handle) {
      this.handle = await open(this.path, 'w');
      if (this.format === 'sipsim-csv') await this.handle.write(`${await firstLine(this.input)}\n`);
    }
    // A FreeSWITCH record is a whole JSON file: one line of it, as NDJSON.
    const raw = this.format === 'freeswitch-json' ? oneLineJson(item.raw) : item.raw;
    await this.handle.write(raw.endsWith('\n') ? raw : `${raw}\n`);
    this.count++;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

function oneLineJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.replace(/\r?\n/g, ' ');
  }
}

export interface ImportOptions extends FormatOptions {
  batchSize: number;
  /** Queue each new call's end webhook, as if it had just ended. */
  emitWebhooks?: boolean;
  /** Where a rejected record's reason goes (stderr for the CLI). */
  report?: (line: string) => void;
  progress?: boolean;
}

/** Imports one file (or FreeSWITCH folder) into an account; returns its counts. */
export async function importFile(
  store: Store,
  accountId: number,
  directory: DirectoryIndex,
  file: string,
  format: ImportFormat,
  options: ImportOptions,
): Promise<FileSummary> {
  const summary: FileSummary = { file, read: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, skipped: 0, rejects_file: null };
  const rejects = new RejectsFile(file, format);
  await rejects.clear();
  const progress = options.progress ? progressFor(file, await sizeOf(file)) : null;
  let batch: ParsedItem[] = [];
  let batchBytes = 0;

  // The batch before is stored while this one is read and parsed: parsing is
  // this process's work and storing mostly the database's, so on PostgreSQL
  // they overlap. Batches still commit one at a time and in file order, each in
  // its own transaction, so an interrupted import leaves whole batches only.
  let inFlight: Promise<void> = Promise.resolve();
  const storeBatch = async (items: ParsedItem[], bytes: number) => {
    const results = await importRecords(
      store,
      accountId,
      items.map((item) => item.record ?? { error: item.error! }),
      directory,
      { notify: options.emitWebhooks },
    );
    for (let i = 0; i < results.length; i++) {
      const result = results[i]!;
      if ('error' in result) {
        const item = items[i]!;
        summary.rejected++;
        options.report?.(`${item.source}:${item.line}: ${result.error}`);
        await rejects.write(item);
      } else {
        summary[result.outcome]++;
      }
    }
    progress?.advance(bytes, items.length);
  };
  const flush = async () => {
    if (!batch.length) return;
    const items = batch;
    const bytes = batchBytes;
    batch = [];
    batchBytes = 0;
    await inFlight;
    inFlight = storeBatch(items, bytes);
    // Awaited by the next flush or at the end; until then its failure must not count as unhandled.
    inFlight.catch(() => {});
  };

  try {
    for await (const item of readImportSource(file, format, options)) {
      summary.read++;
      if (item.skipped) {
        summary.skipped++;
        progress?.advance(item.raw.length + 1, 1);
        continue;
      }
      batch.push(item);
      batchBytes += item.raw.length + 1;
      if (batch.length >= options.batchSize) await flush();
    }
    await flush();
    await inFlight;
  } finally {
    // A batch still being stored when reading failed ends before the rejects file is closed.
    await inFlight.catch(() => {});
    progress?.stop();
    await rejects.close();
  }
  summary.rejects_file = rejects.count ? rejects.path : null;
  return summary;
}

function totals(files: FileSummary[]) {
  const sum = (key: 'read' | 'created' | 'updated' | 'unchanged' | 'rejected' | 'skipped') => files.reduce((n, f) => n + f[key], 0);
  return {
    read: sum('read'),
    created: sum('created'),
    updated: sum('updated'),
    unchanged: sum('unchanged'),
    rejected: sum('rejected'),
    skipped: sum('skipped'),
  };
}

const line = (s: Omit<FileSummary, 'file' | 'rejects_file'>) =>
  `${s.read} read, ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.rejected} rejected` +
  (s.skipped ? `, ${s.skipped} skipped (B-legs)` : '');

/** Exit code when every record went in; 2 when some were rejected (1 is kept for a command that failed). */
export const EXIT_REJECTED = 2;

async function importAll(store: Store, directory: DirectoryIndex, files: string[], opts: Record<string, any>): Promise<FileSummary[]> {
  const done: FileSummary[] = [];
  for (const file of files) {
    try {
      const summary = await importFile(store, opts.account, directory, file, opts.format, {
        timeZone: opts.tz,
        recordingBaseUrl: opts.recordingBaseUrl || undefined,
        batchSize: opts.batchSize,
        emitWebhooks: opts.emitWebhooks === true,
        progress: !opts.json,
        report: (text) => process.stderr.write(forTerminal(`${text}\n`)),
      });
      done.push(summary);
      if (!opts.json) process.stdout.write(`${file}: ${line(summary)}${summary.rejects_file ? ` (see ${summary.rejects_file})` : ''}\n`);
    } catch (error) {
      // A file that cannot be read at all is the user's to fix, not a crash.
      if (error instanceof Error && /^cannot read |^unknown import format/.test(error.message)) throw new CliError(error.message);
      throw error;
    }
  }
  return done;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import PBX call records: Asterisk Master.csv, FreeSWITCH mod_json_cdr, sipsim CSV or NDJSON')
    .argument('<files...>', 'files to import (a folder for freeswitch-json)')
    .addOption(accountOption())
    .addOption(new Option('--format <format>', 'the files\' format').choices([...IMPORT_FORMATS]).makeOptionMandatory())
    .option('--tz <zone>', 'time zone of local times in the files (Asterisk), such as Europe/Paris', 'UTC')
    .addOption(envOption(SETTINGS.recordingBaseUrl))
    .addOption(new Option('--batch-size <n>', 'records per transaction').argParser(positiveInt('--batch-size')).default(2000))
    .option('--emit-webhooks', 'queue the end webhook of every call the import creates (history sends none by default)')
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      action(async (files: string[], opts) => {
        if (!isImportFormat(opts.format)) throw new CliError(`--format must be one of ${IMPORT_FORMATS.join(', ')}`);
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: opts.tz });
        } catch {
          throw new CliError(`--tz '${opts.tz}' is not a time zone: use an IANA name such as Europe/Paris`);
        }
        if (opts.recordingBaseUrl && !/^https?:\/\/\S+$/i.test(opts.recordingBaseUrl)) {
          throw new CliError('--recording-base-url must be an http(s) URL');
        }
        const started = Date.now();
        const summaries = await withStore(opts.database, async (store) => {
          await requireAccount(store, opts.account);
          const directory = new DirectoryIndex(await store.ingest.phoneRefs(opts.account));
          return store.ingest.bulkLoad(() => importAll(store, directory, files, opts));
        });
        const total = totals(summaries);
        const seconds = (Date.now() - started) / 1000;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ files: summaries, total, seconds }, null, 2)}\n`);
        } else if (files.length > 1) {
          process.stdout.write(`total: ${line(total)} in ${seconds.toFixed(1)} s\n`);
        }
        if (total.rejected > 0) process.exitCode = EXIT_REJECTED;
      }),
    );
}
