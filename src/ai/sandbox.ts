import { setTimeout as sleep } from 'node:timers/promises';
import type { RatingCriterion, Segment } from '../domain/ai.js';
import { demoConversation, type ConversationCall } from '../demo/conversation.js';
import type { CallFacts } from '../store/ai-job-store.js';
import type { AiEngine } from './engine.js';
import { AiStepError } from './engine.js';

/**
 * The sandbox's engine: no model and no audio. Every answered call gets the
 * made-up conversation the demo generator writes for it (src/demo/conversation.ts),
 * so that an integrator can exercise the whole flow, webhooks included.
 * `delayMs` makes each step take a while, as a real engine does, so that
 * clients meet the in-progress state they must handle.
 */
export class SandboxEngine implements AiEngine {
  readonly description = 'sandbox (made-up transcripts, summaries and ratings for answered calls; no speech or language model)';

  readonly summarizes = true;

  constructor(private readonly delayMs = 0) {}

  async cannotTranscribe(call: CallFacts): Promise<string | null> {
    return call.answered ? null : `Call ${call.id} was not answered, so it has no recording to transcribe`;
  }

  private conversationCall(call: CallFacts): ConversationCall {
    return { id: call.id, direction: call.callType === 'outbound' ? 'outbound' : 'inbound', callerName: call.callerName, durationSec: call.durationSec };
  }

  private async pause(signal: AbortSignal): Promise<void> {
    if (this.delayMs > 0) await sleep(this.delayMs, undefined, { signal });
  }

  async transcribe(call: CallFacts, signal: AbortSignal): Promise<Segment[]> {
    const reason = await this.cannotTranscribe(call);
    if (reason) throw new AiStepError(reason, true);
    await this.pause(signal);
    return demoConversation(this.conversationCall(call), []).segments;
  }

  async summarize(call: CallFacts, _segments: Segment[], instructions: string | null, signal: AbortSignal): Promise<string> {
    await this.pause(signal);
    return demoConversation(this.conversationCall(call), [], instructions).summary;
  }

  async rate(call: CallFacts, _segments: Segment[], criteria: readonly RatingCriterion[], signal: AbortSignal): Promise<unknown> {
    await this.pause(signal);
    return demoConversation(this.conversationCall(call), criteria).rating;
  }
}
