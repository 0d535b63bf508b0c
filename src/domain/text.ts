/**
 * Rules for text that comes in from outside (request bodies, query strings,
 * credentials, PBX records) and for stored text that goes out to a terminal.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a piece of text cannot be taken in, or null. NUL cannot be stored by
 * PostgreSQL and is in no name or number; a lone surrogate is not Unicode and
 * would come back out as U+FFFD, unlike what was sent.
 */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain NUL characters (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode text (it holds a lone surrogate)';
  return null;
}

/** The first problem of any string or key inside a parsed value, or null. */
export function deepTextProblem(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return textProblem(value);
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  for (const [key, inner] of Object.entries(value)) {
    const problem = textProblem(key) ?? deepTextProblem(inner, depth + 1);
    if (problem) return problem;
  }
  return null;
}

const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Text as a terminal may show it: C0 and C1 control characters (the escape
 * sequences that recolour the screen, retitle the window or move the cursor),
 * DEL, and the bidirectional overrides that make text read backwards are
 * written as a visible `\uXXXX`, which is also how JSON escapes them, so that
 * JSON output stays valid JSON with the same meaning. With `keepNewlines`, line
 * breaks stay (for whole outputs whose lines the program made itself).
 */
export function printable(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? UNPRINTABLE_BUT_NEWLINE : UNPRINTABLE, escaped);
}
