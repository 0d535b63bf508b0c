import { nowSeconds } from '../domain/time.js';
import { tagsMessage } from '../domain/webhook-messages.js';
import type { Store } from '../store/store.js';
import type { CallTagsChange, RetagWebhooks, TagChange } from '../store/tag-store.js';

/**
 * Changes of tags that tell receivers: renaming or deleting a tag, or changing
 * the tags of a call, sends each call whose tags changed as a `tags` webhook
 * carrying the call's whole current list, by name. The store finds which calls
 * changed and queues these messages in the transaction of the change (see
 * RetagWebhooks); creating a tag changes no call, so it sends nothing.
 */
function tagsWebhooks(): RetagWebhooks {
  const now = nowSeconds();
  return { event: 'tags', messages: (calls) => calls.map((call) => tagsMessage(call, call.tagNames, now)) };
}

/** Renames, recolours or redescribes a tag; NotFoundError or ConflictError (a taken name) otherwise. */
export function updateTag(store: Store, accountId: number, id: number, change: TagChange) {
  return store.tags.update(accountId, id, change, tagsWebhooks());
}

/** Deletes a tag and takes it off every call; NotFoundError when the account has no such tag. */
export function deleteTag(store: Store, accountId: number, id: number): Promise<void> {
  return store.tags.delete(accountId, id, tagsWebhooks());
}

/** Adds, removes or replaces the tags of a call; NotFoundError for a call or tag the account lacks. */
export function changeCallTags(store: Store, accountId: number, callId: number, change: CallTagsChange): Promise<void> {
  return store.tags.changeOnCall(accountId, callId, change, tagsWebhooks());
}
