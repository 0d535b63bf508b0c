import type { RequestOptions, Sipsim } from '../client.js';
import type { PagePromise } from '../pagination.js';
import type { ListParams, Tag, TagCreateParams, TagUpdateParams } from '../types.js';
import { id } from './path.js';

/** Tags to put on calls (scopes tags.read and tags.write). */
export class Tags {
  constructor(private readonly client: Sipsim) {}

  /** Tags in id order. */
  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Tag> {
    return this.client.requestList<Tag>('/api/v2/tags', { ...params }, options);
  }

  /** A taken name (whatever its case) is a ConflictError. Not resent after a lost answer (see retry.ts). */
  create(body: TagCreateParams, options?: RequestOptions): Promise<Tag> {
    return this.client.requestData({ method: 'POST', path: '/api/v2/tags', body }, options);
  }

  retrieve(tagId: number, options?: RequestOptions): Promise<Tag> {
    return this.client.requestData({ method: 'GET', path: `/api/v2/tags/${id(tagId)}` }, options);
  }

  update(tagId: number, body: TagUpdateParams, options?: RequestOptions): Promise<Tag> {
    return this.client.requestData({ method: 'PATCH', path: `/api/v2/tags/${id(tagId)}`, body }, options);
  }

  /** Deletes the tag and takes it off every call. */
  async delete(tagId: number, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/api/v2/tags/${id(tagId)}` }, options);
  }
}
