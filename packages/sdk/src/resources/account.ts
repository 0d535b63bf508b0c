import type { RequestOptions, Sipsim } from '../client.js';
import type { Account } from '../types.js';

/** The account of the token (scope account.read). */
export class AccountResource {
  constructor(private readonly client: Sipsim) {}

  retrieve(options?: RequestOptions): Promise<Account> {
    return this.client.requestData({ method: 'GET', path: '/api/v2/account' }, options);
  }
}
