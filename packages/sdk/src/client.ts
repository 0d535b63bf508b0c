import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  AuthenticationError,
  SipsimError,
  errorFromResponse,
} from './errors.js';
import { Page, PagePromise } from './pagination.js';
import { AccountResource } from './resources/account.js';
import { Calls } from './resources/calls.js';
import { Employees } from './resources/employees.js';
import { Phones } from './resources/phones.js';
import { Tags } from './resources/tags.js';
import { Webhooks } from './resources/webhooks.js';
import { DEFAULT_RETRY_DELAYS, delayBeforeRetryMs, isRetryable, type RetryDelays } from './retry.js';
import { ClientCredentialsTokens, StaticToken, type TokenGrant, type TokenSource } from './tokens.js';
import type { Pagination } from './types.js';
import { VERSION } from './version.js';

/** The part of `fetch` the client uses, so that any implementation can be injected. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

interface CommonOptions {
  /** The server's address, such as https://app.sipsim.com (a trailing /api/v2 is ignored). */
  baseUrl: string;
  /** Per attempt, reading the answer included. Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt (see retry.ts for which failures). Default 2. */
  maxRetries?: number;
  retryDelays?: Partial<RetryDelays>;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  userAgent?: string;
}

export type ClientOptions = CommonOptions &
  (
    | {
        clientId: string;
        clientSecret: string;
        /** Scopes to ask for; every scope of the client when absent. */
        scopes?: string | readonly string[];
        accessToken?: never;
      }
    | { accessToken: string; clientId?: never; clientSecret?: never; scopes?: never }
  );

/** Options of one call, over the client's own. */
export interface RequestOptions {
  timeoutMs?: number;
  maxRetries?: number;
  /** Aborting it ends the call at once with APIUserAbortError, during a retry's wait too. */
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | Date | readonly (string | number)[] | null | undefined;

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** From the server's root, such as /api/v2/calls. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent form-encoded instead. */
  form?: Record<string, string>;
  /** Whether sending it twice does what sending it once does; default: every method but POST. */
  idempotent?: boolean;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when there was none (204). */
  body: T;
}

interface Envelope<T> {
  status: number;
  request_id: string;
  timestamp: string;
  data: T;
}

interface ListEnvelope<T> extends Envelope<T[]> {
  pagination: Pagination;
}

