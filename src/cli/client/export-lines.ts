import type { CallField } from '../../domain/call-export.js';
import type { Call } from 'sipsim/sdk';
import { CliError } from '../common.js';
import type { CallSortKey } from './export-file.js';
import { seconds } from './table.js';

/** The export endpoint's file, read line by line, each line with the place of its call in the list. */

/** Splits a stream of text into complete lines (CSV: a quoted cell may hold line breaks), each with its line break. */
export class LineSplitter {
  private rest = '';
  /** How far into `rest` the quotes were already counted. */
  private scanned = 0;
  private quoted = false;

  constructor(private readonly csv: boolean) {}

  push(text: string): string[] {
    const all = this.rest + text;
    const lines: string[] = [];
    let start = 0;
    let i = this.scanned;
    // indexOf rather than a loop over characters: most lines hold no quote at all.
    let quote = this.csv ? all.indexOf('"', i) : -1;
    for (;;) {
      if (this.quoted) {
        if (quote < 0) {
          i = all.length;
          break;
        }
        this.quoted = false;
        i = quote + 1;
        quote = all.indexOf('"', i);
        continue;
      }
      const newline = all.indexOf('\n', i);
      if (quote >= 0 && (newline < 0 || quote < newline)) {
        this.quoted = true;
        i = quote + 1;
        quote = all.indexOf('"', i);
        continue;
      }
      if (newline < 0) {
        i = all.length;
        break;
      }
      lines.push(all.slice(start, newline + 1));
      start = i = newline + 1;
    }
    this.rest = all.slice(start);
    this.scanned = i - start;
    return lines;
  }

  /** What is left when the stream ends: a last line without its break. */
  end(): string {
    return this.rest;
  }
}

/** The raw cells of a CSV line (quotes kept), split at commas outside quotes. */
export function csvCells(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) {
      cells.push(line.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(line.slice(start));
  return cells;
}

const unquote = (cell: string) => (cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);
const lineBreak = (line: string) => (line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '');

/**
 * How the lines of the endpoint's file become the lines of ours: each line's
 * call's sort key, and its text. CSV asks for id and start_time when --fields
 * leaves them out, then drops those columns again, so that every line still
 * says where it is in the list.
 */
export interface LineReader {
  /** Columns to ask the endpoint for. */
  fields?: CallField[];
  /** The header line as our file has it ('' for NDJSON). */
  header(line: string): string;
  row(line: string): { key: CallSortKey; text: string };
}

export function csvLineReader(fields: CallField[]): LineReader {
  const asked = [...fields, ...(['id', 'start_time'] as const).filter((f) => !fields.includes(f))];
  let idAt = -1;
  let startAt = -1;
  const keep = (line: string) => {
    const eol = lineBreak(line);
    const cells = csvCells(line.slice(0, line.length - eol.length));
    return { cells, text: cells.length > fields.length ? `${cells.slice(0, fields.length).join(',')}${eol}` : line };
  };
  return {
    fields: asked,
    header(line) {
      const { cells, text } = keep(line);
      const names = cells.map(unquote);
      idAt = names.indexOf('id');
      startAt = names.indexOf('start_time');
      if (idAt < 0 || startAt < 0) throw new CliError('The export endpoint answered a CSV file without the id and start_time columns it was asked for');
      return text;
    },
    row(line) {
      const { cells, text } = keep(line);
      return { key: { start: seconds(unquote(cells[startAt] ?? '')), id: Number(unquote(cells[idAt] ?? '')) }, text };
    },
  };
}

export const ndjsonLineReader: LineReader = {
  header: () => '',
  row(line) {
    const call = JSON.parse(line) as Pick<Call, 'id' | 'start_time'>;
    return { key: { start: seconds(call.start_time), id: call.id }, text: line.endsWith('\n') ? line : `${line}\n` };
  },
};
