import type { RequestOptions, Sipsim } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type { Call, CallCreateParams, CallListParams, CallTagsParams, ClickToCall } from '../types.js';
import { id } from './path.js';

const ids = (value: CallListParams['employees']) => (typeof value === 'number' ? [value] : value);

/** Call history (scope calls.read), the tags on calls (calls.tags.write), and click-to-call (calls.create). */
export class Calls {
  constructor(private readonly client: Sipsim) {}

  /** Calls whose start_time is in the window, newest first. */
  list(params: CallListParams, options?: RequestOptions): PagePromise<Call> {
    const { employees, tags, call_types, ...rest } = params;
    const query = { ...rest, employees: ids(employees), tags: ids(tags), call_types };
    return this.client.requestList<Call>('/api/v2/calls', query, options);
  }

  retrieve(callId: number, options?: RequestOptions): Promise<Call> {
    return this.client.requestData({ method: 'GET', path: `/api/v2/calls/${id(callId)}` }, options);
  }

  /** Adds tags to the call (those already on it stay); answers with the call as it now stands. */
  addTags(callId: number, body: CallTagsParams, options?: RequestOptions): Promise<Call> {
    // Adding a tag that is there already changes nothing, so a resend is safe.
    return this.client.requestData({ method: 'POST', path: `/api/v2/calls/${id(callId)}/tags`, body, idempotent: true }, options);
  }

  /** Sets the call's tags to exactly these (an empty list removes them all). */
  replaceTags(callId: number, body: CallTagsParams, options?: RequestOptions): Promise<Call> {
    return this.client.requestData({ method: 'PUT', path: `/api/v2/calls/${id(callId)}/tags`, body }, options);
  }

  /**
   * Click-to-call: rings the employee's phone, then the number. Never resent
   * after a lost answer: a second request would place a second call.
   */
  create(body: CallCreateParams, options?: RequestOptions): Promise<ClickToCall> {
    return this.client.requestData({ method: 'POST', path: '/api/v2/calls', body }, options);
  }

  /** A click-to-call as it stands: while it lasts, then as its record with its status. */
  retrieveClickToCall(callId: number, options?: RequestOptions): Promise<ClickToCall> {
    return this.client.requestData({ method: 'GET', path: `/api/v2/calls/${id(callId)}` }, options);
  }

  /** Hangs up a click-to-call in progress; answers with it as it ended. */
  hangup(callId: number, options?: RequestOptions): Promise<ClickToCall> {
    // Not resent: after a lost answer the call has ended, and a second request would only be told so (409).
    return this.client.requestData({ method: 'DELETE', path: `/api/v2/calls/${id(callId)}`, idempotent: false }, options);
  }

  /** Takes one tag off the call. */
  removeTag(callId: number, tagId: number, options?: RequestOptions): Promise<Call> {
    return this.client.requestData({ method: 'DELETE', path: `/api/v2/calls/${id(callId)}/tags/${id(tagId)}` }, options);
  }
}
