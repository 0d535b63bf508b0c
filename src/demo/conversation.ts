import { roundSeconds, type Rating, type RatingCriterion, type Segment } from '../domain/ai.js';
import { randomSource } from './generate.js';

/**
 * Made-up conversations for the sandbox's demo calls: who called, why, and
 * what was said, fitted to the call's length, so that the transcript, the
 * summary and the rating of a demo call agree with each other and with the
 * call record. Deterministic: the same call always gets the same conversation.
 */

interface Reason {
  topic: string;
  opening: string;
  details: string[];
  answers: string[];
  outcome: string;
  resolved: boolean;
}

const REASONS: readonly Reason[] = [
  {
    topic: 'an order that has not arrived',
    opening: "I'm calling about my order, it was due on Tuesday and it still hasn't arrived.",
    details: ['The order number is 4 8 1 5 2.', 'The tracking page has said in transit for three days.', 'I need it before the weekend.'],
    answers: ['Let me look that order up for you.', 'I can see it left our warehouse on Monday.', 'The carrier has it at their depot; I will ask them to deliver tomorrow.'],
    outcome: 'The agent traced the parcel to the carrier and arranged delivery for the next day.',
    resolved: true,
  },
  {
    topic: 'a charge on the last invoice',
    opening: "Hello, there's a charge on my last invoice that I don't understand.",
    details: ['It says setup fee, forty-nine euros.', 'We set the account up last year, not this month.', 'Can you take it off?'],
    answers: ['Let me open the invoice.', 'You are right, that fee was added by mistake.', 'I have issued a credit note; it will show on your next invoice.'],
    outcome: 'The agent confirmed a setup fee was billed by mistake and issued a credit note.',
    resolved: true,
  },
  {
    topic: 'prices for a team of fifteen',
    opening: "Good morning, I'd like to know your prices for a team of about fifteen people.",
    details: ['We mostly call customers in France and Belgium.', 'We use a CRM and would like the calls to show there.', 'Is there a discount for a yearly contract?'],
    answers: ['The Pro plan would suit a team of that size.', 'It includes unlimited calls to Europe and the CRM integration.', 'Yearly contracts get two months free; I will send you a written offer.'],
    outcome: 'The agent presented the Pro plan and agreed to send a written offer with yearly pricing.',
    resolved: false,
  },
  {
    topic: 'a phone that no longer rings',
    opening: 'Hi, the phone on our front desk stopped ringing this morning.',
    details: ['Calls go straight to voicemail.', 'The screen shows the right time and the extension number.', 'Nobody changed anything as far as I know.'],
    answers: ['Let me check how that phone is set up.', 'Forwarding to voicemail was switched on at eight this morning.', 'I have switched it off; could you ask a colleague to call the desk now?'],
    outcome: 'The agent found call forwarding switched on for the front-desk phone and turned it off.',
    resolved: true,
  },
  {
    topic: 'moving an appointment',
    opening: "Hello, I have an appointment on Thursday and I need to move it, if that's possible.",
    details: ['It is at ten in the morning.', 'Friday or Monday would be fine for me.', 'Afternoons are easier.'],
    answers: ['Of course, let me see what we have.', 'Monday at half past two is free.', 'That is booked; you will get a confirmation by text message.'],
    outcome: 'The appointment was moved from Thursday morning to Monday afternoon.',
    resolved: true,
  },
];

const FILLER_CALLER = ['Yes, that is right.', 'I see.', 'Could you repeat that, please?', 'Okay, that works for me.', 'Thank you, that is helpful.', 'And how long will that take?'];
const FILLER_AGENT = ['Thank you for your patience.', 'Just one moment, please.', 'Let me note that down.', 'Is there anything else on that point?', 'I understand, that is frustrating.', 'Let me check that for you.'];

const HIGHLIGHTS = ['Warm, professional greeting', 'Listened to the caller without interrupting', 'Clear explanation of the next steps', 'Confirmed the details back to the caller', 'Kept the caller informed while checking'];
const IMPROVEMENTS = ['Confirm next steps before ending the call', 'Ask whether the caller has any other questions', 'Offer a reference number for the request', 'Reduce the time the caller is kept waiting'];

/** What a demo conversation needs to know of its call. */
export interface ConversationCall {
  id: number;
  direction: 'inbound' | 'outbound';
  callerName: string | null;
  durationSec: number;
}

