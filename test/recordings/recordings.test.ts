import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { DEFAULT_RECORDINGS_CONFIG } from '../../src/config.js';
import { deriveCall } from '../../src/domain/call.js';
import { recordingLinkKey, signRecordingLink } from '../../src/recordings/links.js';
import { RecordingService } from '../../src/recordings/service.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput, TEST_CONFIG } from '../helpers/fixture.js';
import { listen } from '../helpers/programs.js';

/** A real WAV file: 16-bit PCM, mono, 8 kHz, `samples` samples of a tone. */
export function wavFile(samples: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin(i / 4) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

describeEngines('recordings', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  let pbxDir: string;
  let recordings: RecordingService;
  let accountId: number;
  let token: string;
  let otherToken: string;
  const MAX = 64 * 1024;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    dir = mkdtempSync(join(tmpdir(), 'sipsim-recordings-'));
    pbxDir = mkdtempSync(join(tmpdir(), 'sipsim-pbx-spool-'));
    recordings = new RecordingService(store, { ...DEFAULT_RECORDINGS_CONFIG, storeDir: dir, pbxDir, maxBytes: MAX, keepDays: 30 });
    app = buildApp({ store, config: TEST_CONFIG, recordings });
    base = await listen(app);
    accountId = (await store.createAccount({ name: 'Acme' })).id;
    const other = (await store.createAccount({ name: 'Other' })).id;
    const tokenOf = async (account: number) => {
      const { client, clientSecret } = await issueClient(store, account, {});
      const r = await fetch(`${base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }) });
      return ((await r.json()) as { access_token: string }).access_token;
    };
    token = await tokenOf(accountId);
    otherToken = await tokenOf(other);
  });
  afterAll(async () => {
    await app?.close();
    await close?.();
    rmSync(dir, { recursive: true, force: true });
    rmSync(pbxDir, { recursive: true, force: true });
  });

  const put = (pbxId: string, body: Buffer | string, contentType = 'audio/wav', bearer = token) =>
    fetch(`${base}/api/v2/pbx/recordings/${encodeURIComponent(pbxId)}`, { method: 'PUT', headers: { authorization: `Bearer ${bearer}`, 'content-type': contentType }, body });
  const getCall = async (id: number, bearer = token) =>
    ((await (await fetch(`${base}/api/v2/calls/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as { data: { play_record_link: string | null } }).data;

  it('stores a pushed recording and links the call to it, playable without a token and seekable', async () => {
    const audio = wavFile(16000);
    const [callId] = await store.insertCalls(accountId, [deriveCall({ ...callInput({ start: '2025-02-01T10:00:00Z' }), pbxId: 'rec-1', playRecordLink: 'https://pbx.example/rec-1.wav' })]);
    const stored = await put('rec-1', audio);
    expect(stored.status).toBe(201);
    const body = (await stored.json()) as { data: { content_type: string; size_bytes: number; play_record_link: string } };
    expect(body.data).toMatchObject({ pbx_id: 'rec-1', content_type: 'audio/wav', size_bytes: audio.length });

    const link = (await getCall(callId!)).play_record_link!;
    expect(link.startsWith(`${base}/recordings/`)).toBe(true);
    const listed = (await (await fetch(`${base}/api/v2/calls?start_time=2025-02-01T00:00:00Z&end_time=2025-02-02T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: Array<{ id: number; play_record_link: string }> };
    expect(listed.data.find((c) => c.id === callId)!.play_record_link.startsWith(`${base}/recordings/`)).toBe(true);

    const whole = await fetch(link);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(audio)).toBe(true);
    const part = await fetch(link, { headers: { range: 'bytes=44-143' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 44-143/${audio.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(audio.subarray(44, 144))).toBe(true);

    // Pushed again, it replaces the first.
    const shorter = wavFile(800);
    expect((await put('rec-1', shorter, 'application/octet-stream')).status).toBe(201);
    expect(Buffer.from(await (await fetch((await getCall(callId!)).play_record_link!)).arrayBuffer()).equals(shorter)).toBe(true);
    // No part files are left behind.
    const { readdirSync } = await import('node:fs');
    const all = readdirSync(dir, { recursive: true }).map(String);
    expect(all.filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('refuses what is not audio or too large, and tampered or expired links, with clear errors', async () => {
    const notAudio = await put('rec-2', '<html>not audio</html>', 'audio/wav');
    expect(notAudio.status).toBe(415);
    expect(((await notAudio.json()) as { errors: string[] }).errors[0]).toMatch(/not a WAV, MP3 or Ogg/);
    const json = await put('rec-2', JSON.stringify({ a: 1 }), 'application/json');
    expect(json.status).toBe(415);
    const tooLarge = await put('rec-2', wavFile(MAX), 'audio/wav');
    expect(tooLarge.status).toBe(413);
    expect(await store.recordings.get(accountId, 'rec-2')).toBeNull();
    expect((await put('bad\u0001id', wavFile(10))).status).toBe(400);

    await put('rec-3', wavFile(100));
    const key = recordingLinkKey(await store.cursorSecret());
    const valid = signRecordingLink(key, { accountId, pbxId: 'rec-3', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    expect((await fetch(`${base}/recordings/${valid}`)).status).toBe(200);
    const forged = valid.replace(/\.(\d+)\./, (_m, n) => `.${Number(n) + 3600}.`);
    expect((await fetch(`${base}/recordings/${forged}`)).status).toBe(404);
    const otherAccount = signRecordingLink(Buffer.alloc(32), { accountId, pbxId: 'rec-3', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    expect((await fetch(`${base}/recordings/${otherAccount}`)).status).toBe(404);
    const expired = await fetch(`${base}/recordings/${signRecordingLink(key, { accountId, pbxId: 'rec-3', expiresAt: Math.floor(Date.now() / 1000) - 1 })}`);
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as { errors: string[] }).errors[0]).toMatch(/expired/);
  });

  it("keeps another account's recordings out of reach", async () => {
    await put('shared-id', wavFile(100), 'audio/wav', otherToken);
    const [callId] = await store.insertCalls(accountId, [deriveCall({ ...callInput({ start: '2025-02-02T10:00:00Z' }), pbxId: 'shared-id' })]);
    expect((await getCall(callId!)).play_record_link).toBeNull();
    expect(await recordings.fileOfCall({ accountId, pbxId: 'shared-id', playRecordLink: null })).toBeNull();
  });

  it('finds a recording in the PBX directory by the file name the call names', async () => {
    writeFileSync(join(pbxDir, 'in-1700000000.42.wav'), wavFile(100));
    expect(await recordings.fileOfCall({ accountId, pbxId: 'x', playRecordLink: '/var/spool/asterisk/monitor/in-1700000000.42.wav' })).toBe(join(pbxDir, 'in-1700000000.42.wav'));
    expect(await recordings.fileOfCall({ accountId, pbxId: 'x', playRecordLink: 'https://pbx.example/rec/in-1700000000.42.wav' })).toBe(join(pbxDir, 'in-1700000000.42.wav'));
    expect(await recordings.fileOfCall({ accountId, pbxId: 'x', playRecordLink: '/var/spool/../../etc/passwd' })).toBeNull();
  });

  it('deletes audio past the keep time and keeps the call; old links then answer 410', async () => {
    const [callId] = await store.insertCalls(accountId, [deriveCall({ ...callInput({ start: '2025-02-03T10:00:00Z' }), pbxId: 'old-1' })]);
    await put('old-1', wavFile(100));
    const link = (await getCall(callId!)).play_record_link!;
    const row = (await store.recordings.get(accountId, 'old-1'))!;
    const file = recordings.files.pathOf(row.fileName!);
    expect(existsSync(file)).toBe(true);
    // Thirty days on, as the clock of the pass says.
    expect(await recordings.prune(Date.now() + 31 * 86_400_000)).toBeGreaterThanOrEqual(1);
    expect(existsSync(file)).toBe(false);
    expect(await getCall(callId!)).toMatchObject({ play_record_link: null });
    const gone = await fetch(link);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { errors: string[] }).errors[0]).toMatch(/no longer kept/);
  });
});
