/**
 * Every error the API can answer with, in one registry: a stable machine code,
 * the HTTP status and a message template. Routes throw `ApiError`s built from
 * here; the error plugin turns them into the documented envelope.
 */
export const errorRegistry = {
  INVALID_PARAMETER: { status: 400, message: (detail: string) => detail },
  INVALID_BODY: { status: 400, message: (detail: string) => detail },
  INVALID_PAGE_TOKEN: {
    status: 400,
    message: (detail: string) => `Invalid parameter 'page': ${detail}`,
  },
  MALFORMED_AUTHORIZATION: {
    status: 401,
    message: () => "Malformed Authorization header: expected 'Bearer <access token>'",
  },
  MISSING_TOKEN: { status: 401, message: () => 'Missing access token: send an Authorization: Bearer header' },
  INVALID_TOKEN: { status: 401, message: () => 'Invalid or expired access token' },
  INVALID_CLIENT: { status: 401, message: () => 'Invalid client credentials' },
  INVALID_LOGIN: { status: 401, message: () => 'Wrong email or password' },
  NO_SESSION: { status: 401, message: () => 'Not signed in, or the session has expired: sign in again' },
  INSUFFICIENT_SCOPE: {
    status: 403,
    message: (scope: string) => `This request needs the '${scope}' scope, which the access token was not granted`,
  },
  CSRF: { status: 403, message: (detail: string) => `Cross-site request refused: ${detail}` },
  ADMIN_ONLY: { status: 403, message: () => 'Only an admin of the account may do this' },
  NOT_FOUND: { status: 404, message: (what: string) => `${what} not found` },
  ROUTE_NOT_FOUND: { status: 404, message: (route: string) => `No such endpoint: ${route}` },
  METHOD_NOT_ALLOWED: { status: 405, message: (route: string) => `Method not allowed: ${route}` },
  CONFLICT: { status: 409, message: (detail: string) => detail },
  BAD_URL: { status: 400, message: (path: string) => `The path is not a valid URL: ${path}` },
  GONE: { status: 410, message: (detail: string) => detail },
  BODY_TOO_LARGE: { status: 413, message: () => 'Request body too large' },
  PATH_PARAMETER_TOO_LONG: {
    status: 414,
    message: (limit: string) => `A path parameter is longer than ${limit} characters`,
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: (type: string) => `Unsupported content type: ${type}` },
  SIGN_IN_LOCKED: {
    status: 429,
    message: (seconds: string) => `Too many wrong passwords for this email: sign-in is locked, retry after ${seconds}s`,
  },
  RATE_LIMITED: { status: 429, message: (seconds: string) => `Rate limit exceeded: retry after ${seconds}s` },
  INTERNAL: { status: 500, message: () => 'Internal server error' },
  STORE_UNAVAILABLE: { status: 503, message: () => 'The data store is unavailable, retry later' },
  SHUTTING_DOWN: { status: 503, message: () => 'This server is shutting down' },
  NO_RECORDING: { status: 409, message: (detail: string) => detail },
  AI_OFF: {
    status: 503,
    message: () =>
      'Transcripts, summaries and ratings are off on this server: set SIPSIM_TRANSCRIBE_URL and SIPSIM_LLM_URL (OpenAI-compatible servers), or serve --demo for the sandbox engine',
  },
  CLICK_TO_CALL_OFF: {
    status: 503,
    message: () => 'Click-to-call is off on this server: set SIPSIM_SIP_PROXY (and SIPSIM_SIP_DOMAIN) to place calls through your SIP proxy',
  },
} as const satisfies Record<string, { status: number; message: (arg: string) => string }>;

export type ErrorCode = keyof typeof errorRegistry;

export class ApiError extends Error {
  readonly status: number;
  readonly messages: string[];
  constructor(
    readonly code: ErrorCode,
    /** The template's argument, or several details that each make a message. */
    detail: string | string[] = '',
    /** Extra headers the error needs (WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    const entry = errorRegistry[code];
    const messages = typeof detail === 'string' ? [entry.message(detail)] : detail.map((d) => entry.message(d));
    super(messages.join('; '));
    this.name = 'ApiError';
    this.status = entry.status;
    this.messages = messages;
  }
}

export const invalidParameter = (detail: string) => new ApiError('INVALID_PARAMETER', detail);

/**
 * Where a query's problems are gathered, so that one answer lists every
 * invalid parameter instead of the first one found.
 */
export class ParameterProblems {
  private readonly details: string[] = [];
  add(detail: string): void {
    this.details.push(detail);
  }
  get any(): boolean {
    return this.details.length > 0;
  }
  /** Throws one 400 listing them all, when there is any. */
  throwIfAny(): void {
    if (this.details.length) throw new ApiError('INVALID_PARAMETER', this.details);
  }
}

/** "a tag", "an employee": the article a noun takes. */
export const withArticle = (noun: string): string => `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;

/** Raised by the store when the database cannot be reached; maps to 503. */
export class StoreUnavailableError extends Error {
  /** `detail` says where and why, for logs and the CLI; API answers keep their fixed message. */
  constructor(cause: unknown, detail?: string) {
    super(detail ? `store unavailable: ${detail}` : 'store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Raised by the store when a write breaks a uniqueness rule; maps to 409. */
export class StoreConflictError extends Error {
  constructor(
    cause: unknown,
    /** What had to be unique, as `table.column` (`tags.name`), when known. */
    readonly target: string | null = null,
  ) {
    super(`conflict${target ? ` on ${target}` : ''}`, { cause });
    this.name = 'StoreConflictError';
  }
}

/**
 * A row the caller named does not exist (or is not the caller's to see). The
 * one way every layer says "not found": the API answers 404 NOT_FOUND with
 * `${what} not found`, the CLI prints it. `find…` lookups whose absence is a
 * normal answer return null instead.
 */
export class NotFoundError extends Error {
  constructor(
    /** What was not found, as the message starts: "Tag", "Phone". */
    readonly what: string,
    /** Which one, and in which account, when known: the CLI names them and where to look. */
    readonly which: { id?: number | string; accountId?: number } = {},
  ) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/**
 * A request that breaks a rule of the current state (a duplicate name, a call
 * without a recording). The one way every layer says "conflict": the API
 * answers 409 CONFLICT with this message.
 */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