/** Connection failures that happen before a request leaves, whatever its method. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export class Sipsim {
  readonly baseUrl: string;
  readonly calls: Calls;
  readonly tags: Tags;
  readonly phones: Phones;
  readonly employees: Employees;
  readonly account: AccountResource;
  readonly webhooks: Webhooks;

  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelays: RetryDelays;
  private readonly fetch: FetchLike;
  private readonly userAgent: string;
  private readonly tokens: TokenSource;

  constructor(options: ClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.retryDelays = { ...DEFAULT_RETRY_DELAYS, ...options.retryDelays };
    // Called through a wrapper: browsers refuse a fetch detached from its global.
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.userAgent = options.userAgent ?? `sipsim-sdk/${VERSION}`;

    if (typeof options.accessToken === 'string') {
      this.tokens = new StaticToken(options.accessToken);
    } else if (typeof options.clientId === 'string' && typeof options.clientSecret === 'string') {
      const form: Record<string, string> = {
        grant_type: 'client_credentials',
        client_id: options.clientId,
        client_secret: options.clientSecret,
      };
      const scopes = typeof options.scopes === 'string' ? options.scopes : options.scopes?.join(' ');
      if (scopes) form.scope = scopes;
      this.tokens = new ClientCredentialsTokens(() => this.issueToken(form));
    } else {
      throw new SipsimError('Give either clientId and clientSecret, or accessToken');
    }

    this.calls = new Calls(this);
    this.tags = new Tags(this);
    this.phones = new Phones(this);
    this.employees = new Employees(this);
    this.account = new AccountResource(this);
    this.webhooks = new Webhooks(this);
  }

  /** Any request to the server, with the token, retries and errors of the resources. */
  request<T>(request: ApiRequest, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.send<T>(request, options, true);
  }

  /** The `data` of an enveloped answer. */
  async requestData<T>(request: ApiRequest, options?: RequestOptions): Promise<T> {
    return (await this.request<Envelope<T>>(request, options)).body.data;
  }

  /** A list endpoint: its first page, and the way to every next one with the same query. */
  requestList<T>(path: string, query: Record<string, QueryValue>, options?: RequestOptions): PagePromise<T> {
    const fetchPage = async (token: string | undefined): Promise<Page<T>> => {
      const pageQuery = token === undefined ? query : { ...query, page: token };
      const { body } = await this.request<ListEnvelope<T>>({ method: 'GET', path, query: pageQuery }, options);
      return new Page(body.data, body.pagination, body.request_id, fetchPage);
    };
    return new PagePromise(() => fetchPage(undefined));
  }

  private async issueToken(form: Record<string, string>): Promise<TokenGrant> {
    // Asking for another token twice is harmless, so it is retried like a read.
    const { body, status, headers } = await this.send<Partial<TokenGrant>>(
      { method: 'POST', path: '/oauth/token', form, idempotent: true },
      {},
      false,
    );
    if (typeof body?.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new SipsimError('The token endpoint answered without access_token and expires_in', { status, headers });
    }
    return body as TokenGrant;
  }

  private async send<T>(request: ApiRequest, options: RequestOptions, authorize: boolean): Promise<ApiResponse<T>> {
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const idempotent = request.idempotent ?? request.method !== 'POST';
    let renewedToken = false;
    for (let retry = 0; ; ) {
      if (options.signal?.aborted) throw new APIUserAbortError({ cause: options.signal.reason });
      const token = authorize ? await untilAborted(this.tokens.get(), options.signal) : undefined;
      try {
        return await this.attempt<T>(request, token, options);
      } catch (error) {
        if (!(error instanceof SipsimError)) throw error;
        // A token refused before its time (revoked, server restarted with
        // another store): one new token, one more try, outside the retry budget.
        if (error instanceof AuthenticationError && token !== undefined && this.tokens.renewable && !renewedToken) {
          renewedToken = true;
          this.tokens.invalidate(token);
          continue;
        }
        if (retry >= maxRetries || !isRetryable(error, idempotent)) throw error;
        const delay = delayBeforeRetryMs(error, retry, this.retryDelays);
        if (delay === null) throw error;
        await sleep(delay, options.signal);
        retry += 1;
      }
    }
  }

  private async attempt<T>(request: ApiRequest, token: string | undefined, options: RequestOptions): Promise<ApiResponse<T>> {
    const { signal } = options;
    if (signal?.aborted) throw new APIUserAbortError({ cause: signal.reason });
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const url = this.baseUrl + request.path + queryString(request.query);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent, ...options.headers };
    let body: string | undefined;
    if (request.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(request.form).toString();
    } else if (request.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;

    // One controller ends the attempt, for the caller's abort or the timeout.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let response: Response;
    let text: string;
    try {
      const exchange = async () => {
        const answer = await this.fetch(url, { method: request.method, headers, body, signal: controller.signal });
        return { answer, text: await answer.text() };
      };
      // Raced, so that a fetch that ignores its signal still cannot outlive the timeout.
      ({ answer: response, text } = await untilAborted(exchange(), controller.signal));
    } catch (cause) {
      if (signal?.aborted) throw new APIUserAbortError({ cause });
      if (timedOut) throw new APIConnectionTimeoutError(timeoutMs, { cause });
      throw new APIConnectionError(`Connection error: ${describe(cause)}`, { cause, notSent: neverSent(cause) });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }

    let parsed: { value: unknown } | null = null;
    if (text.trim() !== '') {
      try {
        parsed = { value: JSON.parse(text) };
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) throw errorFromResponse(response.status, parsed?.value, response.headers, text);
    if (text.trim() !== '' && parsed === null) {
      throw new SipsimError(`The server answered ${response.status} with a body that is not JSON`, {
        status: response.status,
        headers: response.headers,
        request_id: response.headers.get('x-request-id') ?? undefined,
      });
    }
    return { status: response.status, headers: response.headers, body: parsed?.value as T };
  }
}

function normalizeBaseUrl(baseUrl: string): string {
  try {
    new URL(baseUrl);
  } catch {
    throw new SipsimError(`Invalid baseUrl '${baseUrl}': expected an absolute URL such as https://app.sipsim.com`);
  }
  return baseUrl.replace(/\/+$/, '').replace(/\/api\/v2$/, '');
}

/** Whole seconds print without a fraction, as the server writes times. */
function formatTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new SipsimError('Invalid Date given as a time parameter');
  return date.toISOString().replace('.000Z', 'Z');
}

/** Lists join with commas; absent values and empty lists are left out. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length) params.set(name, value.join(','));
    } else {
      params.set(name, value instanceof Date ? formatTime(value) : String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  // An abort also clears the timer, so that nothing is left pending.
  return untilAborted(waited, signal).finally(() => clearTimeout(timer));
}

/** The promise, or a rejection as soon as the signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new APIUserAbortError({ cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new APIUserAbortError({ cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The codes along an error's causes (fetch wraps the socket's error). */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

function neverSent(error: unknown): boolean {
  return causeCodes(error).some((code) => NOT_SENT_CODES.has(code));
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const codes = causeCodes(error);
  return codes.length ? `${message} (${codes.join(', ')})` : message;
}
