import { formatDateTime, isValidTimeZone } from '../../domain/time.js';
import { NotFoundError, PermissionDeniedError, type CallListParams, type FetchLike, type Sipsim } from 'sipsim/sdk';
import { CliError } from '../common.js';
import { connect } from './connection.js';
import { DAY, PAGE_MAX, resolveTime, type ClientOpts, type FilterOpts } from './flags.js';

/** A session: the client, and what several commands look up once. */

export class Session {
  private zonePromise: Promise<string> | undefined;
  private namesPromise: Promise<Map<number, string>> | undefined;

  constructor(
    readonly client: Sipsim,
    private readonly tzFlag: string | undefined,
  ) {}

  /** --tz, else the account's zone, else UTC (a token without account.read cannot read it). */
  zone(): Promise<string> {
    return (this.zonePromise ??= this.tzFlag
      ? Promise.resolve(this.tzFlag)
      : this.client.account.retrieve().then(
          (account) => (isValidTimeZone(account.timezone) ? account.timezone : 'UTC'),
          (error: unknown) => {
            if (error instanceof PermissionDeniedError || error instanceof NotFoundError) return 'UTC';
            throw error;
          },
        ));
  }

  /** Employee names by id; none when the token may not read them. */
  employeeNames(): Promise<Map<number, string>> {
    return (this.namesPromise ??= (async () => {
      const names = new Map<number, string>();
      try {
        for await (const employee of this.client.employees.list({ limit: PAGE_MAX })) names.set(employee.id, employee.name);
      } catch (error) {
        if (!(error instanceof PermissionDeniedError || error instanceof NotFoundError)) throw error;
      }
      return names;
    })());
  }

  /** The API's query for the filters; the window defaults to the last 7 days. */
  async query(opts: FilterOpts, now = Math.floor(Date.now() / 1000)): Promise<CallListParams & { start_time: string }> {
    const needsZone = opts.start?.kind === 'local' || opts.end?.kind === 'local';
    const zone = needsZone ? await this.zone() : 'UTC';
    const start = opts.start ? resolveTime(opts.start, zone, 'start') : now - 7 * DAY;
    const end = opts.end ? resolveTime(opts.end, zone, 'end') : undefined;
    if (end !== undefined && end < start) throw new CliError('--end is before --start');
    if (end === undefined && start > now) throw new CliError('--start is in the future (and --end defaults to now)');
    return {
      start_time: formatDateTime(start),
      end_time: end === undefined ? undefined : formatDateTime(end),
      call_types: opts.types?.join(','),
      employees: opts.employees?.join(','),
      tags: opts.tags?.join(','),
      search: opts.search,
    };
  }
}

export function session(opts: ClientOpts, fetch?: FetchLike): Session {
  return new Session(connect(opts, fetch), opts.tz);
}
