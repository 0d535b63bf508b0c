import { closeSync, createWriteStream, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { CliError } from '../common.js';

/** The file an export writes, FILE.part, and the state beside it that lets a later run resume it. */

/**
 * A call's place in the list's order (start_time desc, id desc). The state keeps
 * the last call written: calls come newest first, so everything after it is still to write.
 */
export interface CallSortKey {
  start: number;
  id: number;
}

/** Whether a call comes at or before `last` in the list's order (start_time desc, id desc), so is in the file already. */
export function alreadyWritten(call: CallSortKey, last: CallSortKey | null): boolean {
  return last !== null && (call.start > last.start || (call.start === last.start && call.id >= last.id));
}

/** The sidecar of FILE.part: what the export is, and how far the file holds complete lines. */
export interface ExportState {
  version: 1;
  /** The command's request as given; a resume must ask for the very same. */
  request: Record<string, unknown>;
  /** The filters as first resolved, the defaulted window included, so that a resume reads the same window. */
  query: Record<string, string>;
  /** Bytes of FILE.part known to be on disk, each line complete. */
  bytes: number;
  calls: number;
  last: CallSortKey | null;
}

/**
 * FILE.part and its state. A line counts once its write completed, and the
 * state is saved after that, so the state never claims more than the file
 * holds: a resume cuts the file back to `bytes` and goes on from `last`.
 */
export class PartFile {
  private readonly stream: WriteStream;
  private savedAt = 0;
  /** Calls handed to the file, written or not yet: what progress shows. */
  submitted: number;

  constructor(
    private readonly fd: number,
    private readonly statePath: string,
    readonly state: ExportState,
  ) {
    this.submitted = state.calls;
    this.stream = createWriteStream('', { fd, autoClose: false });
    this.save();
  }

  static open(path: string, statePath: string, state: ExportState): PartFile {
    try {
      if (state.bytes > 0) truncateSync(path, state.bytes);
      return new PartFile(openSync(path, state.bytes > 0 ? 'a' : 'w'), statePath, state);
    } catch (error) {
      throw new CliError(`Cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async write(text: string, calls: number, last: CallSortKey | null): Promise<void> {
    if (text === '') return;
    this.submitted += calls;
    const data = Buffer.from(text);
    const ready = this.stream.write(data, (error) => {
      if (error) return;
      this.state.bytes += data.length;
      this.state.calls += calls;
      if (last) this.state.last = last;
      if (Date.now() - this.savedAt >= 200) this.save();
    });
    if (!ready) await once(this.stream, 'drain');
  }

  save(): void {
    writeFileSync(`${this.statePath}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.statePath}.tmp`, this.statePath);
    this.savedAt = Date.now();
  }

  /** Waits for every write, saves the state, and makes the bytes durable. */
  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    this.save();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** The state of an earlier run of the same export, if its file is still there and holds what the state says. */
export function resumableState(partPath: string, statePath: string, request: Record<string, unknown>): ExportState | null {
  if (!existsSync(partPath) || !existsSync(statePath)) return null;
  let state: ExportState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as ExportState;
  } catch {
    return null;
  }
  if (state.version !== 1 || JSON.stringify(state.request) !== JSON.stringify(request)) {
    process.stderr.write(`${partPath} was left by another export (other server, filters, format or fields): starting over.\n`);
    return null;
  }
  if (statSync(partPath).size < state.bytes) {
    process.stderr.write(`${partPath} is shorter than its state records: starting over.\n`);
    return null;
  }
  return state;
}
