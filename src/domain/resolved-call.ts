import type { CallRow } from './call.js';

/**
 * What ingest hands the store: a call resolved against the account's phones,
 * and what resolving needs to know of a phone.
 */

/** What the resolver needs of a phone. */
export interface PhoneRef {
  id: number;
  employeeId: number | null;
  number: string;
  internalNumber: number | null;
}

/** A call ready to store by its PBX id: the derived row, its PBX id and tag names. */
export type ResolvedCall = CallRow & { pbxId: string; tagNames?: string[] };
