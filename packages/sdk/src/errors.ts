/**
 * Every failure the SDK reports is a SipsimError. Answers from the server are
 * APIErrors, one class per status a program may want to catch; failures with
 * no answer are connection errors, timeouts or the caller's own abort.
 */

export interface ErrorDetails {
  status?: number;
  request_id?: string;
  errors?: string[];
  code?: string;
  headers?: Headers;
  cause?: unknown;
}

export class SipsimError extends Error {
  /** The HTTP status; undefined when no answer came back. */
  readonly status: number | undefined;
  /** Identifies the request in the server's logs. */
  readonly request_id: string | undefined;
  /** The server's messages, for people. */
  readonly errors: string[];
  /** The server's stable machine-readable code, such as NOT_FOUND or invalid_client. */
  readonly code: string | undefined;
  readonly headers: Headers | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.request_id = details.request_id;
    this.errors = details.errors ?? [message];
    this.code = details.code;
    this.headers = details.headers;
  }
}

/** The server answered with an error status. */
export class APIError extends SipsimError {
  declare readonly status: number;
  declare readonly headers: Headers;

  constructor(status: number, details: Omit<ErrorDetails, 'status'> & { headers: Headers }) {
    const messages = details.errors?.length ? details.errors : [`HTTP ${status}`];
    const suffix = details.request_id ? ` (request ${details.request_id})` : '';
    super(`${status}: ${messages.join('; ')}${suffix}`, { ...details, status, errors: messages });
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class RateLimitError extends APIError {}
/** Any 5xx answer. */
export class InternalServerError extends APIError {}
export { InternalServerError as ServerError };

/** No answer: the connection failed or broke. */
export class APIConnectionError extends SipsimError {
  /**
   * True when the request cannot have reached the server (the connection was
   * refused, the host not found), so that even a creation is safe to resend.
   */
  readonly notSent: boolean;

  constructor(message = 'Connection error', details: { cause?: unknown; notSent?: boolean } = {}) {
    super(message, { cause: details.cause });
    this.notSent = details.notSent ?? false;
  }
}

export class APIConnectionTimeoutError extends APIConnectionError {
  constructor(timeoutMs: number, details: { cause?: unknown } = {}) {
    super(`Request timed out after ${timeoutMs} ms`, details);
  }
}

/** The caller's AbortSignal fired. */
export class APIUserAbortError extends SipsimError {
  constructor(details: { cause?: unknown } = {}) {
    super('Request was aborted', details);
  }
}

const BY_STATUS: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  429: RateLimitError,
};

/**
 * The error for an answer, read from the API's envelope
 * (`{status, errors, code, request_id, path}`) or from the token endpoint's
 * RFC 6749 shape (`{error, error_description}`).
 */
export function errorFromResponse(status: number, body: unknown, headers: Headers, text: string): APIError {
  const envelope = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  let errors: string[] = [];
  let code: string | undefined;
  if (Array.isArray(envelope.errors)) {
    errors = envelope.errors.map(String);
    if (typeof envelope.code === 'string') code = envelope.code;
  } else if (typeof envelope.error === 'string') {
    code = envelope.error;
    errors = [typeof envelope.error_description === 'string' ? envelope.error_description : envelope.error];
  } else if (body === undefined && text.trim() !== '') {
    // Not JSON (a proxy's HTML page): its start says more than the status alone.
    errors = [text.trim().slice(0, 200)];
  }
  const request_id =
    (typeof envelope.request_id === 'string' ? envelope.request_id : undefined) ?? headers.get('x-request-id') ?? undefined;
  const ErrorClass = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIError);
  return new ErrorClass(status, { errors, code, request_id, headers });
}
