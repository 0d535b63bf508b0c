import type { WebhookEventName } from './webhooks.js';

/**
 * The shapes the API answers with, field for field as the server builds them.
 * The package stands alone, so they are written out here; a type test holds
 * them equal to the server's (test/types/sdk-types.test.ts).
 */

export type CallType = 'inbound' | 'outbound' | 'missed' | 'voicemail';
export type Direction = 'inbound' | 'outbound';
export type SipStatus = 'answer' | 'cancel' | 'no_answer' | 'busy' | 'unavailable' | 'other';
export type PhoneStatus = 'not_activated' | 'active' | 'inactive';
/** The events an account can subscribe to: every webhook event but `test`, which is sent on request only. */
export type SubscribableEvent = Exclude<WebhookEventName, 'test'>;

export interface Call {
  id: number;
  call_type: CallType;
  direction: Direction;
  sip_status: SipStatus;
  caller_number: string;
  caller_name: string | null;
  target_number: string;
  receiver_number: string;
  answered_phone_number: string | null;
  answered: boolean;
  wait_duration_sec: number;
  duration_sec: number;
  play_record_link: string | null;
  phone_id: number | null;
  answered_phone_id: number | null;
  employee_id: number | null;
  registration_time: string;
  start_time: string;
  answered_time: string | null;
  end_time: string;
  tags: Array<{ id: number; name: string }>;
}

export interface Tag {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface Employee {
  id: number;
  name: string;
  email: string | null;
  phone_ids: number[];
  created_at: string;
  updated_at: string;
}

/** The settings of a phone, as a phone object carries them. */
interface PhoneSettings {
  outbound_setting: {
    outbound_number: string | null;
    use_different_outbound_number: boolean;
    outbound_number_phone_id: number | null;
  };
  record_setting: { record_inbound_call: boolean; record_outbound_call: boolean };
  voicemail_setting: { allow_voicemail: boolean; voicemail_file_id: number | null };
  forwarding_setting: {
    forced: { enabled: boolean; forward_number: string | null };
    conditional: { enabled: boolean; timeout_seconds: number; forward_number: string | null };
  };
  audio_setting: {
    inbound_call_preroll_id: number | null;
    outbound_call_preroll_id: number | null;
    no_answer_file_id: number | null;
    wait_preroll_dial: number;
  };
}

/** The phone object of the Click-to-Call guide, plus the employee it belongs to. */
export type Phone = {
  id: number;
  name: string;
  status: PhoneStatus;
  internal_number: number | null;
  number: string;
  employee_id: number | null;
  created_at: string;
  updated_at: string;
  group: { group_id: number; group_title: string | null } | null;
} & PhoneSettings;

export type ClickToCallStatus = 'ringing_phone' | 'ringing_target' | 'connected' | 'completed' | 'failed';

/**
 * A click-to-call as it stands: the call object's fields known so far (all of
 * them once it has ended), its status and, when it failed, why.
 */
export type ClickToCall = Partial<Call> & { id: number; status: ClickToCallStatus; failure: string | null };

/** The events an account's webhook receives, and where they go. */
export interface WebhookSetting {
  url: string;
  events: Array<{ event: SubscribableEvent }>;
}

export interface Account {
  id: number;
  company_name: string;
  email: string | null;
  /** IANA time zone, such as Europe/Paris. */
  timezone: string;
  created_at: string;
}

/** Where a page is in its list. `page` is the next page's token, absent on the last page. */
export interface Pagination {
  count: number;
  limit: number;
  page?: string;
  has_more: boolean;
}

// ---- parameters ----

export interface ListParams {
  /** Items per page. */
  limit?: number;
  /** A page token from a previous page's pagination.page. */
  page?: string;
}

/** Every spelling of a call type the server accepts. */
export type CallTypeFilter = 'inbound' | 'incoming' | 'outbound' | 'outgoing' | 'missed' | 'voicemail';

/** Ids as an array, or already joined with commas. */
export type IdList = readonly number[] | number | string;

/**
 * The query of `GET /calls`. Times are a Date or an ISO 8601 string with `Z`
 * or an offset; both ends of the window are inclusive.
 */
export interface CallListParams extends ListParams {
  start_time: Date | string;
  /** Defaults to now. */
  end_time?: Date | string;
  /** Employee ids: calls of any of them. */
  employees?: IdList;
  /** Tag ids: calls with any of them. */
  tags?: IdList;
  call_types?: CallTypeFilter | readonly CallTypeFilter[] | string;
  /** A phone number however it is written, or part of the caller's name. */
  search?: string;
  /** Calls per page, 20 to 1000; 1000 when absent. */
  limit?: number;
}

export interface PhoneListParams extends ListParams {
  status?: PhoneStatus | readonly PhoneStatus[];
}

export interface TagCreateParams {
  /** Unique within the account whatever its case. */
  name: string;
  /** #RRGGBB; #6B7280 when absent. */
  color?: string;
  description?: string | null;
}

export interface TagUpdateParams {
  name?: string;
  color?: string;
  /** null clears it. */
  description?: string | null;
}

export interface CallTagsParams {
  tag_ids: number[];
}

export interface CallCreateParams {
  /** The employee's phone, which rings first. */
  phone_id: number;
  /** The number to call once the employee answers, in E.164. */
  number: string;
}

/** A partial change of a phone: settings objects merge into the current ones. */
export interface PhoneUpdateParams {
  name?: string;
  status?: PhoneStatus;
  employee_id?: number | null;
  group?: { group_id: number; group_title?: string | null } | null;
  outbound_setting?: {
    outbound_number?: string | null;
    use_different_outbound_number?: boolean;
    outbound_number_phone_id?: number | null;
  };
  record_setting?: { record_inbound_call?: boolean; record_outbound_call?: boolean };
  voicemail_setting?: { allow_voicemail?: boolean; voicemail_file_id?: number | null };
  forwarding_setting?: {
    forced?: { enabled?: boolean; forward_number?: string | null };
    conditional?: { enabled?: boolean; timeout_seconds?: number; forward_number?: string | null };
  };
  audio_setting?: {
    inbound_call_preroll_id?: number | null;
    outbound_call_preroll_id?: number | null;
    no_answer_file_id?: number | null;
    wait_preroll_dial?: number;
  };
}
