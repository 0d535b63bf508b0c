import type { RequestOptions, Sipsim } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type { Phone, PhoneListParams, PhoneUpdateParams } from '../types.js';
import { id } from './path.js';

/** The account's phone lines (scopes phones.read and phones.write). */
export class Phones {
  constructor(private readonly client: Sipsim) {}

  /** Phones in id order, optionally only those with some statuses. */
  list(params: PhoneListParams = {}, options?: RequestOptions): PagePromise<Phone> {
    const { status, ...rest } = params;
    return this.client.requestList<Phone>('/api/v2/phones', { ...rest, status }, options);
  }

  retrieve(phoneId: number, options?: RequestOptions): Promise<Phone> {
    return this.client.requestData({ method: 'GET', path: `/api/v2/phones/${id(phoneId)}` }, options);
  }

  /** Changes what is given; settings objects merge into the current ones. */
  update(phoneId: number, body: PhoneUpdateParams, options?: RequestOptions): Promise<Phone> {
    return this.client.requestData({ method: 'PATCH', path: `/api/v2/phones/${id(phoneId)}`, body }, options);
  }
}
