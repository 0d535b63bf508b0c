import { describe, expect, it } from 'vitest';
import type * as sdk from '../../packages/sdk/src/index.js';
import type { CallResource, CallType, Direction, SipStatus } from '../../src/domain/call.js';
import type { EmployeeResource, PhoneResource, PhoneStatus, TagResource } from '../../src/domain/directory.js';
import type { WebhookEventName } from '../../src/domain/webhook-events.js';

/**
 * The SDK is its own package and imports nothing of the server, so it writes
 * the API's shapes out itself. They must stay the server's, field for field:
 * a difference fails `npm run typecheck` (and the types project) here.
 */

/** True when the two types are identical: an extra optional field is a difference too. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <T extends true>(): T | undefined => undefined;

describe("the SDK's shapes", () => {
  it('are the ones the server answers with', () => {
    same<Same<sdk.Call, CallResource>>();
    same<Same<sdk.Tag, TagResource>>();
    same<Same<sdk.Phone, PhoneResource>>();
    same<Same<sdk.Employee, EmployeeResource>>();
    same<Same<sdk.CallType, CallType>>();
    same<Same<sdk.Direction, Direction>>();
    same<Same<sdk.SipStatus, SipStatus>>();
    same<Same<sdk.PhoneStatus, PhoneStatus>>();
    same<Same<sdk.SubscribableEvent, WebhookEventName>>();
    expect(true).toBe(true);
  });
});
