import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sipCodeOfOutcome } from '../../domain/outcomes.js';
import type { FormatOptions, ParsedItem, PbxCallRecord } from '../record.js';
import { recordingLink } from './recording-link.js';
import { itemOf } from './text-records.js';

/**
 * FreeSWITCH mod_json_cdr: one JSON document per call leg, written to a file
 * (`log-dir`) or posted over HTTP. Channel variables are strings, URL-encoded
 * when `encode-values` is on (the default), so `+33...` arrives as `%2B33...`.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Undoes mod_json_cdr's `%xx` encoding; text that was never encoded comes back unchanged. */
export function decodeCdrValue(text: string): string {
  if (text.indexOf('%') === -1) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // A lone `%`, or bytes that are not UTF-8: decode what can be decoded.
    return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/** A value of a JSON object as trimmed, decoded text; null when absent or empty. */
function textOf(object: Json | null, key: string): string | null {
  if (!object) return null;
  const value = object[key];
  let text: string;
  if (typeof value === 'string') text = decodeCdrValue(value).trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return null;
  return text === '' ? null : text;
}

/** The first caller profile of the call flow; older versions write `callflow` as one object. */
function callerProfiles(cdr: Json): { profile: Json | null; times: Json | null; all: Json[] } {
  const flow = cdr.callflow;
  const steps = Array.isArray(flow) ? flow.filter(isObject) : isObject(flow) ? [flow] : [];
  const all = steps.map((step) => step.caller_profile).filter(isObject);
  const first = steps[0];
  return {
    profile: first && isObject(first.caller_profile) ? first.caller_profile : null,
    times: first && isObject(first.times) ? first.times : null,
    all,
  };
}

/** Whole Unix seconds from `*_epoch`, else from `*_uepoch` or the call flow's microsecond times; 0 means never. */
function epochOf(variables: Json, name: string, times: Json | null, timesKey: string): number | null | string {
  const seconds = textOf(variables, `${name}_epoch`);
  if (seconds !== null) {
    if (!/^\d{1,11}$/.test(seconds)) return `${name}_epoch must be Unix seconds, not "${seconds}"`;
    return Number(seconds);
  }
  const micros = textOf(variables, `${name}_uepoch`) ?? textOf(times, timesKey);
  if (micros !== null) {
    if (!/^\d{1,17}$/.test(micros)) return `${name}_uepoch must be Unix microseconds, not "${micros}"`;
    return Math.floor(Number(micros) / 1e6);
  }
  return null;
}

const NUMBER_OR_EXTENSION = /^\+?\d{2,15}$/;

/** The user part of a dial string or channel name: `sofia/internal/101@pbx.example.fr` gives `101`. */
function userOfChannel(channel: string | null): string | null {
  if (!channel) return null;
  const last = channel.split('/').pop() ?? '';
  const user = last.replace(/^sips?:/, '').split('@')[0]!.split(';')[0]!;
  return NUMBER_OR_EXTENSION.test(user) ? user : null;
}

function answeredByOf(variables: Json, profiles: Json[]): string | null {
  for (const key of ['last_sent_callee_id_number', 'callee_id_number', 'dialed_user']) {
    const value = textOf(variables, key);
    if (value && NUMBER_OR_EXTENSION.test(value)) return value;
  }
  const bridged = userOfChannel(textOf(variables, 'bridge_channel'));
  if (bridged) return bridged;
  for (const profile of profiles) {
    const originatee = isObject(profile.originatee) ? profile.originatee.originatee_caller_profiles : null;
    if (!Array.isArray(originatee)) continue;
    for (const callee of originatee) {
      if (!isObject(callee)) continue;
      const user = userOfChannel(textOf(callee, 'chan_name')) ?? textOf(callee, 'destination_number');
      if (user && NUMBER_OR_EXTENSION.test(user)) return user;
    }
  }
  return null;
}

/** The final SIP code of an unanswered leg: what FreeSWITCH sent or got, else its hangup cause. */
function sipCodeOfFailure(variables: Json): number | null {
  const term = textOf(variables, 'sip_term_status');
  if (term && /^[3-6]\d\d$/.test(term)) return Number(term);
  const proto = textOf(variables, 'proto_specific_hangup_cause');
  const m = proto ? /^sip:([3-6]\d\d)$/.exec(proto) : null;
  if (m) return Number(m[1]);
  const cause = textOf(variables, 'hangup_cause');
  return cause ? sipCodeOfOutcome(cause) : null;
}

/**
 * Why a CDR is left out although it is sound: the other leg of a bridge has a
 * CDR of its own when mod_json_cdr's log-b-leg is on, and the A-leg already
 * tells the call. Null for an A-leg (or for what is not a CDR at all).
 */
export function skippedFreeswitchLeg(cdr: unknown): string | null {
  if (!isObject(cdr) || !isObject(cdr.variables)) return null;
  const originatingLeg = textOf(cdr.variables, 'originating_leg_uuid');
  if (originatingLeg || callerProfiles(cdr).all.some((p) => isObject(p.originator))) {
    return `the B-leg of call ${originatingLeg ?? '(unknown)'}: its A-leg tells the call`;
  }
  return null;
}

/** One mod_json_cdr document as a record, or the reason it was refused. Shared with the live HTTP endpoint. */
export function recordFromFreeswitchCdr(cdr: unknown, options: FormatOptions = {}): PbxCallRecord | string {
  if (!isObject(cdr)) return 'a FreeSWITCH CDR must be a JSON object';
  const variables = cdr.variables;
  if (!isObject(variables)) return 'variables is missing: not a mod_json_cdr record';
  const { profile, times, all: profiles } = callerProfiles(cdr);

  const bLeg = skippedFreeswitchLeg(cdr);
  if (bLeg) return `this is ${bLeg}; only A-leg CDRs are imported`;

  const pbxId = textOf(variables, 'uuid') ?? textOf(variables, 'call_uuid') ?? textOf(profile, 'uuid');
  if (!pbxId) return 'variables.uuid is missing';
  if (pbxId.length > 200) return 'variables.uuid must be at most 200 characters';

  const callerNumber =
    textOf(variables, 'caller_id_number') ??
    textOf(profile, 'caller_id_number') ??
    textOf(variables, 'effective_caller_id_number') ??
    textOf(variables, 'sip_from_user') ??
    textOf(profile, 'ani');
  if (!callerNumber) return 'caller_id_number is missing (in variables and in callflow caller_profile)';
  const targetNumber =
    textOf(variables, 'destination_number') ??
    textOf(profile, 'destination_number') ??
    textOf(variables, 'sip_to_user') ??
    textOf(variables, 'sip_req_user');
  if (!targetNumber) return 'destination_number is missing (in variables and in callflow caller_profile)';
  if (callerNumber.length > 64) return 'caller_id_number must be at most 64 characters';
  if (targetNumber.length > 64) return 'destination_number must be at most 64 characters';
  const callerName =
    textOf(variables, 'caller_id_name') ?? textOf(profile, 'caller_id_name') ?? textOf(variables, 'effective_caller_id_name');

  const start = epochOf(variables, 'start', times, 'created_time');
  if (typeof start === 'string') return start;
  if (start === null || start === 0) return 'start_epoch is missing';
  const end = epochOf(variables, 'end', times, 'hangup_time');
  if (typeof end === 'string') return end;
  if (end === null || end === 0) return 'end_epoch is missing';
  if (end < start) return `end_epoch ${end} is before start_epoch ${start}`;
  const answer = epochOf(variables, 'answer', times, 'answered_time');
  if (typeof answer === 'string') return answer;
  if (answer !== null && answer !== 0) {
    if (answer < start) return `answer_epoch ${answer} is before start_epoch ${start}`;
    if (answer > end) return `answer_epoch ${answer} is after end_epoch ${end}`;
  }

  // FreeSWITCH answers to take a voicemail; the caller reached no person.
  const voicemail = textOf(variables, 'voicemail_message_len') !== null;
  const reachedVoicemailApp = /^voicemail$/i.test(textOf(variables, 'last_app') ?? '');
  const answeredTime = answer && !voicemail && !reachedVoicemailApp ? answer : null;

  const record: PbxCallRecord = {
    pbxId,
    callerNumber,
    targetNumber,
    startTime: start,
    answeredTime,
    endTime: end,
  };
  if (answeredTime !== null) {
    record.sipCode = 200;
    const answeredBy = answeredByOf(variables, profiles);
    if (answeredBy) record.answeredBy = answeredBy;
  } else if (voicemail || reachedVoicemailApp) {
    record.sipCode = 480;
  } else {
    const code = sipCodeOfFailure(variables);
    if (code !== null) record.sipCode = code;
  }
  if (voicemail) record.voicemail = true;
  if (callerName && callerName !== callerNumber) record.callerName = callerName.slice(0, 200);
  // call_direction (set by FusionPBX and recent dialplans) is the call's; `direction` is only the leg's.
  const callDirection = textOf(variables, 'call_direction');
  if (callDirection === 'inbound' || callDirection === 'outbound') record.direction = callDirection;

  const recording =
    textOf(variables, 'record_path') ??
    textOf(variables, 'recording_file') ??
    textOf(variables, 'record_file_path') ??
    textOf(variables, 'voicemail_file_path');
  if (recording) {
    const link = recordingLink(recording, options);
    if (link) record.playRecordLink = link;
  }
  return record;
}

function cdrItem(file: string, text: string, options: FormatOptions): ParsedItem {
  let cdr: unknown;
  try {
    cdr = JSON.parse(text);
  } catch (error) {
    return itemOf(file, 1, text, `not valid JSON: ${(error as Error).message}`);
  }
  const skipped = skippedFreeswitchLeg(cdr);
  if (skipped) return { source: file, line: 1, raw: text, skipped };
  return itemOf(file, 1, text, recordFromFreeswitchCdr(cdr, options));
}

/** A CDR file, or a folder of them (`*.json`, `*.cdr.json`) read in name order. */
export async function* readFreeswitchJson(path: string, options: FormatOptions): AsyncGenerator<ParsedItem> {
  const info = await stat(path);
  const files = info.isDirectory()
    ? (await readdir(path))
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => join(path, name))
    : [path];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      yield itemOf(file, 1, '', `cannot read the file: ${(error as Error).message}`);
      continue;
    }
    if (text.trim() === '') continue;
    yield cdrItem(file, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, options);
  }
}