export interface Conversation {
  reason: string;
  segments: Segment[];
  summary: string;
  rating: Rating;
}

/** Seconds a line takes to say: about two and a half words a second, one second at least. */
const speakingTime = (text: string) => Math.max(1, text.split(/\s+/).length / 2.5);

function formatLength(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? `${m} min ${s} s` : `${s} s`;
}

/** The conversation of a demo call, with the account's summary instructions and rating criteria applied. */
export function demoConversation(call: ConversationCall, criteria: readonly RatingCriterion[], instructions: string | null = null): Conversation {
  const random = randomSource(call.id * 7919 + 17);
  const reason = random.pick(REASONS);
  const customerName = call.callerName && call.direction === 'inbound' ? call.callerName : null;
  // The customer is the caller (channel 0) on an incoming call and the receiver (channel 1) on an outgoing one.
  const customer: 0 | 1 = call.direction === 'inbound' ? 0 : 1;
  const agent: 0 | 1 = customer === 0 ? 1 : 0;
  const lines: Array<[0 | 1, string]> = [
    [agent, call.direction === 'inbound' ? 'Good morning, Demo Company, how can I help you?' : 'Hello, this is Demo Company calling back about your request.'],
    [customer, `${customerName ? `Hello, this is ${customerName}. ` : 'Hello. '}${reason.opening}`],
  ];
  for (let i = 0; i < reason.details.length; i++) {
    lines.push([agent, reason.answers[i]!], [customer, reason.details[i]!]);
  }
  const closing: Array<[0 | 1, string]> = [
    [agent, reason.resolved ? 'That is all sorted, then. Is there anything else?' : 'I will send that to you today. Is there anything else?'],
    [customer, 'No, that is all. Thank you, goodbye.'],
  ];

  const total = Math.max(call.durationSec, 1);
  const segments: Segment[] = [];
  let t = 0.4;
  const say = (channel: 0 | 1, text: string): boolean => {
    const end = t + speakingTime(text);
    if (end > total) return false;
    segments.push({ channel, start: roundSeconds(t), end: roundSeconds(end), text });
    t = end + 0.3 + random.next() * 0.6;
    return true;
  };
  const closingTime = closing.reduce((sum, [, text]) => sum + speakingTime(text) + 0.9, 0);
  for (const [channel, text] of lines) if (t + closingTime > total || !say(channel, text)) break;
  // A long call is a long conversation: the two sides go on talking until it is time to close.
  while (t + closingTime + 8 < total) {
    say(agent, random.pick(FILLER_AGENT));
    say(customer, random.pick(FILLER_CALLER));
  }
  for (const [channel, text] of closing) say(channel, text);

  const who = customerName ?? (call.direction === 'inbound' ? 'The caller' : 'The customer');
  const verb = call.direction === 'inbound' ? 'called about' : 'was called back about';
  const focus = instructions ? ` Requested focus: ${instructions.trim().slice(0, 200)}.` : '';
  const summary = `${who} ${verb} ${reason.topic}. ${reason.outcome} ${reason.resolved ? 'No follow-up is needed.' : 'Next step: follow up once the caller has read the offer.'} The call lasted ${formatLength(call.durationSec)}.${focus}`;

  const criteriaScores = criteria.map((c) => {
    const score = Math.min(10, Math.max(1, random.int(6, 9) + (reason.resolved ? 1 : 0) - (call.durationSec < 30 ? 2 : 0)));
    return { name: c.name, score, feedback: `${c.name}: ${score >= 8 ? 'strong' : score >= 6 ? 'adequate' : 'needs work'} on this call about ${reason.topic}.` };
  });
  const overall = criteriaScores.length ? Math.round(criteriaScores.reduce((sum, c) => sum + c.score, 0) / criteriaScores.length) : 7;
  const pickSome = (pool: readonly string[], n: number) => [...pool].sort(() => random.next() - 0.5).slice(0, n);
  return {
    reason: reason.topic,
    segments,
    summary,
    rating: {
      overall_score: overall,
      criteria_scores: criteriaScores,
      highlights: pickSome(HIGHLIGHTS, 2 + random.int(0, 1)),
      improvements: pickSome(IMPROVEMENTS, reason.resolved ? 1 : 2),
    },
  };
}
