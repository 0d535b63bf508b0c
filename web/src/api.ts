/**
 * The dashboard's one way to the server: same-origin fetch with the session
 * cookie, the CSRF token on every write, the API's error envelope turned into
 * an ApiError, and an expired session reported once so that the app can ask
 * for a sign-in and come back to the same view.
 */
export interface Pagination {
  count: number;
  limit: number;
  page?: string;
  has_more: boolean;
}

export interface Answer<T> {
  data: T;
  pagination?: Pagination;
  /** The server's clock when it answered (the envelope's timestamp). */
  timestamp?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    readonly errors: string[] = [message],
  ) {
    super(message);
  }
  /** The server did not answer at all (down, or the network is). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

type Query = Record<string, string | number | boolean | null | undefined | readonly (string | number)[]>;

let csrfToken = '';
let onExpired: (() => void) | null = null;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a request meets a 401: the session has expired or was revoked. */
export function onSessionExpired(handler: (() => void) | null): void {
  onExpired = handler;
}

export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length) params.set(key, value.join(','));
    } else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal; quiet401?: boolean } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path + queryString(options.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'The server does not answer. Check that sipsim is running, then try again.');
  }
  if (response.status === 204) return { data: undefined as T };
  let body: any = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const errors: string[] = Array.isArray(body?.errors) ? body.errors.map(String) : [`The server answered ${response.status}`];
    if (response.status === 401 && !options.quiet401) onExpired?.();
    throw new ApiError(response.status, errors.join(' '), body?.code, errors);
  }
  return { data: body?.data as T, pagination: body?.pagination, timestamp: body?.timestamp };
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal });
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} });
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, { body });
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, { body });
export const del = <T>(path: string) => request<T>('DELETE', path);

/** Every item of a paged list (tags, employees, phones: lists of tens, not of calls). */
export async function all<T>(path: string, query: Query = {}): Promise<T[]> {
  const items: T[] = [];
  let page: string | undefined;
  do {
    const answer = await get<T[]>(path, { ...query, limit: 1000, page });
    items.push(...answer.data);
    page = answer.pagination?.has_more ? answer.pagination.page : undefined;
  } while (page);
  return items;
}
