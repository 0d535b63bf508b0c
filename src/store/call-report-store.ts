import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';
import type { Guarded } from './guarded.js';

/** A stretch of time with one UTC offset: from `from` (Unix seconds) on, until the next one. */
export interface OffsetSegment {
  from: number;
  offsetSeconds: number;
}

export interface HourTypeCount {
  /** The local hour's start, as a Unix instant. */
  hour: number;
  callType: string;
  calls: number;
}

export interface EmployeeFigures {
  employeeId: number;
  name: string | null;
  calls: number;
  answered: number;
  talkTimeSec: number;
}

const INCOMING_TYPES = ['inbound', 'missed', 'voicemail'];

/**
 * The dashboard's reads over calls, computed by the database over a window of
 * `start_time` (both ends inclusive, as the calls list): counts per local hour
 * and type, wait percentiles, per-employee figures, the longest calls, the
 * calls stored since a moment and the webhooks of one call.
 */
export class CallReportStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly guarded: Guarded,
  ) {}

  private window(accountId: number, from: number, to: number) {
    return this.db.selectFrom('calls').where('account_id', '=', accountId).where('start_time', '>=', from).where('start_time', '<=', to);
  }

  /**
   * Calls per local hour and type. The hour is found in SQL from the offset of
   * the segment a call falls in, so that both engines bucket alike whatever
   * their own time-zone support: ((t + offset) / 3600) * 3600 - offset.
   * Offsets are whole seconds computed here, written into the statement as numbers.
   */
  async perHour(accountId: number, from: number, to: number, segments: OffsetSegment[]): Promise<HourTypeCount[]> {
    const offset = offsetExpression(segments);
    const hour = sql<number>`((start_time + ${offset}) / 3600) * 3600 - ${offset}`;
    return this.guarded(async () => {
      const rows = await this.window(accountId, from, to)
        .select([hour.as('hour'), 'call_type', (eb) => eb.fn.countAll<number>().as('calls')])
        .groupBy([hour, 'call_type'])
        .execute();
      return rows.map((r) => ({ hour: Number(r.hour), callType: r.call_type, calls: Number(r.calls) }));
    });
  }

  /** Incoming calls, and how many of them were answered. */
  async incoming(accountId: number, from: number, to: number): Promise<{ calls: number; answered: number }> {
    return this.guarded(async () => {
      const row = await this.window(accountId, from, to)
        .select([(eb) => eb.fn.countAll<number>().as('calls'), sql<number>`COALESCE(SUM(CASE WHEN answered_time IS NOT NULL THEN 1 ELSE 0 END), 0)`.as('answered')])
        .where('call_type', 'in', INCOMING_TYPES)
        .executeTakeFirstOrThrow();
      return { calls: Number(row.calls), answered: Number(row.answered) };
    });
  }

  /**
   * Nearest-rank percentiles of the wait of answered incoming calls: for each
   * p, the value at rank ceil(p * n) in ascending order. One indexed count, then
   * one ordered read per percentile, the same SQL on both engines.
   */
  async answeredWaitPercentiles(accountId: number, from: number, to: number, percentiles: number[]): Promise<Array<number | null>> {
    return this.guarded(async () => {
      const answered = () => this.window(accountId, from, to).where('call_type', 'in', INCOMING_TYPES).where('answered_time', 'is not', null);
      const n = Number((await answered().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const out: Array<number | null> = [];
      for (const p of percentiles) {
        if (n === 0) {
          out.push(null);
          continue;
        }
        const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
        const row = await answered().select('wait_duration_sec').orderBy('wait_duration_sec').limit(1).offset(rank - 1).executeTakeFirst();
        out.push(row ? Number(row.wait_duration_sec) : null);
      }
      return out;
    });
  }

  async perEmployee(accountId: number, from: number, to: number): Promise<EmployeeFigures[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('calls as c')
        .leftJoin('employees as e', (join) => join.onRef('e.account_id', '=', 'c.account_id').onRef('e.id', '=', 'c.employee_id'))
        .where('c.account_id', '=', accountId)
        .where('c.start_time', '>=', from)
        .where('c.start_time', '<=', to)
        .where('c.employee_id', 'is not', null)
        .select([
          'c.employee_id',
          (eb) => eb.fn.max('e.name').as('name'),
          (eb) => eb.fn.countAll<number>().as('calls'),
          sql<number>`SUM(CASE WHEN c.answered_time IS NOT NULL THEN 1 ELSE 0 END)`.as('answered'),
          sql<number>`SUM(c.duration_sec)`.as('talk'),
        ])
        .groupBy('c.employee_id')
        .execute();
      return rows
        .map((r) => ({ employeeId: Number(r.employee_id), name: r.name ?? null, calls: Number(r.calls), answered: Number(r.answered), talkTimeSec: Number(r.talk) }))
        .sort((a, b) => b.calls - a.calls || a.employeeId - b.employeeId);
    });
  }

  /** Ids of the longest answered calls: duration, then newest start, then highest id. */
  async longestCallIds(accountId: number, from: number, to: number, limit: number): Promise<number[]> {
    return this.guarded(async () => {
      const rows = await this.window(accountId, from, to)
        .select('id')
        .where('duration_sec', '>', 0)
        .orderBy('duration_sec', 'desc')
        .orderBy('start_time', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.id));
    });
  }

  /** Ids of the calls stored at or after `since` (Unix seconds), newest stored first. */
  async storedSince(accountId: number, since: number, limit: number): Promise<number[]> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('calls')
        .select('id')
        .where('account_id', '=', accountId)
        .where('created_at', '>=', since)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.id));
    });
  }

  /** The pbx id a call's webhooks carry, or undefined when the account has no such call. */
  async pbxIdOfCall(accountId: number, id: number): Promise<string | null | undefined> {
    return this.guarded(async () => {
      const row = await this.db.selectFrom('calls').select('pbx_id').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return row ? row.pbx_id : undefined;
    });
  }
}

/** CASE over the segments, latest first, with the offsets as literal integers. */
function offsetExpression(segments: OffsetSegment[]): RawBuilder<number> {
  if (!segments.length) return sql<number>`0`;
  const int = (n: number) => sql.raw(String(Math.trunc(n)));
  if (segments.length === 1) return int(segments[0]!.offsetSeconds) as RawBuilder<number>;
  const branches = segments
    .slice(1)
    .reverse()
    .map((s) => sql`WHEN start_time >= ${int(s.from)} THEN ${int(s.offsetSeconds)}`);
  return sql<number>`(CASE ${sql.join(branches, sql` `)} ELSE ${int(segments[0]!.offsetSeconds)} END)`;
}
