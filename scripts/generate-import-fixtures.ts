/**
 * Writes realistic PBX call records in any import format, of any size, the
 * same for the same seed:
 *
 *   node --import tsx scripts/generate-import-fixtures.ts --format F --calls N --out FILE [--seed S]
 *     [--time-zone Europe/Paris] [--from 2024-03-04] [--newcdrcolumns]
 *
 * The calls are those of a small French company: a sales line (+33198765432)
 * and a support line (+33198765433), extensions 101 to 112, customers in
 * France and abroad who call in, are called back and sometimes get voicemail.
 * For freeswitch-json, --out is a folder and each call is one file.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FIRST_NAMES, LAST_NAMES, randomNumber, randomSource, type Random } from '../src/demo/generate.js';
import { formatDateTime, zonedTimeToUnix } from '../src/domain/time.js';
import { IMPORT_FORMATS, isImportFormat, type ImportFormat } from '../src/ingest/formats/index.js';

export const SALES_LINE = '+33198765432';
export const SUPPORT_LINE = '+33198765433';
const TRUNK = 'ovh-trunk';
const PBX_HOST = 'pbx.dupont-associes.fr';

interface Extension {
  number: string;
  name: string;
  line: string;
}

/** Sales answers 101-106, support 107-112. */
export const EXTENSIONS: Extension[] = [
  'Camille Martin', 'Hugo Bernard', 'Léa Dubois', 'Thomas Moreau', 'Chloé Laurent', 'Julien Lefèvre',
  'Inès Girard', 'Maxime Roux', 'Élodie Fournier', 'Karim Mercier', 'Sophie Bonnet', 'Antoine Faure',
].map((name, i) => ({ number: String(101 + i), name, line: i < 6 ? SALES_LINE : SUPPORT_LINE }));

type Kind = 'inbound' | 'outbound' | 'internal';
type Outcome = 'answered' | 'cancel' | 'no_answer' | 'busy' | 'failed' | 'voicemail';

/** One call, independent of any format. Times are Unix seconds. */
export interface ModelCall {
  seq: number;
  uuid: string;
  uniqueid: string;
  kind: Kind;
  outcome: Outcome;
  callerNumber: string;
  callerName: string | null;
  /** What was dialled: a company line, a customer's number or an extension. */
  targetNumber: string;
  /** The extension that rang last (answered, when the call was answered). */
  extension: Extension;
  start: number;
  answer: number | null;
  /** When the PBX picked up: the answer, or the start of a voicemail greeting. */
  pbxAnswer: number | null;
  end: number;
  /** Local wall-clock offset of the PBX at the call, seconds east of UTC. */
  offset: number;
  recording: string | null;
  tags: string[];
}

interface Customer {
  number: string;
  name: string | null;
}

const TAGS_BY_LINE: Record<string, string[]> = {
  [SALES_LINE]: ['Devis', 'Nouveau client', 'Relance', 'Commande'],
  [SUPPORT_LINE]: ['Incident', 'Facturation', 'Urgent', 'Résolu'],
};

function hex(random: Random, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += '0123456789abcdef'[random.int(0, 15)];
  return text;
}

