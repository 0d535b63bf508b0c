import { renameSync, rmSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { csvEncoder, DEFAULT_CSV_FIELDS, type CallField, type ExportFormat } from '../../domain/call-export.js';
import { formatDateTime } from '../../domain/time.js';
import { NotFoundError, SipsimError, type Call, type CallListParams, type FetchLike, type Page } from 'sipsim/sdk';
import { CliError } from '../common.js';
import { describeSdkError } from './connection.js';
import { alreadyWritten, PartFile, resumableState, type CallSortKey } from './export-file.js';
import { csvLineReader, LineSplitter, ndjsonLineReader } from './export-lines.js';
import { PAGE_MAX, type ClientOpts, type TimeFlag } from './flags.js';
import { writeOut } from './output.js';
import { session, type Session } from './session.js';
import { seconds } from './table.js';

/**
 * `sipsim calls export`: a resumable export to a file, from the server's export
 * endpoint, else through pages of GET /calls.
 */

const EXPORT_PATH = '/api/v2/calls/export';

/** Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise. */
class ExportProgress {
  private readonly bar: cliProgress.SingleBar | null = null;
  private lineAt = Date.now();

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'exporting {bar} {percentage}% of the window | {calls} calls | {duration_formatted}',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, windowEnd - windowStart), 0, { calls: 0 });
    }
  }

  /** Calls come newest first: the share of the window behind the last call is the work done. */
  update(calls: number, at: number): void {
    const done = Math.min(Math.max(this.windowEnd - at, 0), this.windowEnd - this.windowStart);
    if (this.bar) return this.bar.update(done, { calls: calls.toLocaleString('en') });
    if (Date.now() - this.lineAt < 2000) return;
    this.lineAt = Date.now();
    const share = Math.floor((done / Math.max(1, this.windowEnd - this.windowStart)) * 100);
    process.stderr.write(`exported ${calls.toLocaleString('en')} calls so far, back to ${formatDateTime(at)} (${share}% of the window)\n`);
  }

  /** Ends the bar; full when the whole window was read. */
  stop(complete: boolean, calls: number): void {
    if (complete) this.bar?.update(this.windowEnd - this.windowStart, { calls: calls.toLocaleString('en') });
    this.bar?.stop();
  }
}

/**
 * The SDK reads whole answers, and an export is a file of any size: its body
 * is taken here, at the fetch boundary, while the SDK still does the token,
 * retries and error answers and sees an empty success.
 */
class StreamTaker {
  private body: ReadableStream<Uint8Array> | null = null;

  readonly fetch: FetchLike = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    if (!response.ok || !new URL(url).pathname.endsWith(EXPORT_PATH) || !response.body) return response;
    this.body = response.body;
    return new Response(null, { status: response.status, headers: response.headers });
  };

  take(): ReadableStream<Uint8Array> {
    const body = this.body;
    this.body = null;
    if (!body) throw new CliError('The export endpoint answered without a body');
    return body;
  }
}

export interface ExportOpts extends ClientOpts {
  out: string;
  format?: ExportFormat;
  fields?: CallField[];
  restart?: boolean;
}

type Writer = { file: PartFile; progress: ExportProgress };

/** Streams the endpoint's file into ours. False when the server has no export endpoint. */
async function fromEndpoint(s: Session, taker: StreamTaker, query: Record<string, string>, format: ExportFormat, fields: CallField[], w: Writer): Promise<boolean> {
  const reader = format === 'csv' ? csvLineReader(fields) : ndjsonLineReader;
  try {
    await s.client.request({ method: 'GET', path: EXPORT_PATH, query: { ...query, format, fields: reader.fields?.join(',') } });
  } catch (error) {
    // No such route: an older or other server. Any other refusal is the answer.
    if (error instanceof NotFoundError) return false;
    throw error;
  }
  const body = taker.take();
  const lines = new LineSplitter(format === 'csv');
  const decoder = new TextDecoder();
  const last = w.file.state.last;
  let headerSeen = format !== 'csv';

  const take = async (batch: string[]) => {
    let text = '';
    let calls = 0;
    let newest: CallSortKey | null = null;
    for (const line of batch) {
      if (line.trim() === '') continue;
      if (!headerSeen) {
        headerSeen = true;
        const header = reader.header(line);
        if (w.file.state.bytes === 0) text += header;
        continue;
      }
      const { key, text: row } = reader.row(line);
      if (alreadyWritten(key, last)) continue;
      text += row;
      calls += 1;
      newest = key;
    }
    await w.file.write(text, calls, newest);
    if (newest) w.progress.update(w.file.submitted, newest.start);
  };

  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) await take(lines.push(decoder.decode(chunk, { stream: true })));
  const rest = lines.push(decoder.decode()).concat(lines.end());
  await take(rest);
  return true;
}

/** The call with every field asked for: another server's call may lack one, which gets an empty cell, not "undefined". */
function withFields(call: Call, fields: readonly CallField[]): Call {
  if (fields.every((field) => call[field] !== undefined)) return call;
  const filled: Record<string, unknown> = { ...call };
  for (const field of fields) filled[field] ??= null;
  return filled as unknown as Call;
}

