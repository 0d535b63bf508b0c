/** Every OAuth scope the API knows, each guarding what its name says. */
export const ALL_SCOPES = [
  'account.read',
  'calls.read',
  'calls.write',
  'calls.create',
  'calls.tags.write',
  'calls.transcription.read',
  'calls.transcription.write',
  'calls.summary.read',
  'calls.summary.write',
  'phones.read',
  'phones.write',
  'tags.read',
  'tags.write',
  'webhooks.read',
  'webhooks.write',
  'settings.read',
  'settings.write',
] as const;

export type Scope = (typeof ALL_SCOPES)[number];

const known = new Set<string>(ALL_SCOPES);

/** Splits a space-separated scope string (OAuth's format), dropping duplicates. */
export function parseScopeList(value: string): string[] {
  return [...new Set(value.split(/[\s,]+/).filter(Boolean))];
}

/** The scopes of `requested` that are not known, in order. */
export function unknownScopes(requested: string[]): string[] {
  return requested.filter((s) => !known.has(s));
}