function uuidOf(random: Random): string {
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-${'89ab'[random.int(0, 3)]}${hex(random, 3)}-${hex(random, 12)}`;
}

const KINDS: ReadonlyArray<readonly [Kind, number]> = [['inbound', 60], ['outbound', 30], ['internal', 10]];
const OUTCOMES: Record<Kind, ReadonlyArray<readonly [Outcome, number]>> = {
  inbound: [['answered', 70], ['cancel', 12], ['no_answer', 7], ['voicemail', 6], ['busy', 3], ['failed', 2]],
  outbound: [['answered', 64], ['no_answer', 14], ['busy', 8], ['cancel', 8], ['failed', 6]],
  internal: [['answered', 80], ['no_answer', 10], ['busy', 5], ['cancel', 5]],
};
/** Talk time in seconds: short calls, ordinary ones, long ones. */
const TALK_TIMES: ReadonlyArray<readonly [readonly [number, number], number]> = [[[5, 60], 35], [[60, 300], 45], [[300, 2400], 20]];

/**
 * The calls, one at a time: office hours (08:00-19:00 local, weekdays), a
 * call every minute or two, so a million calls span about four years.
 */
export function* modelCalls(count: number, seed: number, timeZone = 'Europe/Paris', from = '2024-03-04'): Generator<ModelCall> {
  const random = randomSource(seed);
  const customers: Customer[] = Array.from({ length: 4000 }, () => ({
    number: randomNumber(random),
    name: random.chance(0.7) ? `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}` : null,
  }));
  const [y, m, d] = from.split('-').map(Number) as [number, number, number];
  // The wall clock, kept as seconds since 1970 as if local time were UTC.
  let wall = Date.UTC(y, m - 1, d, 8, 0, 0) / 1000;
  let asteriskCounter = 1000;

  for (let seq = 1; seq <= count; seq++) {
    wall += random.int(5, 150);
    const hour = Math.floor(wall / 3600) % 24;
    if (hour >= 19 || hour < 8) wall = (Math.floor(wall / 86400) + (hour >= 19 ? 1 : 0)) * 86400 + 8 * 3600 + random.int(0, 600);
    let weekday = new Date(wall * 1000).getUTCDay();
    while (weekday === 0 || weekday === 6) {
      wall += 86400;
      weekday = (weekday + 1) % 7;
    }
    const date = new Date(wall * 1000);
    const start = zonedTimeToUnix(
      { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds() },
      timeZone,
    );
    const offset = wall - start;

    const kind = random.weighted(KINDS);
    const outcome = random.weighted(OUTCOMES[kind]);
    const extension = random.pick(EXTENSIONS);
    const customer = random.pick(customers);

    let callerNumber: string, callerName: string | null, targetNumber: string;
    if (kind === 'inbound') {
      callerNumber = customer.number;
      callerName = customer.name;
      targetNumber = extension.line;
    } else if (kind === 'outbound') {
      callerNumber = extension.number;
      callerName = extension.name;
      targetNumber = customer.number;
    } else {
      // Any other extension: skip over the caller's own.
      const other = random.int(0, EXTENSIONS.length - 2);
      const callee = EXTENSIONS[other >= EXTENSIONS.indexOf(extension) ? other + 1 : other]!;
      callerNumber = extension.number;
      callerName = extension.name;
      targetNumber = callee.number;
    }
    const rang = kind === 'internal' ? EXTENSIONS.find((e) => e.number === targetNumber)! : extension;

    const ring = outcome === 'failed' ? random.int(0, 2) : outcome === 'busy' ? random.int(0, 3) : outcome === 'no_answer' ? random.int(25, 45) : outcome === 'voicemail' ? random.int(20, 30) : random.int(2, 25);
    let answer: number | null = null;
    let end: number;
    if (outcome === 'answered') {
      answer = start + ring;
      const [shortest, longest] = random.weighted(TALK_TIMES);
      end = answer + random.int(shortest, longest);
    } else if (outcome === 'voicemail') {
      end = start + ring + random.int(8, 90);
    } else {
      end = start + ring;
    }
    asteriskCounter += random.int(1, 9);
    const uniqueid = `${start}.${asteriskCounter}`;
    const recorded = (outcome === 'answered' && kind !== 'internal' && random.chance(0.4)) || outcome === 'voicemail';
    const recording = recorded
      ? outcome === 'voicemail'
        ? `/var/spool/asterisk/voicemail/default/${rang.number}/INBOX/msg${String(seq % 10000).padStart(4, '0')}.wav`
        : `/var/spool/asterisk/monitor/${new Date(wall * 1000).toISOString().slice(0, 10).replace(/-/g, '/')}/${kind === 'inbound' ? 'in' : 'out'}-${targetNumber.replace('+', '')}-${callerNumber.replace('+', '')}-${uniqueid}.wav`
      : null;
    const tags = kind !== 'internal' && random.chance(0.25) ? [random.pick(TAGS_BY_LINE[rang.line]!)] : [];

    yield {
      seq, uuid: uuidOf(random), uniqueid, kind, outcome, callerNumber, callerName, targetNumber,
      extension: rang, start, answer, pbxAnswer: outcome === 'voicemail' ? start + ring : answer, end, offset, recording, tags,
    };
  }
}

// ---------------------------------------------------------------- formats

const SIP_STATUS_OF_OUTCOME: Record<Outcome, string> = {
  answered: 'answer', cancel: 'cancel', no_answer: 'no_answer', busy: 'busy', failed: 'unavailable', voicemail: 'no_answer',
};
const RECORDINGS_URL = 'https://recordings.dupont-associes.fr/';

function callObject(call: ModelCall): Record<string, unknown> {
  const answered = call.answer !== null;
  const callType = call.kind !== 'inbound' ? 'outbound' : answered ? 'inbound' : call.outcome === 'voicemail' ? 'voicemail' : 'missed';
  const name = call.recording ? call.recording.slice(call.recording.lastIndexOf('/') + 1) : null;
  return {
    id: 880000 + call.seq,
    call_type: callType,
    direction: callType === 'outbound' ? 'outbound' : 'inbound',
    sip_status: SIP_STATUS_OF_OUTCOME[call.outcome],
    caller_number: call.callerNumber,
    caller_name: call.callerName,
    target_number: call.targetNumber,
    answered_phone_number: answered ? (call.kind === 'outbound' ? call.targetNumber : call.extension.number) : null,
    answered,
    wait_duration_sec: (call.answer ?? call.end) - call.start,
    duration_sec: answered ? call.end - call.answer! : 0,
    play_record_link: name ? RECORDINGS_URL + name : null,
    registration_time: formatDateTime(call.start),
    start_time: formatDateTime(call.start),
    answered_time: answered ? formatDateTime(call.answer!) : null,
    end_time: formatDateTime(call.end),
    tags: call.tags.map((tag, i) => ({ id: 10 + i, name: tag })),
  };
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const SIPSIM_COLUMNS = [
  'id', 'call_type', 'sip_status', 'caller_number', 'caller_name', 'target_number', 'answered_phone_number', 'answered',
  'wait_duration_sec', 'duration_sec', 'start_time', 'answered_time', 'end_time', 'play_record_link', 'tags',
] as const;

function sipsimCsvRow(call: ModelCall): string {
  const object = callObject(call);
  return SIPSIM_COLUMNS.map((column) =>
    column === 'tags' ? csvCell((object.tags as Array<{ name: string }>).map((t) => t.name).join(';')) : csvCell(object[column]),
  ).join(',');
}

let wallDay = NaN;
let wallDayText = '';
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DD HH:MM:SS` on the PBX's wall clock. */
function wallTime(unix: number, offset: number): string {
  const wall = unix + offset;
  const day = Math.floor(wall / 86400);
  if (day !== wallDay) {
    wallDay = day;
    wallDayText = new Date(day * 86400000).toISOString().slice(0, 10);
  }
  const s = wall - day * 86400;
  return `${wallDayText} ${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

const q = (text: string) => `"${text.replace(/"/g, '""')}"`;

