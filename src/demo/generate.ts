import { deriveCall, type Direction } from '../domain/call.js';
import type { NewCall } from '../store/call-rows.js';

/**
 * Realistic, deterministic call history: a small French company with a sales
 * and a support line, customers who call back, office hours in Europe/Paris,
 * quiet weekends, and every call type and SIP outcome.
 */

/** A small fast PRNG (mulberry32): the same seed gives the same history. */
export function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    /** Picks from [item, weight] pairs. */
    weighted: <T>(pairs: ReadonlyArray<readonly [T, number]>): T => {
      let total = 0;
      for (let i = 0; i < pairs.length; i++) total += pairs[i]![1];
      let r = next() * total;
      for (let i = 0; i < pairs.length; i++) if ((r -= pairs[i]![1]) < 0) return pairs[i]![0];
      return pairs[pairs.length - 1]![0];
    },
  };
}
export type Random = ReturnType<typeof randomSource>;

export const FIRST_NAMES = [
  'Camille', 'Léa', 'Manon', 'Chloé', 'Inès', 'Élodie', 'Sarah', 'Julie', 'Emma', 'Louise', 'Anaïs', 'Mathilde',
  'Lucas', 'Hugo', 'Thomas', 'Nicolas', 'Julien', 'Antoine', 'Maxime', 'Alexandre', 'Théo', 'Louis', 'Pierre',
  'Jérôme', 'François', 'Olivier', 'Sophie', 'Isabelle', 'Nathalie', 'Karim', 'Yasmine', 'Mehdi', 'Fatou',
  'Oliver', 'Charlotte', 'James', 'Hannah', 'Lukas', 'Sofía', 'Mateo', 'Giulia', 'Marco', 'Anna', 'João',
];
export const LAST_NAMES = [
  'Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon',
  'Laurent', 'Lefèvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier', 'Morel', 'Girard',
  'André', 'Mercier', 'Dupont', 'Lambert', 'Bonnet', 'François', 'Martinez', 'Legrand', 'Garnier', 'Faure',
  'Rousseau', 'Blanc', 'Guérin', 'Muller', 'Henry', 'Roussel', 'Nicolas', 'Perrin', 'Morin', 'Mathieu', 'Clément',
  'Gauthier', 'Dumont', 'Lopez', 'Fontaine', 'Chevalier', 'Robin', 'Smith', 'Jones', 'Schmidt', 'Rossi', 'Silva',
];
const COMPANIES = [
  'Boulangerie Moreau', 'Garage du Centre', 'Cabinet Dentaire Rivoli', 'Hôtel Bellevue', 'Transports Girard',
  'Pharmacie de la Gare', 'Atelier Lumière', 'Agence Horizon', 'Clinique Saint-Jean', 'Mairie de Lyon 3e',
];

/** E.164 numbers: mostly French mobiles and landlines, some from neighbouring countries and further. */
export function randomNumber(random: Random): string {
  const digits = (n: number) => Array.from({ length: n }, () => random.int(0, 9)).join('');
  return random.weighted<() => string>([
    [() => `+33${random.pick(['6', '7'])}${digits(8)}`, 55],
    [() => `+33${random.int(1, 5)}${digits(8)}`, 25],
    [() => `+44 7${digits(9)}`.replace(' ', ''), 4],
    [() => `+49${random.pick(['151', '160', '170', '30'])}${digits(7)}`, 4],
    [() => `+34${random.pick(['6', '9'])}${digits(8)}`, 3],
    [() => `+32${random.pick(['4', '2'])}${digits(8)}`, 3],
    [() => `+41${random.pick(['7', '2'])}${digits(8)}`, 2],
    [() => `+1${random.int(201, 989)}${random.int(200, 999)}${digits(4)}`, 3],
    [() => `+212${random.pick(['6', '7'])}${digits(8)}`, 1],
  ])();
}

export interface DemoPhone {
  id: number;
  number: string;
  employeeId: number | null;
  employeeName: string | null;
  /** Department lines ring their group's employees. */
  group: 'sales' | 'support' | null;
}

export interface DemoDirectory {
  accountId: number;
  phones: DemoPhone[];
  tagIds: { important: number; followUp: number; salesLead: number; support: number; complaint: number; vip: number; spam: number };
}

interface TagChoices {
  inbound: Array<[number, number]>;
  outbound: Array<[number, number]>;
  extra: number[];
}

interface Contact {
  number: string;
  name: string | null;
}

/** A customer base in which a few call often and most call rarely. */
function contacts(random: Random, count: number): Contact[] {
  return Array.from({ length: count }, () => {
    const named = random.next();
    const name =
      named < 0.62
        ? `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`
        : named < 0.72
          ? random.pick(COMPANIES)
          : null;
    return { number: randomNumber(random), name };
  });
}

