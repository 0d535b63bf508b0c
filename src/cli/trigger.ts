import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { incomingSteps, outgoingSteps, someMobile, type IncomingKind, type OutgoingKind, type Step } from '../demo/call-scenarios.js';
import { formatDateTime } from '../domain/time.js';
import type { Phone, Sipsim } from 'sipsim/sdk';
import { clientAction, connect, connectionOptions } from './client/connection.js';
import { CliError, jsonOption, positiveInt } from './common.js';
import type { ConnectionFlags } from './credentials.js';

/**
 * `sipsim trigger ...`: plays a call, an SMS or a change of tags against a
 * running server through its public API, as a phone system would report it,
 * so that the account's webhook receives what a real one sends. Events are
 * posted one by one to /api/v2/pbx/events as the call goes, seconds apart
 * (or all at once with --fast, timed as if the call had just happened).
 */

type TriggerOpts = ConnectionFlags & { json?: boolean; fast?: boolean };

const newPbxId = (): string => `trigger_${randomBytes(6).toString('hex')}`;

async function accountPhones(api: Sipsim): Promise<Phone[]> {
  const phones: Phone[] = [];
  for await (const phone of api.phones.list({ status: 'active' })) phones.push(phone);
  return phones;
}

/** A phone of the account named by its number or extension; anything else is taken as a plain number. */
function findPhone(phones: Phone[], given: string | undefined, what: string): { number: string; phone: Phone | null } {
  if (given === undefined) {
    const phone = phones[0];
    if (!phone) throw new CliError(`The account has no active phone to use as ${what}; give one with --${what === 'the called number' ? 'to' : 'from'} NUMBER`);
    return { number: phone.number, phone };
  }
  const phone = phones.find((p) => p.number === given || String(p.internal_number) === given) ?? null;
  return { number: phone ? phone.number : given, phone };
}

const extension = (phone: Phone): string => (phone.internal_number === null ? phone.number : String(phone.internal_number));

/** The phones a call to `target` rings one after another: the target first, then the account's others. */
function chainOf(phones: Phone[], target: Phone | null, length: number): string[] {
  const order = target ? [target, ...phones.filter((p) => p.id !== target.id)] : phones;
  if (!order.length) return [];
  return Array.from({ length }, (_, i) => extension(order[i % order.length]!));
}

interface EventsAnswer {
  accepted: number;
  events: Array<{ status: string; error?: string; sms_id?: number }>;
  calls: Array<{ pbx_id: string; id: number; outcome: string }>;
}

const postEvent = (api: Sipsim, event: Record<string, unknown>) =>
  api.requestData<EventsAnswer>({ method: 'POST', path: '/api/v2/pbx/events', body: event, idempotent: true });

/** Posts the steps as the call goes, or all at once with `fast`, timed so that the call ends now. */
async function play(api: Sipsim, steps: Step[], opts: TriggerOpts): Promise<void> {
  const pbxId = newPbxId();
  const length = steps[steps.length - 1]!.at;
  const began = Date.now();
  const base = Math.floor(began / 1000) - (opts.fast ? length : 0);
  let callId: number | null = null;
  const sent: Array<Record<string, unknown>> = [];
  for (const step of steps) {
    if (!opts.fast) {
      const wait = began + step.at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const { at, ...fields } = step;
    const time = base + at;
    const event = { ...fields, pbx_id: pbxId, time: formatDateTime(time) };
    const answer = await postEvent(api, event);
    sent.push(event);
    callId = answer.calls[0]?.id ?? callId;
    if (!opts.json) {
      const detail = step.status ? `  ${step.status}${step.duration ? `, ${step.duration} s` : ''}` : '';
      process.stdout.write(`+${String(at).padStart(3)}s  ${step.event.padEnd(38)} ${step.caller} -> ${step.receiver}${detail}\n`);
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ pbx_id: pbxId, call_id: callId, events: sent }, null, 2)}\n`);
  else process.stdout.write(`Call ${callId ?? '(not stored)'} (pbx_id ${pbxId}): ${sent.length} events posted; the account's webhook gets each one it subscribes to.\n`);
}

function withConnection(command: Command): Command {
  for (const option of connectionOptions()) command.addOption(option);
  return command.addOption(jsonOption());
}

const fastOption = () => new Option('--fast', 'post every event at once instead of seconds apart, timed as if the call had just ended');
const talkOption = () => new Option('--duration <seconds>', 'seconds of conversation when answered').argParser(positiveInt('--duration')).default(15);

