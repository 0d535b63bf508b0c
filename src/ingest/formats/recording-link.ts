import type { FormatOptions } from '../record.js';

const HTTP_URL = /^https?:\/\/[^\s/?#]+[^\s]*$/i;

/**
 * A recording as a link the API can serve: a file path becomes the
 * configured base URL plus the file's name; an http(s) URL is kept as it is;
 * anything else gives null, because a bare server path is no use to a client.
 */
export function recordingLink(pathOrUrl: string, options: FormatOptions): string | null {
  const text = pathOrUrl.trim();
  if (text === '') return null;
  if (HTTP_URL.test(text)) return text;
  if (!options.recordingBaseUrl) return null;
  const name = text.slice(Math.max(text.lastIndexOf('/'), text.lastIndexOf('\\')) + 1);
  if (name === '' || name === '.' || name === '..') return null;
  const base = options.recordingBaseUrl.endsWith('/') ? options.recordingBaseUrl : `${options.recordingBaseUrl}/`;
  return base + encodeURIComponent(name);
}

/** Whether a PBX field looks like a recording file rather than some other note. */
export function looksLikeRecording(text: string): boolean {
  const trimmed = text.trim();
  return /\.(?:wav|wav49|gsm|mp3|ogg|opus|flac|m4a|sln)$/i.test(trimmed) || HTTP_URL.test(trimmed);
}