function pickContact(random: Random, pool: Contact[]): Contact {
  // Squaring skews towards the front: regular customers call back.
  const r = random.next();
  return pool[Math.floor(r * r * pool.length)]!;
}

/** The offset of Europe/Paris from UTC, in seconds, at a given instant. */
function parisOffsetSeconds(utcSeconds: number): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(utcSeconds * 1000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) / 1000;
  return local - Math.floor(utcSeconds / 60) * 60;
}

/** Minutes after local midnight: office hours with a lunch dip, a few early and late calls. */
function localMinuteOfDay(random: Random): number {
  const hour = random.weighted([
    [7, 1], [8, 5], [9, 12], [10, 14], [11, 13], [12, 6], [13, 6], [14, 12], [15, 13], [16, 12], [17, 9], [18, 4],
    [19, 2], [20, 1], [21, 0.5], [22, 0.3], [23, 0.2], [0, 0.1], [6, 0.4],
  ] as const);
  return hour * 60 + random.int(0, 59);
}

export interface GenerateOptions {
  seed: number;
  count: number;
  /** The newest possible start time (Unix seconds); the history covers the 90 days before it. */
  until: number;
  days?: number;
}

/**
 * Yields the demo calls oldest first, in batches, so that a million of them
 * never sit in memory at once.
 */