export function registerTriggerCommands(program: Command): void {
  const trigger = program
    .command('trigger')
    .description("play a call, an SMS or a change of tags on a running server, through its API, so that the account's webhook receives them");

  withConnection(
    trigger
      .command('incoming-call')
      .description('a call from outside to one of the account\'s numbers: answered unless --missed, --voicemail or --busy')
      .addOption(new Option('--missed', 'nobody answers').conflicts(['voicemail', 'busy']))
      .addOption(new Option('--voicemail', 'nobody answers and the caller leaves a message').conflicts(['missed', 'busy']))
      .addOption(new Option('--busy', 'the line is busy').conflicts(['missed', 'voicemail', 'chain']))
      .addOption(new Option('--chain <n>', 'how many phones ring, one after another').argParser(positiveInt('--chain')).default(1))
      .option('--from <number>', 'the caller (default: a random mobile number)')
      .option('--to <phone>', "the number called: one of the account's numbers or extensions (default: its first active phone)")
      .addOption(talkOption())
      .addOption(fastOption()),
  ).action(
    clientAction(async (opts: TriggerOpts & { missed?: boolean; voicemail?: boolean; busy?: boolean; chain: number; from?: string; to?: string; duration: number }) => {
      const api = connect(opts);
      const phones = await accountPhones(api);
      const target = findPhone(phones, opts.to, 'the called number');
      const chain = chainOf(phones, target.phone, opts.chain);
      const kind: IncomingKind = opts.busy ? 'busy' : opts.voicemail ? 'voicemail' : opts.missed ? 'missed' : 'answered';
      if (kind !== 'busy' && chain.length === 0) throw new CliError('The account has no active phone to ring; create one with: sipsim phones create');
      await play(api, incomingSteps(kind, opts.from ?? someMobile(), target.number, chain, opts.duration), opts);
    }),
  );

  withConnection(
    trigger
      .command('outgoing-call')
      .description("a call from one of the account's phones to outside: answered unless --busy or --no-answer")
      .addOption(new Option('--busy', 'the called number is busy').conflicts('noAnswer'))
      .addOption(new Option('--no-answer', 'nobody answers'))
      .option('--from <phone>', "the calling phone: one of the account's numbers or extensions (default: its first active phone)")
      .option('--to <number>', 'the number called (default: a random mobile number)')
      .addOption(talkOption())
      .addOption(fastOption()),
  ).action(
    clientAction(async (opts: TriggerOpts & { busy?: boolean; answer?: boolean; from?: string; to?: string; duration: number }) => {
      const api = connect(opts);
      const caller = findPhone(await accountPhones(api), opts.from, 'the calling phone');
      // Commander gives --no-answer as answer: false.
      const kind: OutgoingKind = opts.busy ? 'busy' : opts.answer === false ? 'no-answer' : 'answered';
      await play(api, outgoingSteps(kind, caller.number, opts.to ?? someMobile(), opts.duration), opts);
    }),
  );

  withConnection(
    trigger
      .command('sms')
      .description("an SMS received on one of the account's numbers, or sent from one with --outbound")
      .option('--outbound', 'sent from the account\'s number rather than received')
      .option('--from <number>', 'the sender (default: a random mobile, or the account\'s first phone with --outbound)')
      .option('--to <number>', 'the recipient (default: the account\'s first phone, or a random mobile with --outbound)')
      .option('--message <text>', 'the text', 'Hello, could you call me back this afternoon?'),
  ).action(
    clientAction(async (opts: TriggerOpts & { outbound?: boolean; from?: string; to?: string; message: string }) => {
      const api = connect(opts);
      const needPhone = opts.outbound ? opts.from === undefined : opts.to === undefined;
      const own = needPhone ? findPhone(await accountPhones(api), undefined, opts.outbound ? 'the sender' : 'the called number').number : undefined;
      const sms = {
        event: 'sms',
        caller: opts.from ?? (opts.outbound ? own! : someMobile()),
        receiver: opts.to ?? (opts.outbound ? someMobile() : own!),
        message: opts.message,
        direction: opts.outbound ? 'outbound' : 'inbound',
        time: formatDateTime(Math.floor(Date.now() / 1000)),
      };
      const answer = await postEvent(api, sms);
      const id = answer.events[0]?.sms_id ?? null;
      if (opts.json) process.stdout.write(`${JSON.stringify({ sms_id: id, sms }, null, 2)}\n`);
      else process.stdout.write(`SMS ${id ?? '(a repeat, not stored again)'} ${sms.direction}: ${sms.caller} -> ${sms.receiver}\n`);
    }),
  );

  withConnection(
    trigger
      .command('tags')
      .description('tag a call by tag names (created when missing): the account\'s webhook gets the tags event')
      .argument('<call-id>', 'the call', positiveInt('call-id'))
      .argument('<tags...>', 'tag names'),
  ).action(
    clientAction(async (callId: number, names: string[], opts: TriggerOpts) => {
      const api = connect(opts);
      const existing = new Map<string, number>();
      for await (const tag of api.tags.list()) existing.set(tag.name.toLowerCase(), tag.id);
      const ids: number[] = [];
      for (const name of names) {
        const known = existing.get(name.trim().toLowerCase());
        ids.push(known ?? (await api.tags.create({ name: name.trim() })).id);
      }
      const call = await api.calls.addTags(callId, { tag_ids: ids });
      if (opts.json) process.stdout.write(`${JSON.stringify(call, null, 2)}\n`);
      else process.stdout.write(`Call ${call.id} now has tags: ${call.tags.map((t) => t.name).join(', ')}\n`);
    }),
  );
}
