/**
 * The AI features' own costs, without any model:
 *
 *   pipeline  a minute of stereo call audio (espeak-ng lines placed on both
 *             channels, as the tests make it) through decode, the split into
 *             the two parties, voice-activity detection and cutting the
 *             stretches: everything sipsim does before the recognizer. The
 *             floor: sox reading the same file and computing its statistics
 *             (`sox FILE -n stat`), a decode and one pass over every sample
 *             in C.
 *   jobs      the sandbox engine with no delay: --calls answered calls are
 *             transcribed, each followed by its summary and rating (three jobs
 *             a call), by one worker with 8 jobs in flight, on each engine;
 *             jobs per second from queueing to the last one done.
 *
 *   npm run bench:ai [-- --engines sqlite,postgres --calls 300 --rounds 5]
 *
 * Environment: SIPSIM_BENCH_DATABASE_URL (admin connection for PostgreSQL).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cutStretch, decodeWav, encodeWav, findSpeech } from '../src/ai/audio.js';
import { SandboxEngine } from '../src/ai/sandbox.js';
import { AiWorker } from '../src/ai/worker.js';
import { deriveCall } from '../src/domain/call.js';
import { Store } from '../src/store/store.js';
import { Cleanup, fixed, freshDatabase, log, machine, tempDir, writeJson, writeSection } from './support/deployment.js';

const { values: args } = parseArgs({
  options: { engines: { type: 'string', default: 'sqlite,postgres' }, calls: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' } },
});
const RATE = 16000;
const LINES = [
  'Good morning, Demo Company, how can I help you?',
  'Hello, I am calling about my order, it has not arrived yet.',
  'I am sorry to hear that. Could you give me the order number?',
  'Yes, it is four eight one five two.',
  'Thank you. I can see it left our warehouse on Monday.',
  'The tracking page has said in transit for three days.',
  'The carrier has it at their depot; it will be delivered tomorrow.',
  'That is great, thank you very much for your help.',
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function minuteOfConversation(dir: string): string {
  const clips = LINES.map((text, i) => {
    const raw = join(dir, `l${i}.wav`);
    const resampled = join(dir, `l${i}-16k.wav`);
    execFileSync('espeak-ng', ['-v', 'en', '-s', '165', '-w', raw, text]);
    execFileSync('sox', [raw, '-r', String(RATE), '-b', '16', resampled]);
    return decodeWav(readFileSync(resampled)).channels[0]!;
  });
  const total = 60 * RATE;
  const channels = [new Float32Array(total), new Float32Array(total)];
  let at = Math.round(0.5 * RATE);
  for (let i = 0; at < total; i++) {
    const clip = clips[i % clips.length]!;
    if (at + clip.length > total) break;
    channels[i % 2]!.set(clip, at);
    at += clip.length + Math.round(0.8 * RATE);
  }
  const [left, right, stereo] = ['left.wav', 'right.wav', 'stereo.wav'].map((n) => join(dir, n)) as [string, string, string];
  writeFileSync(left, encodeWav(channels[0]!, RATE));
  writeFileSync(right, encodeWav(channels[1]!, RATE));
  execFileSync('sox', ['-M', left, right, stereo]);
  return stereo;
}

async function benchPipeline(dir: string, rounds: number) {
  const file = minuteOfConversation(dir);
  const seconds = Number(execFileSync('soxi', ['-D', file]).toString().trim());
  const once = async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const audio = decodeWav(readFileSync(file));
    const t1 = performance.now();
    const stretches = await findSpeech(audio);
    const t2 = performance.now();
    for (const s of stretches) cutStretch(audio, s);
    const t3 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    return { decode: t1 - t0, vad: t2 - t1, cut: t3 - t2, total: t3 - t0, cpu: (cpu.user + cpu.system) / 1000, stretches: stretches.length };
  };
  await once(); // loads the model
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await once());
  const floor: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    execFileSync('sox', [file, '-n', 'stat'], { stdio: 'ignore' });
    floor.push(performance.now() - t);
  }
  const perMinute = (ms: number) => (ms * 60) / seconds;
  return {
    audioSeconds: seconds,
    stretches: runs[0]!.stretches,
    decodeMsPerMinute: perMinute(median(runs.map((r) => r.decode))),
    vadMsPerMinute: perMinute(median(runs.map((r) => r.vad))),
    cutMsPerMinute: perMinute(median(runs.map((r) => r.cut))),
    totalMsPerMinute: perMinute(median(runs.map((r) => r.total))),
    cpuMsPerMinute: perMinute(median(runs.map((r) => r.cpu))),
    spreadMsPerMinute: [perMinute(Math.min(...runs.map((r) => r.total))), perMinute(Math.max(...runs.map((r) => r.total)))],
    floorMsPerMinute: perMinute(median(floor)),
  };
}

async function benchJobs(url: string, calls: number) {
  const store = Store.open(url);
  await store.migrate();
  try {
    const accountId = (await store.accounts.create({ name: 'Bench' })).id;
    const start = Date.UTC(2025, 0, 6, 9) / 1000;
    const rows = Array.from({ length: calls }, (_, i) =>
      deriveCall({ direction: 'inbound', callerNumber: '+33612345678', callerName: 'Léa Martin', targetNumber: '+33198765432', sipCode: 200, startTime: start + i * 600, answeredTime: start + i * 600 + 5, endTime: start + i * 600 + 65 + (i % 300), answeredPhoneNumber: '+33198765432' }),
    );
    const ids = await store.ingest.insertCalls(accountId, rows);
    const worker = new AiWorker(store.aiJobs, store.aiSettings, new SandboxEngine(0), { concurrency: 8, timeoutMs: 60_000, maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000, pollMs: 50 });
    const t0 = performance.now();
    for (const id of ids) await store.aiJobs.request(accountId, id, 'transcription');
    const queuedMs = performance.now() - t0;
    worker.start();
    for (;;) {
      const counts = await store.aiJobs.countByStatus();
      if (counts.done + counts.failed >= calls * 3) {
        if (counts.failed) throw new Error(`${counts.failed} jobs failed`);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop();
    return { calls, jobs: calls * 3, seconds, jobsPerSecond: (calls * 3) / seconds, queueMsPerCall: queuedMs / calls };
  } finally {
    await store.close();
  }
}

async function main() {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'sipsim-bench-ai', () => false);
    const pipeline = await benchPipeline(dir, Number(args.rounds));
    log(`pipeline: ${fixed(pipeline.totalMsPerMinute, 0)} ms per minute of stereo audio (floor ${fixed(pipeline.floorMsPerMinute, 0)} ms)`);
    const jobs: Record<string, Awaited<ReturnType<typeof benchJobs>>> = {};
    for (const engine of args.engines!.split(',')) {
      const url = engine === 'sqlite' ? `sqlite:${join(dir, 'jobs.db')}` : (await freshDatabase(cleanup, 'sipsim_bench_ai')).url;
      jobs[engine] = await benchJobs(url, Number(args.calls));
      log(`${engine}: ${fixed(jobs[engine]!.jobsPerSecond, 0)} sandbox jobs/s`);
    }
    const m = machine();
    writeJson('ai', { machine: m, pipeline, jobs });
    const p = pipeline;
    writeSection(
      'ai',
      `## AI jobs and the audio pipeline

\`npm run bench:ai\`. Machine: ${JSON.stringify(m)}.

Pipeline, per minute of stereo audio (${fixed(p.audioSeconds, 1)} s made of espeak-ng lines on both channels, ${p.stretches} stretches of speech found), before any recognizer, median of ${args.rounds} runs:

| Step | ms per minute of audio |
|---|---:|
| decode (WAV, both channels) | ${fixed(p.decodeMsPerMinute, 1)} |
| voice-activity detection (Silero, both channels) and edge trimming | ${fixed(p.vadMsPerMinute, 0)} |
| cutting the stretches as WAV files | ${fixed(p.cutMsPerMinute, 1)} |
| **total** (spread ${fixed(p.spreadMsPerMinute[0]!, 0)}-${fixed(p.spreadMsPerMinute[1]!, 0)}) | **${fixed(p.totalMsPerMinute, 0)}** |
| CPU time of the total (user + system, this process) | ${fixed(p.cpuMsPerMinute, 0)} |
| floor: \`sox FILE -n stat\` (decode and one pass in C) | ${fixed(p.floorMsPerMinute, 0)} |

That is ${fixed(60_000 / p.totalMsPerMinute, 1)}x real time by the clock (${fixed(60_000 / p.cpuMsPerMinute, 1)}x by CPU time) on this shared machine; the detector is nearly all of it, ${fixed(p.totalMsPerMinute / p.floorMsPerMinute, 1)}x the floor. The load average was ${machine().loadAverage} when this was written: other work shared the two cores.

Sandbox jobs (no delay), ${args.calls} answered calls, each transcribed then summarised and rated, one worker with 8 in flight:

| Engine | Jobs | Seconds | Jobs/s | Queueing a transcription (ms) |
|---|---:|---:|---:|---:|
${Object.entries(jobs).map(([e, j]) => `| ${e} | ${j.jobs} | ${fixed(j.seconds, 2)} | ${fixed(j.jobsPerSecond, 0)} | ${fixed(j.queueMsPerCall, 2)} |`).join('\n')}

Each job is a claim, the work, and a finish that stores the result and queues its webhook in one transaction: the figures are the store's round trips, since the sandbox's work is a few microseconds.`,
    );
  } finally {
    await cleanup.run();
  }
}

await main();