/** Pages through GET /calls, for a server without the export endpoint, writing what the endpoint would. */
async function fromPages(s: Session, query: Record<string, string>, format: ExportFormat, fields: CallField[], w: Writer): Promise<void> {
  const encoder = csvEncoder(fields);
  const last = w.file.state.last;
  if (format === 'csv' && w.file.state.bytes === 0) await w.file.write(encoder.header, 0, null);
  let page: Page<Call> | null = await s.client.calls.list({ ...(query as unknown as CallListParams), limit: PAGE_MAX });
  while (page) {
    // The next page is asked for before this one is written, so that the server works while this side does.
    const next: Promise<Page<Call>> | null = page.hasNextPage() ? page.getNextPage() : null;
    next?.catch(() => undefined);
    const calls = page.data.filter((call) => !alreadyWritten({ start: seconds(call.start_time), id: call.id }, last));
    if (calls.length > 0) {
      const text = format === 'csv' ? encoder.encode(calls.map((call) => withFields(call, fields))) : calls.map((call) => `${JSON.stringify(call)}\n`).join('');
      const newest = calls[calls.length - 1]!;
      const key = { start: seconds(newest.start_time), id: newest.id };
      await w.file.write(text, calls.length, key);
      w.progress.update(w.file.submitted, key.start);
    }
    page = next ? await next : null;
  }
}

export async function exportCalls(opts: ExportOpts): Promise<void> {
  const format: ExportFormat = opts.format ?? (/\.(ndjson|jsonl)$/i.test(opts.out) ? 'ndjson' : 'csv');
  if (opts.fields && format !== 'csv') throw new CliError('--fields chooses CSV columns; NDJSON lines are whole call objects');
  const fields = opts.fields ?? [...DEFAULT_CSV_FIELDS];
  const began = Date.now();
  const partPath = `${opts.out}.part`;
  const statePath = `${opts.out}.part.json`;
  const taker = new StreamTaker();
  const s = session(opts, taker.fetch);

  const flag = (t: TimeFlag | undefined) => (t === undefined ? null : t.kind === 'instant' ? formatDateTime(t.seconds) : t.local);
  const request = {
    api_url: s.client.baseUrl,
    format,
    fields: format === 'csv' ? fields : null,
    start: flag(opts.start),
    end: flag(opts.end),
    tz: opts.tz ?? null,
    types: opts.types ?? null,
    employees: opts.employees ?? null,
    tags: opts.tags ?? null,
    search: opts.search ?? null,
  };
  let state = opts.restart ? null : resumableState(partPath, statePath, request);
  if (state && !state.last) state = { ...state, bytes: 0, calls: 0 };
  const resumedAfter = state?.calls ?? 0;
  if (!state) {
    // The window is fixed now, its end included, so that a resume reads the very same one.
    const resolved = await s.query(opts);
    const query = Object.fromEntries(Object.entries({ ...resolved, end_time: resolved.end_time ?? formatDateTime(Math.floor(Date.now() / 1000)) }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    state = { version: 1, request, query, bytes: 0, calls: 0, last: null };
  } else {
    process.stderr.write(`Resuming ${partPath} after ${state.calls.toLocaleString('en')} calls.\n`);
  }

  // What is left: the calls up to the last one written, whose second may hold more.
  const query = state.last ? { ...state.query, end_time: formatDateTime(state.last.start) } : state.query;
  const file = PartFile.open(partPath, statePath, state);
  const progress = new ExportProgress(seconds(state.query.start_time!), seconds(state.query.end_time!));
  let source: 'export-endpoint' | 'list-pages' = 'export-endpoint';
  try {
    if (!(await fromEndpoint(s, taker, query, format, fields, { file, progress }))) {
      source = 'list-pages';
      await fromPages(s, query, format, fields, { file, progress });
    }
  } catch (error) {
    progress.stop(false, file.submitted);
    await file.close().catch(() => undefined);
    const reason =
      error instanceof SipsimError
        ? describeSdkError(error, opts.apiUrl)
        : error instanceof CliError
          ? error.message
          : `The transfer broke off: ${error instanceof Error ? error.message : String(error)}`;
    if (file.state.calls === 0) {
      // Nothing worth resuming: leave no partial file behind.
      rmSync(partPath, { force: true });
      rmSync(statePath, { force: true });
      throw new CliError(reason);
    }
    throw new CliError(`${reason}\nThe export stopped after ${file.state.calls.toLocaleString('en')} calls; run the same command again to resume it.`);
  }
  progress.stop(true, file.submitted);
  await file.close();
  renameSync(partPath, opts.out);
  rmSync(statePath, { force: true });

  const elapsed = (Date.now() - began) / 1000;
  const calls = file.state.calls;
  const summary = { file: opts.out, format, calls, seconds: Number(elapsed.toFixed(3)), resumed_after: resumedAfter, source };
  if (opts.json) return writeOut(`${JSON.stringify(summary, null, 2)}\n`);
  const resumed = resumedAfter ? ` (resumed: ${resumedAfter.toLocaleString('en')} were written before)` : '';
  await writeOut(`Exported ${calls.toLocaleString('en')} calls to ${opts.out} in ${elapsed.toFixed(1)} s${resumed}\n`);
}
