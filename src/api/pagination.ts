import type { FastifyReply, FastifyRequest } from 'fastify';
import { CursorCodec, fingerprintOf, type CursorProblem, type PageKey } from '../domain/cursor.js';
import { ApiError } from '../domain/errors.js';
import type { DirectoryPage } from '../store/pages.js';
import type { Store } from '../store/store.js';
import { sendList, type Pagination } from './envelope.js';

const TOKEN_PROBLEMS = {
  malformed: 'not a page token issued by this server for this list',
  tampered: 'not a page token issued by this server for this list',
  filters: 'it was issued for other filters; send it with the same filters as the request that returned it',
} as const;

/**
 * Keyset pages for every list: a signed token carries the sort key of the last
 * item and a fingerprint of the filters, so that a page never shifts when
 * items are added and a token only works with the filters it was issued for.
 */
export class Pager {
  private constructor(
    private readonly codec: CursorCodec,
    private readonly fingerprint: string,
    private readonly arity: number,
  ) {}

  static async of(store: Store, fingerprint: string, arity: number): Promise<Pager> {
    return new Pager(new CursorCodec(await store.credentials.cursorSecret()), fingerprint, arity);
  }

  /** The key a page starts after, or null for the first page; a bad token is a 400. */
  after(page: string | null | undefined, problems: Partial<Record<CursorProblem, string>> = {}): number[] | null {
    if (page === undefined || page === null || page === '') return null;
    const decoded = this.codec.decode(page, this.fingerprint, this.arity);
    if (typeof decoded === 'string') throw new ApiError('INVALID_PAGE_TOKEN', problems[decoded] ?? TOKEN_PROBLEMS[decoded]);
    return decoded;
  }

  pagination(count: number, limit: number, next: PageKey | null): Pagination {
    return {
      count,
      limit,
      ...(next ? { page: this.codec.encode(next, this.fingerprint) } : {}),
      has_more: next !== null,
    };
  }
}

/**
 * Answers a page of a list kept in id order (tags, phones, employees). The
 * page token is tied to the list, the account and the filters in `scope`.
 */
export async function sendIdPage<T>(
  store: Store,
  request: FastifyRequest,
  reply: FastifyReply,
  { scope, limit, page }: { scope: unknown[]; limit: number; page: string | undefined },
  read: (afterId: number | null) => Promise<DirectoryPage<T>>,
  toResource: (item: T) => unknown,
): Promise<FastifyReply> {
  const pager = await Pager.of(store, fingerprintOf([...scope, request.auth!.accountId]), 1);
  const after = pager.after(page);
  const result = await read(after ? after[0]! : null);
  const next = result.next === null ? null : [result.next];
  return sendList(request, reply, result.items.map(toResource), pager.pagination(result.items.length, limit, next));
}
