import { recordFromCallObject } from '../call-object.js';
import type { FormatOptions, ParsedItem } from '../record.js';
import { itemOf, readLineBatches } from './text-records.js';

/** One SIPSIM call object per line, as `sipsim export --format ndjson` and `jq -c '.data[]'` write them. */
export async function* readNdjson(path: string, options: FormatOptions): AsyncGenerator<ParsedItem> {
  for await (const batch of readLineBatches(path)) {
    for (const { line, raw } of batch) {
      if (isBlank(raw)) continue;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        yield itemOf(path, line, raw, `not valid JSON: ${(error as Error).message}`);
        continue;
      }
      const result = recordFromCallObject(value, options);
      yield itemOf(path, line, raw, result);
    }
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