/** French customers dial in as E.164; extensions dial out in the national format, as people do. */
function nationalDialled(number: string): string {
  return number.startsWith('+33') ? `0${number.slice(3)}` : `00${number.slice(1)}`;
}

function asteriskRow(call: ModelCall, newColumns: boolean): string {
  const channelId = (n: number) => (n & 0xffffffff).toString(16).padStart(8, '0');
  const seq = Number(call.uniqueid.split('.')[1]);
  let src: string, dst: string, dcontext: string, clid: string, channel: string, dstchannel: string, lastapp: string, lastdata: string;
  if (call.kind === 'inbound') {
    src = call.callerNumber;
    dst = call.targetNumber;
    dcontext = 'from-trunk';
    clid = call.callerName ? `"${call.callerName}" <${call.callerNumber}>` : `"${call.callerNumber}" <${call.callerNumber}>`;
    channel = `PJSIP/${TRUNK}-${channelId(seq)}`;
    if (call.outcome === 'voicemail') {
      dstchannel = '';
      lastapp = 'VoiceMail';
      lastdata = `${call.extension.number}@default,u`;
    } else {
      dstchannel = call.outcome === 'failed' ? '' : `PJSIP/${call.extension.number}-${channelId(seq + 1)}`;
      lastapp = 'Dial';
      lastdata = `PJSIP/${call.extension.number},30,tT`;
    }
  } else {
    src = call.callerNumber;
    dst = call.kind === 'outbound' ? nationalDialled(call.targetNumber) : call.targetNumber;
    dcontext = 'from-internal';
    clid = `"${call.extension.name}" <${call.callerNumber}>`;
    channel = `PJSIP/${call.callerNumber}-${channelId(seq)}`;
    dstchannel = call.outcome === 'failed' ? '' : call.kind === 'outbound' ? `PJSIP/${TRUNK}-${channelId(seq + 1)}` : `PJSIP/${call.targetNumber}-${channelId(seq + 1)}`;
    lastapp = 'Dial';
    lastdata = call.kind === 'outbound' ? `PJSIP/${dst}@${TRUNK},60,T` : `PJSIP/${call.targetNumber},30,tT`;
  }
  const disposition =
    call.outcome === 'answered' || call.outcome === 'voicemail'
      ? 'ANSWERED'
      : call.outcome === 'busy'
        ? 'BUSY'
        : call.outcome === 'failed'
          ? (seq % 2 === 0 ? 'FAILED' : 'CONGESTION')
          : 'NO ANSWER';
  // Asterisk itself answers to record a voicemail.
  const answer = call.pbxAnswer;
  const cells = [
    q(''), q(src), q(dst), q(dcontext), q(clid), q(channel), q(dstchannel), q(lastapp), q(lastdata),
    q(wallTime(call.start, call.offset)), answer === null ? '' : q(wallTime(answer, call.offset)), q(wallTime(call.end, call.offset)),
    String(call.end - call.start), String(answer === null ? 0 : call.end - answer), q(disposition), q('DOCUMENTATION'),
    q(call.uniqueid), q(call.outcome === 'voicemail' ? '' : (call.recording ?? '')),
  ];
  if (newColumns) cells.push(q(''), q(call.uniqueid), '0');
  return cells.join(',');
}

