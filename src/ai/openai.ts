import { readFile } from 'node:fs/promises';
import type { OpenAiEndpoint } from '../config.js';
import { roundSeconds, SCORE_MAX, SCORE_MIN, type RatingCriterion, type Segment } from '../domain/ai.js';
import type { RecordingService } from '../recordings/service.js';
import type { CallFacts } from '../store/ai-job-store.js';
import { cutStretch, decodeRecording, findSpeech } from './audio.js';
import { AiStepError, type AiEngine } from './engine.js';

/**
 * Clients of the OpenAI HTTP API as other servers speak it too (whisper.cpp's
 * server, faster-whisper servers, LocalAI, vLLM, Ollama, llama.cpp's server):
 * POST /v1/audio/transcriptions for speech, POST /v1/chat/completions for
 * summaries and ratings.
 */

const SNIPPET = 200;

async function failure(response: Response, what: string): Promise<AiStepError> {
  let text = '';
  try {
    text = (await response.text()).replace(/\s+/g, ' ').trim().slice(0, SNIPPET);
  } catch {
    // the status says enough
  }
  // A request the server refuses as malformed or too large stays refused; anything else may pass later.
  const permanent = [400, 413, 415, 422].includes(response.status);
  return new AiStepError(`${what} answered HTTP ${response.status}${text ? `: ${text}` : ''}`, permanent);
}

/** The body of a successful answer, parsed; a failure or a body that is not JSON becomes the step's error. */
async function jsonOf(response: Response, what: string): Promise<unknown> {
  if (!response.ok) throw await failure(response, what);
  try {
    return await response.json();
  } catch {
    throw new AiStepError(`${what} answered with something that is not JSON`);
  }
}

function describeError(error: unknown, what: string, signal: AbortSignal): AiStepError {
  if (error instanceof AiStepError) return error;
  if (signal.aborted) return new AiStepError(`${what} did not answer in time`);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new AiStepError(`${what} could not be reached: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
}

const headers = (endpoint: OpenAiEndpoint): Record<string, string> => (endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {});

/** Sends one stretch of audio (a WAV file) to the recognizer; returns the text it heard. */
export async function recognize(endpoint: OpenAiEndpoint, wav: Buffer, signal: AbortSignal): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'speech.wav');
  form.append('model', endpoint.model);
  form.append('response_format', 'json');
  const what = `the recognizer at ${endpoint.url}`;
  try {
    const response = await fetch(`${endpoint.url}/audio/transcriptions`, { method: 'POST', body: form, headers: headers(endpoint), signal });
    const body = await jsonOf(response, what);
    const text = (body as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new AiStepError(`${what} answered without a text field`);
    return text.trim();
  } catch (error) {
    throw describeError(error, what, signal);
  }
}

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** One chat completion; returns the assistant's message text. */
export async function chat(endpoint: OpenAiEndpoint, messages: ChatMessage[], responseFormat: object | null, signal: AbortSignal): Promise<string> {
  const what = `the language model at ${endpoint.url}`;
  try {
    const response = await fetch(`${endpoint.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers(endpoint) },
      body: JSON.stringify({ model: endpoint.model, messages, temperature: 0.2, ...(responseFormat ? { response_format: responseFormat } : {}) }),
      signal,
    });
    const body = await jsonOf(response, what);
    const content = (body as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message?.content;
    if (typeof content !== 'string' || !content.trim()) throw new AiStepError(`${what} answered without a message`);
    return content.trim();
  } catch (error) {
    throw describeError(error, what, signal);
  }
}

