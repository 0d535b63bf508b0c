import { randomBytes, randomInt } from 'node:crypto';
import { ingestEvents } from '../ingest/ingest.js';
import type { Store } from '../store/store.js';
import { formatDateTime } from '../domain/time.js';
import { incomingSteps, outgoingSteps, someMobile, type IncomingKind, type Step } from './call-scenarios.js';

/** Calls a minute when `--live` is given no rate. */
export const DEFAULT_LIVE_RATE = 2;

export interface LiveCalls {
  stop(): void;
}

/**
 * Keeps making calls on an account while the server runs, about `perMinute`
 * of them a minute at random moments, each played in real time: its events
 * go through the same ingest as POST /api/v2/pbx/events, so the account's
 * webhook receives them as they happen and each call lands in the list when
 * it ends. Mostly answered incoming calls, some missed, some voicemail, some
 * busy, some outgoing.
 */
export function startLiveCalls(store: Store, accountId: number, options: { perMinute: number; onError?: (error: unknown) => void }): LiveCalls {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) work();
    }, ms);
    timer.unref();
    timers.add(timer);
  };

  const post = (event: Record<string, unknown>) =>
    ingestEvents(store, accountId, [event]).catch((error: unknown) => {
      if (!stopped) options.onError?.(error);
    });

  const playOne = async () => {
    const phones = (await store.ingest.phoneRefs(accountId)).filter((p) => p.internalNumber !== null || p.number);
    if (!phones.length) return;
    const target = phones[randomInt(0, phones.length)]!;
    const talk = randomInt(5, 180);
    const roll = randomInt(0, 100);
    let steps: Step[];
    if (roll < 15) {
      steps = outgoingSteps(roll < 3 ? 'busy' : roll < 6 ? 'no-answer' : 'answered', target.number, someMobile(), talk);
    } else {
      const kind: IncomingKind = roll < 65 ? 'answered' : roll < 82 ? 'missed' : roll < 94 ? 'voicemail' : 'busy';
      const length = randomInt(1, Math.min(3, phones.length) + 1);
      const others = phones.filter((p) => p.id !== target.id);
      const chain = [target, ...others].slice(0, length).map((p) => (p.internalNumber === null ? p.number : String(p.internalNumber)));
      steps = incomingSteps(kind, someMobile(), target.number, chain, talk);
    }
    const pbxId = `live_${randomBytes(6).toString('hex')}`;
    const began = Math.floor(Date.now() / 1000);
    for (const { at, ...fields } of steps) {
      later(at * 1000, () => void post({ ...fields, pbx_id: pbxId, time: formatDateTime(began + at) }));
    }
  };

  // Calls arrive at random (a Poisson process): exponential gaps around the mean.
  const meanMs = 60_000 / options.perMinute;
  const next = () => later(Math.min(-Math.log(1 - Math.random()) * meanMs, 10 * meanMs), () => {
    playOne().catch((error: unknown) => options.onError?.(error));
    next();
  });
  // The first call at once, so that a newcomer sees one without waiting.
  later(0, () => {
    playOne().catch((error: unknown) => options.onError?.(error));
    next();
  });

  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
