import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';

/** The audio formats sipsim keeps, told by their first bytes, whatever a client labels them. */
export type AudioType = 'audio/wav' | 'audio/mpeg' | 'audio/ogg';

export function sniffAudio(head: Buffer): AudioType | null {
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WAVE') return 'audio/wav';
  if (head.length >= 4 && head.toString('latin1', 0, 4) === 'OggS') return 'audio/ogg';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'ID3') return 'audio/mpeg';
  // An MPEG audio frame with no ID3 tag before it: 11 bits of frame sync.
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) return 'audio/mpeg';
  return null;
}

export class RecordingTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the recording is larger than ${maxBytes} bytes`);
  }
}

export class NotAudioError extends Error {
  constructor() {
    super('the body is not a WAV, MP3 or Ogg file');
  }
}

/** Bytes needed to tell the format. */
const SNIFF_BYTES = 12;

/**
 * The directory of recordings. A file is written beside its final place,
 * flushed, renamed over it and the directory flushed too, so that after a
 * crash a recording is either whole or absent, never half written. Names are
 * digests of the PBX id: no id can reach outside the directory.
 */
export class RecordingFiles {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Relative to the root: ACCOUNT/AB/DIGEST, two levels so that no directory grows huge. */
  fileNameOf(accountId: number, pbxId: string): string {
    const digest = createHash('sha256').update(pbxId).digest('hex');
    return join(String(accountId), digest.slice(0, 2), digest);
  }

  pathOf(fileName: string): string {
    const path = resolve(this.root, fileName);
    if (!path.startsWith(this.root + sep)) throw new Error('a recording path must stay inside the recordings directory');
    return path;
  }

  /** Streams a body to disk, at most maxBytes; returns what was written. */
  async write(accountId: number, pbxId: string, body: AsyncIterable<Buffer> & Partial<Pick<Readable, 'destroy'>>, maxBytes: number) {
    const fileName = this.fileNameOf(accountId, pbxId);
    const path = this.pathOf(fileName);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.part`;
    const file = await open(temp, 'wx');
    let size = 0;
    let head = Buffer.alloc(0);
    let contentType: AudioType | null = null;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxBytes) throw new RecordingTooLargeError(maxBytes);
        if (!contentType) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= SNIFF_BYTES) {
            contentType = sniffAudio(head);
            if (!contentType) throw new NotAudioError();
          }
        }
        await file.write(chunk);
      }
      contentType ??= sniffAudio(head);
      if (!contentType) throw new NotAudioError();
      await file.sync();
      await file.close();
      await rename(temp, path);
      await syncDirectory(dirname(path));
      return { fileName, contentType, sizeBytes: size };
    } catch (error) {
      body.destroy?.();
      await file.close().catch(() => {});
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Whether the file is there, and its size. */
  async size(fileName: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(fileName))).size;
    } catch {
      return null;
    }
  }

  async remove(fileName: string): Promise<void> {
    await rm(this.pathOf(fileName), { force: true });
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