const FS_CAUSE: Record<Outcome, [string, string]> = {
  answered: ['NORMAL_CLEARING', '200'],
  cancel: ['ORIGINATOR_CANCEL', '487'],
  no_answer: ['NO_ANSWER', '480'],
  busy: ['USER_BUSY', '486'],
  failed: ['UNALLOCATED_NUMBER', '404'],
  voicemail: ['NORMAL_CLEARING', '200'],
};

const URL_UNSAFE = new Set('\r\n "#%&+:;<=>?@[\\]^`{|}');

/** FreeSWITCH's own URL encoding: unsafe characters and every byte outside printable ASCII. */
function enc(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x20 || byte > 0x7e || URL_UNSAFE.has(c) ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }
  return out;
}

/** A mod_json_cdr A-leg document, values URL-encoded as `encode-values` does. */
export function freeswitchCdr(call: ModelCall): Record<string, unknown> {
  const [cause, term] = FS_CAUSE[call.outcome];
  const answered = call.answer !== null;
  const pbxAnswer = call.pbxAnswer;
  const bLeg = `${call.uuid.slice(0, 24)}${call.uuid.slice(24).split('').reverse().join('')}`;
  const inbound = call.kind === 'inbound';
  const calleeChannel = call.kind === 'outbound' ? `sofia/gateway/${TRUNK}/${call.targetNumber}` : `sofia/internal/${call.extension.number}@${PBX_HOST}`;
  const variables: Record<string, string> = {
    direction: 'inbound',
    uuid: call.uuid,
    session_id: String(call.seq),
    sip_from_user: enc(call.callerNumber),
    sip_from_host: inbound ? 'sbc.ovh.net' : PBX_HOST,
    sip_to_user: enc(call.targetNumber),
    sip_req_user: enc(call.targetNumber),
    channel_name: enc(inbound ? `sofia/external/${call.callerNumber}@sbc.ovh.net` : `sofia/internal/${call.callerNumber}@${PBX_HOST}`),
    call_direction: call.kind === 'internal' ? 'local' : call.kind,
    domain_name: PBX_HOST,
    call_uuid: call.uuid,
    caller_id_name: enc(call.callerName ?? call.callerNumber),
    caller_id_number: enc(call.callerNumber),
    destination_number: enc(call.targetNumber),
    call_timeout: '30',
    hangup_after_bridge: 'true',
    continue_on_fail: 'true',
    hangup_cause: cause,
    hangup_cause_q850: { NORMAL_CLEARING: '16', ORIGINATOR_CANCEL: '487', NO_ANSWER: '19', USER_BUSY: '17', UNALLOCATED_NUMBER: '1' }[cause] ?? '16',
    sip_term_status: term,
    proto_specific_hangup_cause: enc(`sip:${term}`),
    start_stamp: enc(wallTime(call.start, call.offset)),
    start_epoch: String(call.start),
    start_uepoch: `${call.start}${String(call.seq % 1000000).padStart(6, '0')}`,
    answer_epoch: String(pbxAnswer ?? 0),
    end_epoch: String(call.end),
    duration: String(call.end - call.start),
    billsec: String(pbxAnswer === null ? 0 : call.end - pbxAnswer),
    last_app: call.outcome === 'voicemail' ? 'voicemail' : 'bridge',
    last_arg: enc(call.outcome === 'voicemail' ? `default ${PBX_HOST} ${call.extension.number}` : calleeChannel),
  };
  if (answered) {
    variables.last_bridge_to = bLeg;
    variables.bridge_channel = enc(calleeChannel);
    variables.last_sent_callee_id_number = enc(call.kind === 'outbound' ? call.targetNumber : call.extension.number);
    variables.last_sent_callee_id_name = enc(call.kind === 'outbound' ? 'Outbound Call' : call.extension.name);
  }
  if (call.recording && call.outcome === 'answered') variables.record_path = enc(call.recording.replace('/var/spool/asterisk/monitor', `/var/lib/freeswitch/recordings/${PBX_HOST}`));
  if (call.outcome === 'voicemail') {
    variables.voicemail_message_len = enc('00:00:' + two(Math.min(59, call.end - pbxAnswer!)));
    variables.voicemail_file_path = enc(`/var/lib/freeswitch/storage/voicemail/default/${PBX_HOST}/${call.extension.number}/msg_${call.uuid}.wav`);
  }
  const profile = {
    username: call.kind === 'inbound' ? '' : call.callerNumber,
    dialplan: 'XML',
    caller_id_name: call.callerName ?? call.callerNumber,
    ani: call.callerNumber,
    caller_id_number: call.callerNumber,
    network_addr: inbound ? '91.121.129.20' : '192.168.10.' + call.callerNumber.slice(-2),
    destination_number: call.targetNumber,
    uuid: call.uuid,
    source: 'mod_sofia',
    context: inbound ? 'public' : 'default',
    chan_name: inbound ? `sofia/external/${call.callerNumber}@sbc.ovh.net` : `sofia/internal/${call.callerNumber}@${PBX_HOST}`,
    ...(call.outcome !== 'voicemail' && call.outcome !== 'failed'
      ? { originatee: { originatee_caller_profiles: [{ caller_id_number: call.callerNumber, destination_number: call.kind === 'outbound' ? call.targetNumber : call.extension.number, uuid: bLeg, chan_name: calleeChannel }] } }
      : {}),
  };
  const micro = (t: number | null) => (t === null ? '0' : `${t}000000`);
  return {
    'core-uuid': '5d5b8a5c-7d1e-4c2a-9f4b-0c3a2e1f6b7d',
    switchname: 'pbx-paris-1',
    channel_data: { state: 'CS_REPORTING', direction: 'inbound', state_number: '11' },
    variables,
    app_log: {
      applications: call.outcome === 'voicemail'
        ? [{ app_name: 'answer', app_data: '' }, { app_name: 'voicemail', app_data: `default ${PBX_HOST} ${call.extension.number}` }]
        : [{ app_name: 'set', app_data: 'call_timeout=30' }, { app_name: 'bridge', app_data: calleeChannel }],
    },
    callflow: [
      {
        dialplan: 'XML',
        profile_index: '1',
        extension: { name: inbound ? 'public_did' : 'local_extension', number: call.targetNumber },
        caller_profile: profile,
        times: {
          created_time: micro(call.start),
          profile_created_time: micro(call.start),
          progress_time: micro(call.start + 1),
          answered_time: micro(pbxAnswer),
          hangup_time: micro(call.end),
          resurrect_time: '0',
          transfer_time: '0',
        },
      },
    ],
  };
}