export function* generateCalls(directory: DemoDirectory, options: GenerateOptions, batchSize = 10000): Generator<NewCall[]> {
  const random = randomSource(options.seed);
  const days = options.days ?? 90;
  const pool = contacts(random, Math.max(200, Math.min(50000, Math.round(options.count / 8))));
  const from = options.until - days * 86400;

  // Share the calls out over the days: weekdays busy, Saturdays light, Sundays nearly silent.
  const dayStarts: number[] = [];
  const weights: number[] = [];
  const firstMidnight = Math.floor(from / 86400) * 86400;
  for (let day = firstMidnight; day <= options.until; day += 86400) {
    const weekday = new Date(day * 1000).getUTCDay();
    dayStarts.push(day);
    weights.push(weekday === 0 ? 0.06 : weekday === 6 ? 0.22 : 1 + 0.15 * random.next());
  }
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const perDay = weights.map((w) => Math.floor((w / totalWeight) * options.count));
  let missing = options.count - perDay.reduce((a, b) => a + b, 0);
  for (let i = perDay.length - 1; missing > 0; i = (i - 1 + perDay.length) % perDay.length, missing--) perDay[i]!++;

  const personal = directory.phones.filter((p) => p.employeeId !== null);
  const groupMembers = {
    sales: personal.filter((p) => p.group === 'sales'),
    support: personal.filter((p) => p.group === 'support'),
  };
  const departments = directory.phones.filter((p) => p.employeeId === null && p.group !== null);
  const t = directory.tagIds;
  const tags: TagChoices = {
    inbound: [[t.support, 30], [t.followUp, 25], [t.important, 18], [t.complaint, 10], [t.vip, 10], [t.spam, 7]],
    outbound: [[t.salesLead, 30], [t.followUp, 25], [t.important, 18], [t.complaint, 10], [t.vip, 10]],
    extra: [t.important, t.followUp, t.vip],
  };

  let batch: NewCall[] = [];
  for (let d = 0; d < dayStarts.length; d++) {
    const midnight = dayStarts[d]!;
    const offset = parisOffsetSeconds(midnight + 12 * 3600);
    const starts: number[] = [];
    for (let i = 0; i < perDay[d]!; i++) {
      let start = midnight + localMinuteOfDay(random) * 60 + random.int(0, 59) - offset;
      if (start < from) start = from + random.int(0, 3600);
      starts.push(start);
    }
    starts.sort((a, b) => a - b);
    for (const start of starts) {
      // A call still in progress at `until` is not history yet: the same call a day earlier is.
      let call = makeCall(random, start, pool, personal, departments, groupMembers, tags);
      for (let back = 86400; call.endTime > options.until; back += 86400) {
        call = makeCall(random, start - back, pool, personal, departments, groupMembers, tags);
      }
      batch.push(call);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

const INBOUND_OUTCOMES = [
  ['answer', 72], ['cancel', 11], ['no_answer', 7], ['busy', 3], ['unavailable', 1.5], ['voicemail', 5], ['other', 0.5],
] as const;
const OUTBOUND_OUTCOMES = [
  ['answer', 64], ['cancel', 9], ['no_answer', 13], ['busy', 7], ['unavailable', 5], ['other', 2],
] as const;
const INBOUND_UNAVAILABLE = [404, 503, 603];
const INBOUND_OTHER = [500, 502];
const OUTBOUND_UNAVAILABLE = [404, 410, 484, 503, 603];
const OUTBOUND_OTHER = [403, 500, 488];

/** A SIP final response code for an outcome, as a PBX would report it. */
function sipCodeFor(random: Random, outcome: string, unavailable: number[], other: number[]): number {
  switch (outcome) {
    case 'answer':
      return 200;
    case 'cancel':
      return 487;
    case 'no_answer':
    case 'voicemail':
      return random.chance(0.5) ? 408 : 480;
    case 'busy':
      return random.chance(0.85) ? 486 : 600;
    case 'unavailable':
      return random.pick(unavailable);
    default:
      return random.pick(other);
  }
}

/** Talk time: mostly a few minutes, with a long tail of calls over half an hour. */
function talkSeconds(random: Random): number {
  const r = random.next();
  if (r < 0.25) return random.int(8, 60);
  if (r < 0.85) return random.int(60, 600);
  if (r < 0.97) return random.int(600, 1800);
  return random.int(1800, 5400);
}

let dayPathCache = { day: -1, path: '' };

function recordingLink(random: Random, start: number): string {
  const dayNumber = Math.floor(start / 86400);
  if (dayPathCache.day !== dayNumber) {
    dayPathCache = { day: dayNumber, path: new Date(dayNumber * 86400000).toISOString().slice(0, 10).replace(/-/g, '/') };
  }
  const day = dayPathCache.path;
  const id = Math.floor(random.next() * 2 ** 52).toString(16).padStart(13, '0');
  return `https://recordings.example.com/${day}/${id}.mp3`;
}

function makeCall(
  random: Random,
  start: number,
  pool: Contact[],
  personal: DemoPhone[],
  departments: DemoPhone[],
  groupMembers: Record<'sales' | 'support', DemoPhone[]>,
  tags: TagChoices,
): NewCall {
  const direction: Direction = random.chance(0.3) ? 'outbound' : 'inbound';
  const contact = pickContact(random, pool);
  const registration = start - random.int(0, 2);
  let phone: DemoPhone;
  let answeringPhone: DemoPhone;
  if (direction === 'inbound' && departments.length && random.chance(0.55)) {
    phone = random.pick(departments);
    const members = groupMembers[phone.group!];
    answeringPhone = members.length ? random.pick(members) : random.pick(personal);
  } else {
    phone = random.pick(personal);
    answeringPhone = phone;
  }

  let sipCode: number;
  let answered: boolean;
  let voicemail = false;
  if (direction === 'inbound') {
    const outcome = random.weighted(INBOUND_OUTCOMES);
    answered = outcome === 'answer';
    voicemail = outcome === 'voicemail';
    sipCode = sipCodeFor(random, outcome, INBOUND_UNAVAILABLE, INBOUND_OTHER);
  } else {
    const outcome = random.weighted(OUTBOUND_OUTCOMES);
    answered = outcome === 'answer';
    sipCode = sipCodeFor(random, outcome, OUTBOUND_UNAVAILABLE, OUTBOUND_OTHER);
  }

  const wait = answered ? random.int(2, direction === 'inbound' ? 35 : 25) : random.int(4, 45);
  const answeredTime = answered ? start + wait : null;
  // Talk time: mostly a few minutes, with a long tail of calls over half an hour.
  const talk = answered ? talkSeconds(random) : 0;
  const end = (answeredTime ?? start) + (answered ? talk : wait) + (voicemail ? random.int(10, 90) : 0);

  const ourNumber = phone.number;
  const tagIds: number[] = [];
  if (random.chance(0.3)) {
    tagIds.push(random.weighted(direction === 'outbound' ? tags.outbound : tags.inbound));
    if (random.chance(0.2)) tagIds.push(random.pick(tags.extra));
  }

  const row = deriveCall({
    direction,
    voicemail,
    callerNumber: direction === 'inbound' ? contact.number : ourNumber,
    callerName: direction === 'inbound' ? contact.name : phone.employeeName,
    targetNumber: direction === 'inbound' ? ourNumber : contact.number,
    answeredPhoneNumber: answered ? (direction === 'inbound' ? answeringPhone.number : contact.number) : null,
    phoneId: phone.id,
    answeredPhoneId: answered ? answeringPhone.id : null,
    employeeId: answered ? answeringPhone.employeeId : (phone.employeeId ?? null),
    sipCode,
    playRecordLink: answered ? recordingLink(random, start) : null,
    registrationTime: registration,
    startTime: start,
    answeredTime,
    endTime: end,
  });
  return { ...row, tagIds: [...new Set(tagIds)] };
}
