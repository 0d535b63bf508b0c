import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { cutStretch, decodeRecording, decodeWav, encodeWav, findSpeech } from '../../src/ai/audio.js';
import { AiStepError } from '../../src/ai/engine.js';
import { chat, OpenAiEngine, recognize } from '../../src/ai/openai.js';
import { AiWorker } from '../../src/ai/worker.js';
import { DEFAULT_RECORDINGS_CONFIG } from '../../src/config.js';
import { checkRating } from '../../src/domain/ai.js';
import { deriveCall } from '../../src/domain/call.js';
import { RecordingService } from '../../src/recordings/service.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput, TEST_CONFIG } from '../helpers/fixture.js';
import { SPEECH_TOOLS_READY } from '../helpers/tools.js';

/**
 * The real pipeline on real speech: a stereo call recording made with
 * espeak-ng and sox, with known sentences at known times on each channel,
 * and an in-test server that speaks OpenAI's API and checks every request
 * as the API defines it.
 */

const RATE = 16000;
const LINES: Array<{ channel: 0 | 1; text: string }> = [
  { channel: 0, text: 'Hello, I am calling about my order, it has not arrived.' },
  { channel: 1, text: 'I am sorry to hear that. Let me look it up.' },
  { channel: 0, text: 'The order number is four eight one five.' },
  { channel: 1, text: 'Thank you. It will be delivered tomorrow morning.' },
];

interface Placed {
  channel: 0 | 1;
  text: string;
  start: number;
  end: number;
}

/** Speaks a line with espeak-ng, at 16 kHz, its leading and trailing silence cut off by sox. */
function speak(dir: string, text: string, n: number): Float32Array {
  const raw = join(dir, `line-${n}.wav`);
  const trimmed = join(dir, `line-${n}-16k.wav`);
  execFileSync('espeak-ng', ['-v', 'en', '-s', '165', '-w', raw, text]);
  execFileSync('sox', [raw, '-r', String(RATE), '-b', '16', trimmed, 'silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1', '0.02', '0.5%', 'reverse']);
  return decodeWav(readFileSync(trimmed)).channels[0]!;
}

