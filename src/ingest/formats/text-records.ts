import { createReadStream } from 'node:fs';
import type { PbxCallRecord, ParsedItem } from '../record.js';

/**
 * Streaming readers for line-based files. They hand out records a chunk at a
 * time, so that a file of any size is read in constant memory and the cost of
 * an await is paid per chunk, not per line.
 */

/** A physical line (NDJSON) or a CSV record, which may span several lines. */
export interface TextRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  /** The record's text without its line ending. */
  raw: string;
  /** The cells, for a CSV record that could be split. */
  fields?: string[];
  /** Why a CSV record could not be split. */
  error?: string;
}

const CHUNK_BYTES = 1 << 20;
/** A record longer than this is taken to be an unterminated quote, not data. */
const MAX_RECORD_CHARS = 1 << 20;

async function* chunks(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES, encoding: 'utf8' });
  let first = true;
  for await (const chunk of stream as AsyncIterable<string>) {
    if (first) {
      first = false;
      yield chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
    } else {
      yield chunk;
    }
  }
}

/** Every physical line, in batches; `\r\n` endings are taken as `\n`. */
export async function* readLineBatches(path: string): AsyncGenerator<TextRecord[]> {
  let rest = '';
  let line = 1;
  for await (const chunk of chunks(path)) {
    const data = rest === '' ? chunk : rest + chunk;
    const batch: TextRecord[] = [];
    let start = 0;
    let newline: number;
    while ((newline = data.indexOf('\n', start)) !== -1) {
      const end = newline > start && data.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      batch.push({ line, raw: data.slice(start, end) });
      line++;
      start = newline + 1;
    }
    rest = data.slice(start);
    if (batch.length > 0) yield batch;
  }
  if (rest !== '') yield [{ line, raw: rest.endsWith('\r') ? rest.slice(0, -1) : rest }];
}

type ScanResult = 'record' | 'incomplete' | 'unterminated';

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * An RFC 4180 record splitter over a string that may end mid-record. It is
 * lenient where PBXs are sloppy: a quote inside an unquoted cell and text
 * after a closing quote are kept as written.
 */
class CsvScanner {
  fields: string[] = [];
  /** Index just past the record's last cell. */
  end = 0;
  /** Index where the next record starts. */
  next = 0;
  /** Line endings consumed, the record's own and those inside quoted cells. */
  newlines = 0;

  scan(data: string, start: number, final: boolean): ScanResult {
    const fields: string[] = [];
    const length = data.length;
    let pos = start;
    let newlines = 0;
    for (;;) {
      let value: string;
      if (pos < length && data.charCodeAt(pos) === QUOTE) {
        let from = pos + 1;
        value = '';
        for (;;) {
          const quote = data.indexOf('"', from);
          if (quote === -1) return final ? 'unterminated' : 'incomplete';
          if (quote + 1 >= length && !final) return 'incomplete';
          if (data.charCodeAt(quote + 1) === QUOTE) {
            value += data.slice(from, quote + 1);
            from = quote + 2;
            continue;
          }
          value += data.slice(from, quote);
          pos = quote + 1;
          break;
        }
        if (value.indexOf('\n') !== -1) newlines += countNewlines(value);
        let stop = pos;
        while (stop < length) {
          const c = data.charCodeAt(stop);
          if (c === COMMA || c === LF || c === CR) break;
          stop++;
        }
        if (stop > pos) value += data.slice(pos, stop);
        pos = stop;
      } else {
        let stop = pos;
        while (stop < length) {
          const c = data.charCodeAt(stop);
          if (c === COMMA || c === LF || c === CR) break;
          stop++;
        }
        value = data.slice(pos, stop);
        pos = stop;
      }
      fields.push(value);
      if (pos >= length) {
        if (!final) return 'incomplete';
        this.end = pos;
        this.next = pos;
        break;
      }
      const c = data.charCodeAt(pos);
      if (c === COMMA) {
        pos++;
        continue;
      }
      this.end = pos;
      if (c === CR) {
        if (pos + 1 >= length && !final) return 'incomplete';
        pos += data.charCodeAt(pos + 1) === LF ? 2 : 1;
      } else {
        pos++;
      }
      newlines++;
      this.next = pos;
      break;
    }
    this.fields = fields;
    this.newlines = newlines;
    return 'record';
  }
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

function isBlank(data: string, start: number): boolean {
  const c = data.charCodeAt(start);
  return c === LF || c === CR;
}

/**
 * CSV records in batches. Blank lines are skipped. A quote left open is
 * reported on the line where the record starts, and reading resumes on the
 * next line, so one stray quote costs one row, not the rest of the file.
 */
export async function* readCsvBatches(path: string): AsyncGenerator<TextRecord[]> {
  const scanner = new CsvScanner();
  let rest = '';
  let line = 1;

  function take(data: string, final: boolean, batch: TextRecord[]): number {
    let pos = 0;
    while (pos < data.length) {
      if (isBlank(data, pos)) {
        const c = data.charCodeAt(pos);
        if (c === CR && pos + 1 >= data.length && !final) break;
        pos += c === CR && data.charCodeAt(pos + 1) === LF ? 2 : 1;
        line++;
        continue;
      }
      const result = scanner.scan(data, pos, final);
      if (result === 'record') {
        batch.push({ line, raw: data.slice(pos, scanner.end), fields: scanner.fields });
        line += scanner.newlines;
        pos = scanner.next;
        continue;
      }
      if (result === 'incomplete' && data.length - pos <= MAX_RECORD_CHARS) break;
      // Unterminated quote: refuse this physical line and go on with the next.
      const newline = data.indexOf('\n', pos);
      if (newline === -1 && !final) break;
      const end = newline === -1 ? data.length : newline;
      const raw = data.slice(pos, end > pos && data.charCodeAt(end - 1) === CR ? end - 1 : end);
      batch.push({ line, raw, error: 'a quoted cell is never closed (unbalanced ")' });
      line++;
      pos = newline === -1 ? data.length : newline + 1;
    }
    return pos;
  }

  for await (const chunk of chunks(path)) {
    const data = rest === '' ? chunk : rest + chunk;
    const batch: TextRecord[] = [];
    rest = data.slice(take(data, false, batch));
    if (batch.length > 0) yield batch;
  }
  if (rest !== '') {
    const batch: TextRecord[] = [];
    take(rest, true, batch);
    if (batch.length > 0) yield batch;
  }
}

/** The item for one record of a source: the record, or the reason it was refused. */
export function itemOf(source: string, line: number, raw: string, result: PbxCallRecord | string): ParsedItem {
  return typeof result === 'string' ? { source, line, raw, error: result } : { source, line, raw, record: result };
}

/** A CSV row with nothing in it (a line of spaces is as blank as an empty one). */
export function isBlankRow(fields: string[]): boolean {
  return fields.length === 1 && fields[0]!.trim() === '';
}