// ---------------------------------------------------------------- writing

export interface GenerateImportOptions {
  format: ImportFormat;
  calls: number;
  out: string;
  seed?: number;
  timeZone?: string;
  from?: string;
  /** Asterisk: also write peeraccount, linkedid and sequence. */
  newCdrColumns?: boolean;
}

/** Writes the calls in the format, streaming, and resolves when all is on disk. */
export async function generateImportFixture(options: GenerateImportOptions): Promise<void> {
  const calls = modelCalls(options.calls, options.seed ?? 1, options.timeZone ?? 'Europe/Paris', options.from);
  if (options.format === 'freeswitch-json') {
    await mkdir(options.out, { recursive: true });
    for (const call of calls) {
      await writeFile(join(options.out, `a_${call.uuid}.cdr.json`), JSON.stringify(freeswitchCdr(call), null, 2) + '\n');
    }
    return;
  }
  const row =
    options.format === 'ndjson'
      ? (call: ModelCall) => JSON.stringify(callObject(call))
      : options.format === 'sipsim-csv'
        ? sipsimCsvRow
        : (call: ModelCall) => asteriskRow(call, options.newCdrColumns ?? false);
  const stream = createWriteStream(options.out);
  const finished = once(stream, 'finish');
  let buffer = options.format === 'sipsim-csv' ? SIPSIM_COLUMNS.join(',') + '\n' : '';
  for (const call of calls) {
    buffer += row(call) + '\n';
    if (buffer.length >= 1 << 20) {
      if (!stream.write(buffer)) await once(stream, 'drain');
      buffer = '';
    }
  }
  stream.end(buffer);
  await finished;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      format: { type: 'string' },
      calls: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'time-zone': { type: 'string', default: 'Europe/Paris' },
      from: { type: 'string', default: '2024-03-04' },
      newcdrcolumns: { type: 'boolean', default: false },
    },
  });
  const format = values.format ?? '';
  const calls = Number(values.calls);
  if (!isImportFormat(format) || !Number.isSafeInteger(calls) || calls < 0 || !values.out) {
    process.stderr.write(
      `usage: generate-import-fixtures --format (${IMPORT_FORMATS.join('|')}) --calls N --out FILE [--seed S] [--time-zone ZONE] [--from YYYY-MM-DD] [--newcdrcolumns]\n`,
    );
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  await generateImportFixture({
    format,
    calls,
    out: values.out,
    seed: Number(values.seed),
    timeZone: values['time-zone'],
    from: values.from,
    newCdrColumns: values.newcdrcolumns,
  });
  process.stderr.write(`${calls} calls written to ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