/** The transcript as a language model reads it: one line per segment, who spoke and when. */
export function transcriptText(segments: Segment[], direction: 'inbound' | 'outbound'): string {
  const who = (channel: 0 | 1) => ((channel === 0) === (direction === 'inbound') ? 'Customer' : 'Agent');
  const clock = (s: number) => `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
  return segments.map((s) => `[${clock(s.start)}] ${who(s.channel)}: ${s.text}`).join('\n');
}

/** The JSON schema a rating must follow, with the account's criteria as the only names allowed. */
export function ratingSchema(criteria: readonly RatingCriterion[]): object {
  const score = { type: 'integer', minimum: SCORE_MIN, maximum: SCORE_MAX };
  return {
    type: 'json_schema',
    json_schema: {
      name: 'call_rating',
      strict: true,
      schema: {
        type: 'object',
        additionalProperties: false,
        required: ['overall_score', 'criteria_scores', 'highlights', 'improvements'],
        properties: {
          overall_score: score,
          criteria_scores: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'score', 'feedback'],
              properties: { name: { type: 'string', enum: criteria.map((c) => c.name) }, score, feedback: { type: 'string' } },
            },
          },
          highlights: { type: 'array', items: { type: 'string' } },
          improvements: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  };
}

/**
 * The engine for real calls: the recording's channels through voice-activity
 * detection to the recognizer, stretch by stretch, channel by channel; then
 * the transcript to the language model for the summary and the rating.
 */
export class OpenAiEngine implements AiEngine {
  readonly description: string;

  constructor(
    private readonly transcribeAt: OpenAiEndpoint,
    private readonly llm: OpenAiEndpoint | null,
    private readonly recordings: RecordingService,
  ) {
    this.description = `speech at ${transcribeAt.url} (${transcribeAt.model})${llm ? `, summaries and ratings at ${llm.url} (${llm.model})` : ', no language model (SIPSIM_LLM_URL) for summaries and ratings'}`;
  }

  get summarizes(): boolean {
    return this.llm !== null;
  }

  async cannotTranscribe(call: CallFacts): Promise<string | null> {
    if (await this.recordings.fileOfCall(call)) return null;
    return `Call ${call.id} has no recording sipsim can read: push it with PUT /api/v2/pbx/recordings/{pbx_id}, or set SIPSIM_RECORDINGS_DIR to where the PBX writes recordings`;
  }

  async transcribe(call: CallFacts, signal: AbortSignal): Promise<Segment[]> {
    const path = await this.recordings.fileOfCall(call);
    if (!path) throw new AiStepError((await this.cannotTranscribe(call))!, true);
    const audio = await decodeRecording(await readFile(path));
    const segments: Segment[] = [];
    for (const stretch of await findSpeech(audio)) {
      signal.throwIfAborted();
      const text = await recognize(this.transcribeAt, cutStretch(audio, stretch), signal);
      if (text) segments.push({ channel: stretch.channel, start: roundSeconds(stretch.start), end: roundSeconds(stretch.end), text });
    }
    // The two parties' stretches, merged into one conversation by time.
    return segments.sort((a, b) => a.start - b.start || a.channel - b.channel);
  }

  private model(): OpenAiEndpoint {
    if (!this.llm) throw new AiStepError('summaries and ratings need a language model: set SIPSIM_LLM_URL', true);
    return this.llm;
  }

  async summarize(call: CallFacts, segments: Segment[], instructions: string | null, signal: AbortSignal): Promise<string> {
    const direction = call.callType === 'outbound' ? 'outbound' : 'inbound';
    return chat(
      this.model(),
      [
        { role: 'system', content: 'You summarise phone calls between a company\'s agent and a customer in three to five sentences: why the customer called, what was done, and the next step. Answer with the summary only.' },
        { role: 'user', content: `${instructions ? `Instructions: ${instructions}\n\n` : ''}Transcript of a ${call.durationSec} s ${direction} call:\n${transcriptText(segments, direction)}` },
      ],
      null,
      signal,
    );
  }

  async rate(call: CallFacts, segments: Segment[], criteria: readonly RatingCriterion[], signal: AbortSignal): Promise<unknown> {
    const direction = call.callType === 'outbound' ? 'outbound' : 'inbound';
    const content = await chat(
      this.model(),
      [
        {
          role: 'system',
          content:
            `You rate the agent's handling of a phone call. Score each criterion and the call overall with an integer from ${SCORE_MIN} to ${SCORE_MAX}, ` +
            'give one sentence of feedback per criterion, and list highlights and improvements. Answer in the JSON format given.',
        },
        { role: 'user', content: `Criteria:\n${criteria.map((c) => `- ${c.name}: ${c.description}`).join('\n')}\n\nTranscript:\n${transcriptText(segments, direction)}` },
      ],
      ratingSchema(criteria),
      signal,
    );
    try {
      return JSON.parse(content);
    } catch {
      throw new AiStepError('the language model\'s rating is not JSON');
    }
  }
}
