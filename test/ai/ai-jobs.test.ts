import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { AiStepError, type AiEngine } from '../../src/ai/engine.js';
import { SandboxEngine } from '../../src/ai/sandbox.js';
import { AiWorker, type AiWorkerOptions } from '../../src/ai/worker.js';
import { deriveCall } from '../../src/domain/call.js';
import type { Store } from '../../src/store/store.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { at, callInput, TEST_CONFIG } from '../helpers/fixture.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const FAST: AiWorkerOptions = { concurrency: 4, timeoutMs: 5000, maxAttempts: 3, retryBaseMs: 10, retryMaxMs: 40, pollMs: 20 };

/** An engine that does what each test tells it, around the sandbox's answers. */
class ScriptedEngine implements AiEngine {
  readonly description = 'scripted';
  readonly summarizes = true;
  private readonly sandbox = new SandboxEngine(0);
  /** Called before each step; may throw, hang, or return a value that replaces the sandbox's. */
  script: ((step: string, callId: number, signal: AbortSignal) => Promise<unknown> | unknown) | null = null;
  readonly calls: string[] = [];
  cannotTranscribe = this.sandbox.cannotTranscribe.bind(this.sandbox);
  private async step<T>(name: string, callId: number, signal: AbortSignal, real: () => Promise<T>): Promise<T> {
    this.calls.push(`${name}:${callId}`);
    const replaced = await this.script?.(name, callId, signal);
    return replaced === undefined ? real() : (replaced as T);
  }
  transcribe: AiEngine['transcribe'] = (call, signal) => this.step('transcribe', call.id, signal, () => this.sandbox.transcribe(call, signal));
  summarize: AiEngine['summarize'] = (call, s, i, signal) => this.step('summarize', call.id, signal, () => this.sandbox.summarize(call, s, i, signal));
  rate: AiEngine['rate'] = (call, s, c, signal) => this.step('rate', call.id, signal, () => this.sandbox.rate(call, s, c, signal));
}

