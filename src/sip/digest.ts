/**
 * HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617):
 * MD5 and MD5-sess, with qop=auth, qop=auth-int, or no qop at all.
 */
import { createHash, randomBytes } from 'node:crypto';
import { splitOutsideQuotes } from './uri.js';

export interface DigestChallenge {
  scheme: string;
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: string;
  /** The qop values offered, empty when the server sent none (RFC 2069 compatibility). */
  qop: string[];
  stale: boolean;
}

export interface DigestCredentials {
  username: string;
  password: string;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

function unquote(value: string): string {
  const v = value.trim();
  return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** Parses a WWW-Authenticate or Proxy-Authenticate value; undefined when it is not a usable Digest challenge. */
export function parseChallenge(value: string): DigestChallenge | undefined {
  const match = /^\s*(\S+)\s+([\s\S]*)$/.exec(value);
  if (!match || match[1]!.toLowerCase() !== 'digest') return undefined;
  const fields: Record<string, string> = {};
  for (const part of splitOutsideQuotes(match[2]!, ',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields[part.slice(0, eq).trim().toLowerCase()] = unquote(part.slice(eq + 1));
  }
  if (fields.realm === undefined || fields.nonce === undefined) return undefined;
  const challenge: DigestChallenge = {
    scheme: 'Digest',
    realm: fields.realm,
    nonce: fields.nonce,
    algorithm: fields.algorithm ?? 'MD5',
    qop: fields.qop ? fields.qop.split(',').map((q) => q.trim().toLowerCase()).filter(Boolean) : [],
    stale: (fields.stale ?? '').toLowerCase() === 'true',
  };
  if (fields.opaque !== undefined) challenge.opaque = fields.opaque;
  return challenge;
}

export interface DigestInput {
  challenge: DigestChallenge;
  credentials: DigestCredentials;
  method: string;
  /** The digest-uri: the Request-URI of the request being authorised. */
  uri: string;
  /** Needed only for qop=auth-int. */
  body?: string;
  /** For tests: otherwise random. */
  cnonce?: string;
  /** How many times this nonce has been used, this time included. */
  nonceCount?: number;
}

export interface DigestResult {
  response: string;
  qop?: string;
  cnonce?: string;
  nc?: string;
  /** The Authorization / Proxy-Authorization header value. */
  header: string;
}

export class DigestError extends Error {
  override name = 'DigestError';
}

/** Computes the digest response and the header that carries it. */
export function digestAuthorization(input: DigestInput): DigestResult {
  const { challenge, credentials } = input;
  const algorithm = challenge.algorithm.toUpperCase();
  if (algorithm !== 'MD5' && algorithm !== 'MD5-SESS') throw new DigestError(`unsupported digest algorithm ${challenge.algorithm}`);
  const qop = challenge.qop.includes('auth') ? 'auth' : challenge.qop.includes('auth-int') ? 'auth-int' : challenge.qop.length ? null : undefined;
  if (qop === null) throw new DigestError(`unsupported qop ${challenge.qop.join(',')}`);
  const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
  const nc = (input.nonceCount ?? 1).toString(16).padStart(8, '0');

  let ha1 = md5(`${credentials.username}:${challenge.realm}:${credentials.password}`);
  if (algorithm === 'MD5-SESS') ha1 = md5(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = qop === 'auth-int' ? md5(`${input.method}:${input.uri}:${md5(input.body ?? '')}`) : md5(`${input.method}:${input.uri}`);
  const response = qop ? md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${challenge.nonce}:${ha2}`);

  const quote = (v: string) => `"${v.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(input.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  const result: DigestResult = { response, header: `Digest ${parts.join(', ')}` };
  if (qop) Object.assign(result, { qop, cnonce, nc });
  return result;
}