/** The conversation as a stereo WAV (left the caller, right the receiver), with where each line was placed. */
function makeRecording(dir: string): { file: Buffer; placed: Placed[] } {
  const clips = LINES.map((l, i) => ({ ...l, samples: speak(dir, l.text, i) }));
  const placed: Placed[] = [];
  let t = 1.0;
  for (const c of clips) {
    placed.push({ channel: c.channel, text: c.text, start: t, end: t + c.samples.length / RATE });
    t += c.samples.length / RATE + 0.9;
  }
  const total = Math.ceil((t + 0.5) * RATE);
  const channels = [new Float32Array(total), new Float32Array(total)];
  // A line's faint hiss, as a real line has.
  let seed = 7;
  for (const ch of channels) for (let i = 0; i < total; i++) ch[i] = (((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5) * 0.002;
  clips.forEach((c, i) => channels[c.channel]!.set(c.samples, Math.round(placed[i]!.start * RATE)));
  const left = join(dir, 'left.wav');
  const right = join(dir, 'right.wav');
  const stereo = join(dir, 'stereo.wav');
  writeFileSync(left, encodeWav(channels[0]!, RATE));
  writeFileSync(right, encodeWav(channels[1]!, RATE));
  execFileSync('sox', ['-M', left, right, stereo]);
  return { file: readFileSync(stereo), placed };
}


const bodyOf = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

interface Heard {
  channelOfAudio: 0 | 1;
  text: string;
  seconds: number;
}

/**
 * An OpenAI-compatible server: /v1/audio/transcriptions recognizes a line by
 * its length (each line is a different length) and answers its text;
 * /v1/chat/completions answers a summary or, when asked for the rating's JSON
 * schema, a rating. Every request is checked as the API defines it.
 */
class FakeOpenAi {
  server: Server | null = null;
  readonly heard: Heard[] = [];
  readonly chats: Array<Record<string, any>> = [];
  readonly problems: string[] = [];
  behaviour: 'ok' | 'error500' | 'error400' | 'html' | 'no-text' | 'hang' = 'ok';
  placed: Placed[] = [];

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (request, response) => {
      const body = await bodyOf(request);
      const answer = (status: number, value: unknown, type = 'application/json') =>
        response.writeHead(status, { 'content-type': type }).end(typeof value === 'string' ? value : JSON.stringify(value));
      if (request.headers.authorization !== 'Bearer test-key') this.problems.push(`authorization: ${request.headers.authorization}`);
      if (this.behaviour === 'hang') return;
      if (this.behaviour === 'error500') return answer(500, { error: { message: 'model is loading' } });
      if (this.behaviour === 'error400') return answer(400, { error: { message: 'invalid file' } });
      if (this.behaviour === 'html') return answer(200, '<html>gateway</html>', 'text/html');
      if (this.behaviour === 'no-text') return answer(200, { segments: [] });
      if (request.url === '/v1/audio/transcriptions') {
        const type = request.headers['content-type'] ?? '';
        if (!type.startsWith('multipart/form-data; boundary=')) this.problems.push(`content-type: ${type}`);
        const form = await new Response(body, { headers: { 'content-type': type } }).formData();
        if (form.get('model') !== 'whisper-test') this.problems.push(`model: ${form.get('model')}`);
        if (form.get('response_format') !== 'json') this.problems.push(`response_format: ${form.get('response_format')}`);
        const file = form.get('file');
        if (!(file instanceof File) || !file.name || file.type !== 'audio/wav') return answer(400, { error: { message: 'file must be an audio file' } });
        const audio = decodeWav(Buffer.from(await file.arrayBuffer()));
        if (audio.channels.length !== 1) this.problems.push(`a stretch with ${audio.channels.length} channels`);
        const seconds = audio.channels[0]!.length / audio.sampleRate;
        const line = this.placed.reduce((best, p) => (Math.abs(p.end - p.start - seconds) < Math.abs(best.end - best.start - seconds) ? p : best));
        this.heard.push({ channelOfAudio: line.channel, text: line.text, seconds });
        return answer(200, { text: ` ${line.text}` });
      }
      if (request.url === '/v1/chat/completions') {
        const json = JSON.parse(body.toString());
        this.chats.push(json);
        if (json.model !== 'llm-test') this.problems.push(`chat model: ${json.model}`);
        if (!Array.isArray(json.messages) || !json.messages.every((m: any) => ['system', 'user'].includes(m.role) && typeof m.content === 'string')) {
          return answer(400, { error: { message: 'messages must be role/content pairs' } });
        }
        const names: string[] | undefined = json.response_format?.json_schema?.schema?.properties?.criteria_scores?.items?.properties?.name?.enum;
        const content = names
          ? JSON.stringify({
              overall_score: 8,
              criteria_scores: names.map((name) => ({ name, score: 8, feedback: `${name} was good.` })),
              highlights: ['Looked the order up at once'],
              improvements: ['Give a delivery time window'],
            })
          : 'The customer called about an order that had not arrived. The agent found it and promised delivery the next morning.';
        return answer(200, { id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
      }
      answer(404, { error: { message: 'no such route' } });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let dir: string;
let recording: { file: Buffer; placed: Placed[] };
const openai = new FakeOpenAi();

beforeAll(async () => {
  if (!SPEECH_TOOLS_READY) return;
  dir = mkdtempSync(join(tmpdir(), 'sipsim-pipeline-'));
  recording = makeRecording(dir);
  openai.placed = recording.placed;
  await openai.start();
}, 60_000);
afterAll(async () => {
  if (!SPEECH_TOOLS_READY) return;
  await openai.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!SPEECH_TOOLS_READY)('the audio pipeline on a stereo recording made with espeak-ng and sox', () => {
  it('finds each party\'s speech within 0.3 s of where it was placed', async () => {
    const audio = decodeWav(recording.file);
    expect(audio.channels).toHaveLength(2);
    const found = await findSpeech(audio);
    for (const channel of [0, 1] as const) {
      const expected = recording.placed.filter((p) => p.channel === channel);
      const got = found.filter((s) => s.channel === channel);
      expect(got.length, JSON.stringify(found)).toBe(expected.length);
      got.forEach((s, i) => {
        expect(Math.abs(s.start - expected[i]!.start), `start of ${expected[i]!.text}`).toBeLessThanOrEqual(0.3);
        expect(Math.abs(s.end - expected[i]!.end), `end of ${expected[i]!.text}`).toBeLessThanOrEqual(0.3);
      });
    }
    // A stretch is cut from its own channel only: mono, and as long as the stretch.
    const cut = decodeWav(cutStretch(audio, found[0]!));
    expect(cut.channels).toHaveLength(1);
    expect(cut.channels[0]!.length / cut.sampleRate).toBeCloseTo(found[0]!.end - found[0]!.start, 1);
  });
});

describe.skipIf(!SPEECH_TOOLS_READY)('the same recording as MP3', () => {
  it('is decoded by mpg123 and its speech found in the same places', async () => {
    const wav = join(dir, 'stereo.wav');
    const mp3 = join(dir, 'stereo.mp3');
    execFileSync('sox', [wav, '-C', '64', mp3]);
    const file = readFileSync(mp3);
    expect(file.length).toBeLessThan(recording.file.length / 2);
    const audio = await decodeRecording(file);
    expect(audio.channels).toHaveLength(2);
    const found = await findSpeech(audio);
    for (const channel of [0, 1] as const) {
      const expected = recording.placed.filter((p) => p.channel === channel);
      const got = found.filter((s) => s.channel === channel);
      expect(got.length, JSON.stringify(found)).toBe(expected.length);
      got.forEach((s, i) => {
        expect(Math.abs(s.start - expected[i]!.start)).toBeLessThanOrEqual(0.3);
        expect(Math.abs(s.end - expected[i]!.end)).toBeLessThanOrEqual(0.3);
      });
    }
    const ogg = join(dir, 'stereo.ogg');
    execFileSync('sox', [wav, ogg]);
    const refused = await decodeRecording(readFileSync(ogg)).then(() => null, (e: unknown) => e);
    expect(refused).toMatchObject({ permanent: true, message: expect.stringMatching(/Ogg recordings are kept and played/) });
  });
});

describe.skipIf(!SPEECH_TOOLS_READY)('the recognizer and chat clients against an OpenAI-compatible server', () => {
  const endpoint = () => ({ url: openai.url, model: 'whisper-test', apiKey: 'test-key' });
  const wav = () => encodeWav(new Float32Array(RATE), RATE);
  const rejects = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(AiStepError);
    return error as AiStepError;
  };

  it('reports errors, garbage, timeouts and a server that is down as failures to retry, and refusals as final', async () => {
    try {
      openai.behaviour = 'error500';
      const down = await rejects(recognize(endpoint(), wav(), AbortSignal.timeout(5000)));
      expect([down.permanent, down.message]).toEqual([false, expect.stringMatching(/HTTP 500: .*model is loading/)]);
      openai.behaviour = 'error400';
      expect((await rejects(recognize(endpoint(), wav(), AbortSignal.timeout(5000)))).permanent).toBe(true);
      openai.behaviour = 'html';
      expect((await rejects(recognize(endpoint(), wav(), AbortSignal.timeout(5000)))).message).toMatch(/not JSON/);
      openai.behaviour = 'no-text';
      expect((await rejects(recognize(endpoint(), wav(), AbortSignal.timeout(5000)))).message).toMatch(/without a text field/);
      expect((await rejects(chat({ ...endpoint(), model: 'llm-test' }, [{ role: 'user', content: 'hi' }], null, AbortSignal.timeout(5000)))).message).toMatch(/without a message/);
      openai.behaviour = 'hang';
      const late = await rejects(recognize(endpoint(), wav(), AbortSignal.timeout(300)));
      expect([late.permanent, late.message]).toEqual([false, expect.stringMatching(/did not answer in time/)]);
      // A port that was just free: nothing listens there.
      const spare = createServer();
      await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
      const port = (spare.address() as AddressInfo).port;
      await new Promise<void>((resolve) => spare.close(() => resolve()));
      const closed = await rejects(recognize({ ...endpoint(), url: `http://127.0.0.1:${port}/v1` }, wav(), AbortSignal.timeout(5000)));
      expect(closed.message).toMatch(/could not be reached: ECONNREFUSED/);
    } finally {
      openai.behaviour = 'ok';
    }
    // A rating that is JSON but not the shape asked for is refused by the check the worker applies.
    expect(checkRating({ overall_score: 11, criteria_scores: [], highlights: [], improvements: [] }, [{ name: 'Politeness', description: '' }])).toEqual({ problem: expect.stringMatching(/overall_score/) });
    expect(checkRating({ overall_score: 7, criteria_scores: [{ name: 'Other', score: 7, feedback: '' }], highlights: [], improvements: [] }, [{ name: 'Politeness', description: '' }])).toEqual({
      problem: 'criteria_scores must score exactly: Politeness',
    });
  });
});

describeEngines('a PBX-pushed stereo recording through the pipeline', { skipIf: !SPEECH_TOOLS_READY }, (engine) => {
  it('is transcribed channel by channel, merged by time, then summarised and rated', async () => {
    const { store, close } = await openTestStore(engine);
    const storeDir = mkdtempSync(join(tmpdir(), 'sipsim-pipeline-store-'));
    const recordings = new RecordingService(store, { ...DEFAULT_RECORDINGS_CONFIG, storeDir });
    const ai = new OpenAiEngine({ url: openai.url, model: 'whisper-test', apiKey: 'test-key' }, { url: openai.url, model: 'llm-test', apiKey: 'test-key' }, recordings);
    const app = buildApp({ store, config: TEST_CONFIG, ai, recordings });
    const worker = new AiWorker(store.aiJobs, store.aiSettings, ai, { concurrency: 2, timeoutMs: 60_000, maxAttempts: 2, retryBaseMs: 10, retryMaxMs: 20, pollMs: 20 });
    try {
      const accountId = (await store.createAccount({ name: 'Own PBX' })).id;
      const { client, clientSecret } = await issueClient(store, accountId, {});
      const token = (await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret } })).json().access_token;
      const auth = { authorization: `Bearer ${token}` };
      const [callId] = await store.insertCalls(accountId, [deriveCall({ ...callInput({ start: '2025-04-01T09:00:00Z' }), pbxId: 'stereo-1' })]);
      expect((await app.inject({ method: 'POST', url: `/api/v2/calls/${callId}/transcription`, headers: auth })).statusCode).toBe(409);
      const pushed = await app.inject({ method: 'PUT', url: '/api/v2/pbx/recordings/stereo-1', headers: { ...auth, 'content-type': 'audio/wav' }, payload: recording.file });
      expect(pushed.statusCode).toBe(201);
      openai.heard.length = 0;
      openai.chats.length = 0;
      expect((await app.inject({ method: 'POST', url: `/api/v2/calls/${callId}/transcription`, headers: auth })).statusCode).toBe(201);
      worker.start();
      for (;;) {
        const rating = await store.aiJobs.get(accountId, callId!, 'rating');
        const summary = await store.aiJobs.get(accountId, callId!, 'summary');
        const transcript = await store.aiJobs.get(accountId, callId!, 'transcription');
        if (transcript?.status === 'failed') throw new Error(transcript.lastError ?? 'failed');
        if (rating?.status && rating.status !== 'pending' && summary?.status && summary.status !== 'pending') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(openai.problems).toEqual([]);
      // Sent channel by channel: the caller's stretches, then the receiver's.
      expect(openai.heard.map((h) => h.channelOfAudio)).toEqual([0, 0, 1, 1]);
      const got = (await app.inject({ method: 'GET', url: `/api/v2/calls/${callId}/transcription`, headers: auth })).json().data;
      expect(got.speech_state).toBe('speech_recognized');
      expect(got.payload.map((s: { channel: number; text: string }) => [s.channel, s.text])).toEqual(LINES.map((l) => [l.channel, l.text]));
      got.payload.forEach((s: { start: number; end: number }, i: number) => {
        expect(Math.abs(s.start - recording.placed[i]!.start)).toBeLessThanOrEqual(0.3);
        expect(Math.abs(s.end - recording.placed[i]!.end)).toBeLessThanOrEqual(0.3);
      });
      const [summaryChat, ratingChat] = [openai.chats.find((c) => !c.response_format), openai.chats.find((c) => c.response_format)];
      expect(summaryChat!.messages.at(-1).content).toContain(`Customer: ${LINES[0]!.text}`);
      expect(summaryChat!.messages.at(-1).content).toContain(`Agent: ${LINES[1]!.text}`);
      expect(ratingChat!.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'call_rating', strict: true } });
      const rating = (await app.inject({ method: 'GET', url: `/api/v2/calls/${callId}/rating`, headers: auth })).json().data;
      expect(rating).toMatchObject({ status: 'done', overall_score: 8 });
      expect(rating.criteria_scores.map((c: { name: string }) => c.name)).toEqual(['Politeness', 'Problem Resolution', 'Product Knowledge']);
      const summary = (await app.inject({ method: 'GET', url: `/api/v2/calls/${callId}/summary`, headers: auth })).json().data;
      expect(summary.summary).toMatch(/^The customer called about an order/);
    } finally {
      await worker.stop();
      await app.close();
      await close();
      rmSync(storeDir, { recursive: true, force: true });
    }
  }, 60_000);
});