describeEngines('transcripts, summaries and ratings', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let app: FastifyInstance;
  let offApp: FastifyInstance;
  let accountId: number;
  let otherAccountId: number;
  let token: string;
  const ai = new ScriptedEngine();
  const receiver = new WebhookReceiver();
  let dispatcher: WebhookDispatcher;
  const workers: AiWorker[] = [];

  const worker = (options: Partial<AiWorkerOptions> = {}) => {
    const w = new AiWorker(store.aiJobs, store.aiSettings, ai, { ...FAST, ...options });
    workers.push(w);
    w.start();
    return w;
  };
  const stopWorkers = async () => {
    for (const w of workers.splice(0)) await w.stop();
  };
  const insert = async (overrides: Parameters<typeof callInput>[0], account = accountId) =>
    (await store.insertCalls(account, [deriveCall(callInput(overrides))]))[0]!;
  const send = async (method: 'GET' | 'POST' | 'PATCH', url: string, options: { payload?: unknown; bearer?: string; on?: FastifyInstance } = {}) => {
    const r = await (options.on ?? app).inject({ method, url, payload: options.payload as never, headers: { authorization: `Bearer ${options.bearer ?? token}` } });
    return { status: r.statusCode, body: r.json() };
  };
  const jobDone = async (callId: number, kind: 'transcription' | 'summary' | 'rating') => {
    for (;;) {
      const job = await store.aiJobs.get(accountId, callId, kind);
      if (job && job.status !== 'pending') return job;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.createAccount({ name: 'Acme' })).id;
    otherAccountId = (await store.createAccount({ name: 'Other' })).id;
    app = buildApp({ store, config: TEST_CONFIG, ai });
    offApp = buildApp({ store, config: TEST_CONFIG, ai: null });
    await app.ready();
    const { client, clientSecret } = await issueClient(store, accountId, {});
    const r = await app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret } });
    token = r.json().access_token;
    await receiver.start();
    const settings = await store.webhooks.setUrl(accountId, receiver.url);
    receiver.secret = settings.secret;
    dispatcher = new WebhookDispatcher(store.webhooks, { timeoutMs: 2000, retryWindowMs: 60_000, retryBaseMs: 50, retryMaxMs: 200, concurrency: 8, pollMs: 50 });
    dispatcher.start();
  });
  afterAll(async () => {
    await stopWorkers();
    await dispatcher?.stop();
    await receiver.stop();
    await app?.close();
    await offApp?.close();
    await close?.();
  });

  it('transcribes an answered call, then summarises and rates it, each with its webhook, once', async () => {
    ai.script = null;
    const callId = await insert({ start: '2025-03-10T09:00:00Z', callerName: 'Élodie Martin' });
    const started = await send('POST', `/api/v2/calls/${callId}/transcription`);
    expect(started.status).toBe(201);
    expect(started.body.data).toEqual({ speech_state: 'speech_sent_to_recognition', payload: [] });
    // Nothing runs the job yet: a second request finds it in progress.
    const again = await send('POST', `/api/v2/calls/${callId}/transcription`);
    expect(again.status).toBe(409);
    expect(again.body.errors[0]).toMatch(/already in progress/);
    expect((await send('GET', `/api/v2/calls/${callId}/transcription`)).body.data.speech_state).toBe('speech_sent_to_recognition');

    worker();
    await receiver.waitFor((got) => ['speech', 'summary', 'rating'].every((e) => got.some((r) => r.headers['x-webhook-event'] === e && r.body.call_id === callId)));

    const transcript = await send('GET', `/api/v2/calls/${callId}/transcription`);
    expect(transcript.status).toBe(200);
    expect(transcript.body.data.speech_state).toBe('speech_recognized');
    const segments = transcript.body.data.payload as Array<{ channel: number; start: number; end: number; text: string }>;
    expect(segments.length).toBeGreaterThan(3);
    // The caller's own name, said by the caller, on channel 0; nothing past the call's 120 s.
    expect(segments.find((s) => s.text.includes('Élodie Martin'))?.channel).toBe(0);
    expect(new Set(segments.map((s) => s.channel))).toEqual(new Set([0, 1]));
    for (const s of segments) expect(s.end).toBeLessThanOrEqual(120);

    const speech = receiver.delivered.filter((r) => r.headers['x-webhook-event'] === 'speech' && r.body.call_id === callId);
    expect(speech).toHaveLength(1);
    expect(speech[0]!.valid).toBe(true);
    expect(speech[0]!.body).toEqual({
      call_id: callId,
      speech_state: 'speech_stored',
      payload: segments.map((s) => ({ text: s.text, start: s.start, end: s.end, start_sec: s.start, channel: s.channel === 0 ? 'left' : 'right' })),
    });

    const summary = await send('GET', `/api/v2/calls/${callId}/summary`);
    expect(summary.body.data).toMatchObject({ call_id: callId, status: 'done' });
    expect(summary.body.data.summary).toMatch(/^Élodie Martin called about .+ The call lasted 2 min 0 s\.$/);
    const summaryHook = receiver.delivered.filter((r) => r.headers['x-webhook-event'] === 'summary' && r.body.call_id === callId);
    expect(summaryHook.map((r) => r.body)).toEqual([{ id: summary.body.data.id, summary: summary.body.data.summary, call_id: callId }]);

    const rating = await send('GET', `/api/v2/calls/${callId}/rating`);
    expect(rating.body.data.status).toBe('done');
    expect(rating.body.data.criteria_scores.map((c: { name: string }) => c.name)).toEqual(['Politeness', 'Problem Resolution', 'Product Knowledge']);
    const ratingHook = receiver.delivered.filter((r) => r.headers['x-webhook-event'] === 'rating' && r.body.call_id === callId);
    const { status: _status, ...ratingFields } = rating.body.data;
    expect(ratingHook.map((r) => r.body)).toEqual([{ event: 'rating', ...ratingFields }]);

    // Each body is what the OpenAPI document says the event carries.
    const doc = (await app.inject({ method: 'GET', url: '/api/v2/openapi.json' })).json();
    const ajv = new Ajv2020({ strict: false });
    formats.default(ajv);
    for (const hook of [...speech, ...summaryHook, ...ratingHook]) {
      const event = String(hook.headers['x-webhook-event']);
      const validate = ajv.compile(doc.webhooks[event].post.requestBody.content['application/json'].schema);
      expect(validate(hook.body), `${event}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    await stopWorkers();
  });

  it('refuses what it cannot do with a clear error, and hides other accounts\' calls', async () => {
    const missed = await insert({ start: '2025-03-10T10:00:00Z', sipCode: 487, answeredTime: null, answeredPhoneNumber: null });
    const refused = await send('POST', `/api/v2/calls/${missed}/transcription`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 409, path: `/api/v2/calls/${missed}/transcription` });
    expect(refused.body.errors[0]).toMatch(/not answered/);
    expect((await send('POST', `/api/v2/calls/${missed}/summary`)).status).toBe(409);

    const theirs = await insert({ start: '2025-03-10T11:00:00Z' }, otherAccountId);
    for (const path of ['transcription', 'summary', 'rating']) {
      expect((await send('POST', `/api/v2/calls/${theirs}/${path}`)).status).toBe(404);
      expect((await send('GET', `/api/v2/calls/${theirs}/${path}`)).status).toBe(404);
    }
    const never = await insert({ start: '2025-03-10T12:00:00Z' });
    const notAsked = await send('GET', `/api/v2/calls/${never}/transcription`);
    expect(notAsked.status).toBe(404);
    expect(notAsked.body.errors[0]).toMatch(/POST/);
    expect((await send('GET', '/api/v2/calls/abc/transcription')).status).toBe(400);

    const off = await send('POST', `/api/v2/calls/${never}/transcription`, { on: offApp });
    expect(off.status).toBe(503);
    expect(off.body.errors[0]).toMatch(/SIPSIM_TRANSCRIBE_URL/);
    // A recognizer without a language model: transcripts yes, summaries and ratings no.
    const speechOnly = buildApp({ store, config: TEST_CONFIG, ai: Object.assign(Object.create(ai), { summarizes: false }) });
    try {
      expect((await send('POST', `/api/v2/calls/${never}/summary`, { on: speechOnly })).status).toBe(503);
      expect((await send('POST', `/api/v2/calls/${never}/rating`, { on: speechOnly })).body.errors[0]).toMatch(/SIPSIM_LLM_URL/);
    } finally {
      await speechOnly.close();
    }
  });

  it('starts a job once when several requests for it arrive together', async () => {
    const callId = await insert({ start: '2025-03-10T13:00:00Z' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => send('POST', `/api/v2/calls/${callId}/transcription`)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect((await store.aiJobs.get(accountId, callId, 'transcription'))!.status).toBe('pending');
    await store.db.deleteFrom('call_ai_jobs').where('call_id', '=', callId).execute();
  });

  it('retries an engine that is down, and keeps the job failed once it gives up on garbage', async () => {
    const flaky = await insert({ start: '2025-03-11T09:00:00Z' });
    const garbage = await insert({ start: '2025-03-11T10:00:00Z' });
    let flakyFailures = 0;
    ai.script = (step, callId) => {
      if (step === 'transcribe' && callId === flaky && flakyFailures < 2) {
        flakyFailures++;
        throw new AiStepError('connect ECONNREFUSED 127.0.0.1:9');
      }
      if (step === 'transcribe' && callId === garbage) return [{ channel: 7, text: 'no' }];
      return undefined;
    };
    expect((await send('POST', `/api/v2/calls/${flaky}/transcription`)).status).toBe(201);
    expect((await send('POST', `/api/v2/calls/${garbage}/transcription`)).status).toBe(201);
    worker();
    const done = await jobDone(flaky, 'transcription');
    expect(done).toMatchObject({ status: 'done', attempts: 3 });
    const failed = await jobDone(garbage, 'transcription');
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    const got = await send('GET', `/api/v2/calls/${garbage}/transcription`);
    expect(got.body.data).toEqual({ speech_state: 'speech_recognition_failed', payload: [], error: expect.stringMatching(/gave up after 3 attempts: the recognizer's answer was not usable/) });
    await jobDone(flaky, 'rating');
    await receiver.waitFor((r) => r.some((x) => x.headers['x-webhook-event'] === 'rating' && x.body.call_id === flaky));
    expect(receiver.delivered.filter((r) => r.headers['x-webhook-event'] === 'speech' && r.body.call_id === flaky)).toHaveLength(1);
    expect(receiver.delivered.filter((r) => r.body.call_id === garbage)).toHaveLength(0);
    // Asked again, a failed job runs again.
    ai.script = null;
    expect((await send('POST', `/api/v2/calls/${garbage}/transcription`)).status).toBe(201);
    expect(await jobDone(garbage, 'transcription')).toMatchObject({ status: 'done', attempts: 1 });
    await stopWorkers();
  });

  it('abandons an attempt at its timeout, even when the engine ignores the signal', async () => {
    const slow = await insert({ start: '2025-03-12T09:00:00Z' });
    ai.script = (step, callId) => (step === 'transcribe' && callId === slow ? new Promise(() => {}) : undefined);
    expect((await send('POST', `/api/v2/calls/${slow}/transcription`)).status).toBe(201);
    worker({ timeoutMs: 150, maxAttempts: 2 });
    const failed = await jobDone(slow, 'transcription');
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.lastError).toMatch(/no result within 0.15 s/);
    ai.script = null;
    await stopWorkers();
  });

  it('summarises and rates with the account\'s settings', async () => {
    const defaults = await send('GET', '/api/v2/settings/ai');
    expect(defaults.body.data).toEqual({
      summary_instructions: null,
      rating_criteria: [
        { name: 'Politeness', description: expect.any(String) },
        { name: 'Problem Resolution', description: expect.any(String) },
        { name: 'Product Knowledge', description: expect.any(String) },
      ],
      auto_transcription: { enabled: false, min_duration_sec: 30 },
    });
    expect((await send('PATCH', '/api/v2/settings/ai', { payload: { rating_criteria: [{ name: 'Empathy', description: '' }, { name: 'empathy', description: '' }] } })).status).toBe(400);
    expect((await send('PATCH', '/api/v2/settings/ai', { payload: { rating_criteria: [] } })).status).toBe(400);
    expect((await send('PATCH', '/api/v2/settings/ai', { payload: {} })).status).toBe(400);
    expect((await send('PATCH', '/api/v2/settings/ai', { payload: { colour: 'red' } })).status).toBe(400);
    const changed = await send('PATCH', '/api/v2/settings/ai', {
      payload: { summary_instructions: 'mention the order number', rating_criteria: [{ name: 'Empathy', description: 'Understanding shown' }, { name: 'Speed', description: 'No waiting' }] },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data.auto_transcription).toEqual({ enabled: false, min_duration_sec: 30 });

    const callId = await insert({ start: '2025-03-13T09:00:00Z' });
    // A summary asked for before any transcript: the call is transcribed first, and both follow.
    const asked = await send('POST', `/api/v2/calls/${callId}/summary`);
    expect(asked.status).toBe(201);
    expect(asked.body.data).toEqual({ call_id: callId, status: 'pending', summary: null });
    expect((await send('GET', `/api/v2/calls/${callId}/rating`)).body.data).toMatchObject({ status: 'pending', overall_score: null });
    worker();
    await jobDone(callId, 'summary');
    const rating = await jobDone(callId, 'rating');
    expect((rating.result as { criteria_scores: Array<{ name: string }> }).criteria_scores.map((c) => c.name)).toEqual(['Empathy', 'Speed']);
    expect((await send('GET', `/api/v2/calls/${callId}/summary`)).body.data.summary).toMatch(/Requested focus: mention the order number\.$/);
    // Asked again with a transcript in hand: only the summary is made again.
    const before = ai.calls.filter((c) => c === `transcribe:${callId}`).length;
    expect((await send('POST', `/api/v2/calls/${callId}/summary`)).status).toBe(201);
    await jobDone(callId, 'summary');
    expect(ai.calls.filter((c) => c === `transcribe:${callId}`).length).toBe(before);
    await stopWorkers();
  });

  it('transcribes new answered calls longer than the threshold once automatic transcription is on', async () => {
    const old = await insert({ start: '2025-03-14T08:00:00Z' });
    const on = await send('PATCH', '/api/v2/settings/ai', { payload: { auto_transcription: { enabled: true, min_duration_sec: 60 } } });
    expect(on.body.data.auto_transcription).toEqual({ enabled: true, min_duration_sec: 60 });
    const long = await insert({ start: '2025-03-14T09:00:00Z' });
    // Answered at +5 s, ended at +65 s: 60 s of talk, not longer than 60.
    const short = await insert({ start: '2025-03-14T10:00:00Z', endTime: at('2025-03-14T10:01:05Z') });
    const missed = await insert({ start: '2025-03-14T11:00:00Z', sipCode: 487, answeredTime: null, answeredPhoneNumber: null });
    worker();
    await jobDone(long, 'rating');
    await stopWorkers();
    expect((await store.getCall(accountId, short))!.duration_sec).toBe(60);
    expect(await store.aiJobs.get(accountId, short, 'transcription')).toBeNull();
    await send('PATCH', '/api/v2/settings/ai', { payload: { auto_transcription: { enabled: false } } });
    expect(await store.aiJobs.get(accountId, old, 'transcription')).toBeNull();
    expect(await store.aiJobs.get(accountId, missed, 'transcription')).toBeNull();
  });

  it('runs each job once when two workers share the store', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(await insert({ start: `2025-03-15T09:${String(i).padStart(2, '0')}:00Z` }));
    ai.calls.length = 0;
    for (const id of ids) expect((await send('POST', `/api/v2/calls/${id}/transcription`)).status).toBe(201);
    worker({ concurrency: 3 });
    worker({ concurrency: 3 });
    for (const id of ids) await jobDone(id, 'rating');
    for (const id of ids) await jobDone(id, 'summary');
    for (const step of ['transcribe', 'summarize', 'rate']) {
      expect(ai.calls.filter((c) => c.startsWith(`${step}:`)).sort()).toEqual(ids.map((id) => `${step}:${id}`).sort());
    }
    const queued = await store.webhooks.list(accountId, { limit: 1000 });
    for (const event of ['speech', 'summary', 'rating']) {
      const forIds = queued.filter((d) => d.event === event && ids.includes(JSON.parse(d.body).call_id));
      expect(forIds).toHaveLength(ids.length);
    }
    await stopWorkers();
  });
});
