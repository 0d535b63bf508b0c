import { formatDateTime } from './time.js';

/**
 * The account's directory: employees, their phones, and the tags put on calls.
 * These are the rules and the resource shapes the API and the CLI share.
 */

export const PHONE_STATUSES = ['not_activated', 'active', 'inactive'] as const;
export type PhoneStatus = (typeof PHONE_STATUSES)[number];

export const DEFAULT_TAG_COLOR = '#6B7280';
/** The documented answer to a tag name that is taken. */
export const DUPLICATE_TAG = 'Tag with this name already exists';
export const TAG_NAME_MAX = 100;
export const DESCRIPTION_MAX = 500;
export const PERSON_NAME_MAX = 200;
export const PHONE_NAME_MAX = 200;
/** Extensions as the docs give them: three digits. */
export const EXTENSION_MIN = 100;
export const EXTENSION_MAX = 999;
export const HEX_COLOR = '^#[0-9A-Fa-f]{6}$';
export const E164 = '^\\+[1-9][0-9]{6,14}$';

/** Tag names are unique per account whatever their case, accents' encoding or surrounding spaces. */
export function tagNameKey(name: string): string {
  return name.normalize('NFC').trim().toLowerCase();
}

export interface Employee {
  id: number;
  accountId: number;
  name: string;
  email: string | null;
  createdAt: number;
  updatedAt: number;
  /** Ids of the employee's phones, in id order. */
  phoneIds: number[];
}

export interface PhoneSettings {
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

export const PHONE_SETTING_KEYS = [
  'outbound_setting',
  'record_setting',
  'voicemail_setting',
  'forwarding_setting',
  'audio_setting',
] as const satisfies ReadonlyArray<keyof PhoneSettings>;

export const DEFAULT_PHONE_SETTINGS: PhoneSettings = {
  outbound_setting: { outbound_number: null, use_different_outbound_number: false, outbound_number_phone_id: null },
  record_setting: { record_inbound_call: true, record_outbound_call: true },
  voicemail_setting: { allow_voicemail: true, voicemail_file_id: null },
  forwarding_setting: {
    forced: { enabled: false, forward_number: null },
    conditional: { enabled: false, timeout_seconds: 25, forward_number: null },
  },
  audio_setting: { inbound_call_preroll_id: null, outbound_call_preroll_id: null, no_answer_file_id: null, wait_preroll_dial: 0 },
};

/** A partial change of settings, each level optional. */
export type PhoneSettingsPatch = { [K in keyof PhoneSettings]?: DeepPartial<PhoneSettings[K]> };
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | null ? (T[K] extends null ? T[K] : DeepPartial<T[K]> | T[K]) : T[K] };

/** Applies a partial change to settings: objects merge, everything else replaces. */
export function mergeSettings<T>(current: T, patch: unknown): T {
  if (patch === undefined) return current;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch) || current === null || typeof current !== 'object') {
    return patch as T;
  }
  const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) out[key] = mergeSettings(out[key], value);
  return out as T;
}

export interface Phone {
  id: number;
  accountId: number;
  employeeId: number | null;
  name: string;
  status: PhoneStatus;
  internalNumber: number | null;
  number: string;
  groupId: number | null;
  groupTitle: string | null;
  settings: PhoneSettings;
  createdAt: number;
  updatedAt: number;
}

export interface Tag {
  id: number;
  accountId: number;
  name: string;
  color: string;
  description: string | null;
}

// ---- the shapes the API answers with ----

export interface TagResource {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export const tagResource = (tag: Tag): TagResource => ({
  id: tag.id,
  name: tag.name,
  color: tag.color,
  description: tag.description,
});

export interface EmployeeResource {
  id: number;
  name: string;
  email: string | null;
  phone_ids: number[];
  created_at: string;
  updated_at: string;
}

export const employeeResource = (e: Employee): EmployeeResource => ({
  id: e.id,
  name: e.name,
  email: e.email,
  phone_ids: e.phoneIds,
  created_at: formatDateTime(e.createdAt),
  updated_at: formatDateTime(e.updatedAt),
});

/** The phone object of the Click-to-Call guide, plus the employee it belongs to. */
export type PhoneResource = {
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

export const phoneResource = (p: Phone): PhoneResource => ({
  id: p.id,
  name: p.name,
  status: p.status,
  internal_number: p.internalNumber,
  number: p.number,
  employee_id: p.employeeId,
  created_at: formatDateTime(p.createdAt),
  updated_at: formatDateTime(p.updatedAt),
  group: p.groupId === null ? null : { group_id: p.groupId, group_title: p.groupTitle },
  ...p.settings,
});
