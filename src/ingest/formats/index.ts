import { access, constants } from 'node:fs/promises';
import type { FormatOptions, ParsedItem } from '../record.js';
import { readAsteriskCsv } from './asterisk-csv.js';
import { readFreeswitchJson } from './freeswitch-json.js';
import { readNdjson } from './ndjson.js';
import { readSipsimCsv } from './sipsim-csv.js';

export const IMPORT_FORMATS = ['asterisk-csv', 'freeswitch-json', 'sipsim-csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

type FormatReader = (path: string, options: FormatOptions) => AsyncGenerator<ParsedItem>;

const READERS: Record<ImportFormat, FormatReader> = {
  'asterisk-csv': readAsteriskCsv,
  'freeswitch-json': readFreeswitchJson,
  'sipsim-csv': readSipsimCsv,
  ndjson: readNdjson,
};

export function isImportFormat(value: string): value is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(value);
}

/**
 * Every item of one import source, in order. A path that cannot be read, an
 * unknown format or a file unusable as a whole (no header, an unknown time
 * zone) throws on the first step; a bad record is an item with `error`.
 */
export async function* readImportSource(path: string, format: ImportFormat, options: FormatOptions = {}): AsyncGenerator<ParsedItem> {
  const reader = Object.hasOwn(READERS, format) ? READERS[format] : undefined;
  if (!reader) throw new Error(`unknown import format "${String(format)}": use one of ${IMPORT_FORMATS.join(', ')}`);
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new Error(`cannot read ${path}: ${why}`);
  }
  try {
    yield* reader(path, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new Error(`cannot read ${path}: it is a folder, and only the freeswitch-json format reads folders`);
    throw error;
  }
}
