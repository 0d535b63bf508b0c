import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RecordingsConfig } from '../config.js';
import type { RecordingRow } from '../store/recording-store.js';
import type { Store } from '../store/store.js';
import { RecordingFiles } from './files.js';
import { recordingLinkKey, signRecordingLink, verifyRecordingLink } from './links.js';

export type ServedRecording = { path: string; contentType: string } | 'gone' | 'expired' | null;

/**
 * The recordings of calls: pushed by a PBX and kept in a directory, or read
 * where the PBX writes them; signed links to play them; retention.
 */
export class RecordingService {
  readonly files: RecordingFiles;
  private key: Buffer | null = null;

  constructor(
    private readonly store: Store,
    readonly config: RecordingsConfig,
  ) {
    this.files = new RecordingFiles(config.storeDir);
  }

  private async linkKey(): Promise<Buffer> {
    this.key ??= recordingLinkKey(await this.store.credentials.cursorSecret());
    return this.key;
  }

  async save(accountId: number, pbxId: string, body: AsyncIterable<Buffer>): Promise<RecordingRow> {
    const written = await this.files.write(accountId, pbxId, body, this.config.maxBytes);
    return this.store.recordings.save({ accountId, pbxId, ...written, createdAt: Date.now() });
  }

  /** A link that plays the recording without a token until it expires. */
  async link(baseUrl: string, accountId: number, pbxId: string, nowSeconds: number): Promise<string> {
    const token = signRecordingLink(await this.linkKey(), { accountId, pbxId, expiresAt: nowSeconds + this.config.linkTtlSeconds });
    return `${baseUrl}/recordings/${token}`;
  }

  /** The calls' play_record_link where sipsim holds the recording: its own signed link in place of the PBX's. */
  async linkCalls<T extends { id: number; play_record_link: string | null }>(baseUrl: string, accountId: number, calls: T[], nowSeconds: number): Promise<T[]> {
    const held = await this.store.recordings.ofCalls(accountId, calls.map((c) => c.id));
    if (!held.size) return calls;
    return Promise.all(calls.map(async (c) => {
      const r = held.get(c.id);
      return r ? { ...c, play_record_link: await this.link(baseUrl, accountId, r.pbxId, nowSeconds) } : c;
    }));
  }

  /** What a link token serves: the file, 'gone' once retention deleted it, 'expired', or null for a bad token. */
  async resolve(token: string, nowSeconds: number): Promise<ServedRecording> {
    const link = verifyRecordingLink(await this.linkKey(), token, nowSeconds);
    if (link === null || link === 'expired') return link;
    const row = await this.store.recordings.find(link.accountId, link.pbxId);
    if (!row || !row.fileName) return null;
    if (row.deletedAt !== null) return 'gone';
    const path = this.files.pathOf(row.fileName);
    if ((await this.files.size(row.fileName)) === null) return 'gone';
    return { path, contentType: row.contentType ?? 'application/octet-stream' };
  }

  /**
   * The audio file of a call, for transcription: the one sipsim holds, or the
   * one in the PBX's directory with the file name the call's record gives.
   */
  async fileOfCall(call: { accountId: number; pbxId: string | null; playRecordLink: string | null }): Promise<string | null> {
    if (call.pbxId) {
      const row = await this.store.recordings.find(call.accountId, call.pbxId);
      if (row?.fileName && row.deletedAt === null && (await this.files.size(row.fileName)) !== null) return this.files.pathOf(row.fileName);
    }
    if (this.config.pbxDir && call.playRecordLink) {
      const name = basename(decodeURIComponent(new URL(call.playRecordLink, 'file:///').pathname));
      if (name && name !== '/' && !name.startsWith('.')) {
        const path = join(this.config.pbxDir, name);
        try {
          await access(path);
          return path;
        } catch {
          return null;
        }
      }
    }
    return null;
  }

  /** Deletes the audio of recordings past the keep time, keeping their calls; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    if (!this.config.keepDays) return 0;
    const before = now - this.config.keepDays * 86_400_000;
    let total = 0;
    for (;;) {
      const expired = await this.store.recordings.expired(before, 200);
      if (!expired.length) return total;
      for (const r of expired) {
        if (r.fileName) await this.files.remove(r.fileName);
        if (await this.store.recordings.markDeleted(r.accountId, r.pbxId, r.createdAt, now)) total++;
      }
    }
  }
}
