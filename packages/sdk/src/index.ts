/**
 * The SIPSIM API v2 client: `new Sipsim({ baseUrl, clientId, clientSecret })`.
 * It runs wherever `fetch` does (Node.js 18+, browsers, Deno, Bun).
 */
export { Sipsim, type ApiRequest, type ApiResponse, type ClientOptions, type FetchLike, type QueryValue, type RequestOptions } from './client.js';
export {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  SipsimError,
} from './errors.js';
export { Page, PagePromise } from './pagination.js';
export { AccountResource } from './resources/account.js';
export { Calls } from './resources/calls.js';
export { Employees } from './resources/employees.js';
export { Phones } from './resources/phones.js';
export { Tags } from './resources/tags.js';
export { Webhooks } from './resources/webhooks.js';
export { DEFAULT_RETRY_DELAYS, type RetryDelays } from './retry.js';
export type { TokenGrant } from './tokens.js';
export type * from './types.js';
export {
  parseWebhookEvent,
  verifyWebhookSignature,
  webhookEventName,
  WebhookVerificationError,
  WEBHOOK_EVENT_NAMES,
  type IncomingCallAnswerEvent,
  type IncomingCallEndChainMemberCallEvent,
  type IncomingCallEndEvent,
  type IncomingCallEndStatus,
  type IncomingCallStartChainMemberCallEvent,
  type IncomingCallStartEvent,
  type OutgoingCallAnswerEvent,
  type OutgoingCallEndEvent,
  type OutgoingCallEndStatus,
  type OutgoingCallStartEvent,
  type RatingCriterionScore,
  type RatingEvent,
  type SmsEvent,
  type SpeechEvent,
  type SpeechSegment,
  type SummaryEvent,
  type TagsEvent,
  type TestEvent,
  type VerifyWebhookOptions,
  type VoicemailEvent,
  type WebhookBody,
  type WebhookCallFields,
  type WebhookEvent,
  type WebhookEventName,
  type WebhookHeaders,
  type WebhookVerificationReason,
} from './webhooks.js';
export { Sipsim as default } from './client.js';
