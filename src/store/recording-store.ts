import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Guarded } from './guarded.js';

/** A recording sipsim holds for a call, by the call's PBX id. Times are Unix milliseconds. */
export interface RecordingRow {
  accountId: number;
  pbxId: string;
  fileName: string | null;
  contentType: string | null;
  sizeBytes: number | null;
  createdAt: number;
  /** Set once retention deleted the audio: the row stays, so that its old links answer 410. */
  deletedAt: number | null;
}

const toRow = (r: Database['recordings']): RecordingRow => ({
  accountId: Number(r.account_id),
  pbxId: r.pbx_id,
  fileName: r.file_name,
  contentType: r.content_type,
  sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
  createdAt: Number(r.created_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
});

/** Which recordings exist; the audio itself is in the recordings directory (src/recordings/files.ts). */
export class RecordingStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly guarded: Guarded,
  ) {}

  /** Records a file just put in place, replacing an earlier one of the same call. */
  async save(row: Omit<RecordingRow, 'deletedAt'>): Promise<RecordingRow> {
    return this.guarded(async () => {
      const values = {
        account_id: row.accountId,
        pbx_id: row.pbxId,
        file_name: row.fileName,
        content_type: row.contentType,
        size_bytes: row.sizeBytes,
        created_at: row.createdAt,
        deleted_at: null,
      };
      await this.db
        .insertInto('recordings')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['account_id', 'pbx_id']).doUpdateSet({ file_name: row.fileName, content_type: row.contentType, size_bytes: row.sizeBytes, created_at: row.createdAt, deleted_at: null }),
        )
        .execute();
      return { ...row, deletedAt: null };
    });
  }

  /** The recording of a call, or null when sipsim holds none for it. */
  async find(accountId: number, pbxId: string): Promise<RecordingRow | null> {
    return this.guarded(async () => {
      const r = await this.db.selectFrom('recordings').selectAll().where('account_id', '=', accountId).where('pbx_id', '=', pbxId).executeTakeFirst();
      return r ? toRow(r) : null;
    });
  }

  /** The recordings of some calls, by call id, that still have their audio. */
  async ofCalls(accountId: number, callIds: number[]): Promise<Map<number, RecordingRow>> {
    if (!callIds.length) return new Map();
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('calls as c')
        .innerJoin('recordings as r', (join) => join.onRef('r.account_id', '=', 'c.account_id').onRef('r.pbx_id', '=', 'c.pbx_id'))
        .selectAll('r')
        .select('c.id as call_id')
        .where('c.account_id', '=', accountId)
        .where('c.id', 'in', callIds)
        .where('r.deleted_at', 'is', null)
        .execute();
      return new Map(rows.map((r) => [Number(r.call_id), toRow(r)]));
    });
  }

  /** Recordings made before `before` whose audio is still kept, oldest first: for retention. */
  async expired(before: number, limit: number): Promise<RecordingRow[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('recordings')
        .selectAll()
        .where('deleted_at', 'is', null)
        .where('created_at', '<', before)
        .orderBy('created_at')
        .limit(limit)
        .execute();
      return rows.map(toRow);
    });
  }

  async markDeleted(accountId: number, pbxId: string, createdAt: number, at: number): Promise<boolean> {
    return this.guarded(async () => {
      // Only the file that expired: one pushed again since is newer and stays.
      const result = await this.db
        .updateTable('recordings')
        .set({ deleted_at: at })
        .where('account_id', '=', accountId)
        .where('pbx_id', '=', pbxId)
        .where('created_at', '=', createdAt)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }
}
