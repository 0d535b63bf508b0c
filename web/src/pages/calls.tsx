import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, queryString } from '../api';
import { CALL_TYPES, CallType, Caller, TagChip, outcomeLabel, tagColor } from '../components/bits';
import { MultiSelect } from '../components/multi-select';
import { Empty, Failure, Loading } from '../components/states';
import { useVirtual } from '../components/virtual';
import { useDirectory, type Directory } from '../directory';
import { paths } from '../paths';
import { useZone } from '../session';
import { PRESETS, type Preset, dayOf, formatDate, formatDuration, formatTime, now, windowOf, zoneLabel } from '../time';
import type { Call } from '../types';

const PAGE_SIZE = 100;
const SINCE_MARGIN_MS = 5000;
const POLL_MS = Number((globalThis as { SIPSIM_POLL_MS?: number }).SIPSIM_POLL_MS) || 5000;

export interface CallFilters {
  preset: Preset;
  from: string;
  to: string;
  types: string[];
  employees: string[];
  tags: string[];
  search: string;
}

const list = (value: string | undefined) => (value ? value.split(',').filter(Boolean) : []);

/** The view's filters live in the address, so that a link or the back button restores it. */
export function filtersFrom(query: Record<string, string>): CallFilters {
  const preset = PRESETS.some((p) => p.value === query.when) ? (query.when as Preset) : 'today';
  return {
    preset,
    from: query.from ?? '',
    to: query.to ?? '',
    types: list(query.types),
    employees: list(query.employees),
    tags: list(query.tags),
    search: query.q ?? '',
  };
}

function addressOf(filters: CallFilters): string {
  return `/calls${queryString({
    when: filters.preset === 'today' ? undefined : filters.preset,
    from: filters.preset === 'custom' ? filters.from : undefined,
    to: filters.preset === 'custom' ? filters.to : undefined,
    types: filters.types,
    employees: filters.employees,
    tags: filters.tags,
    q: filters.search,
  })}`;
}

/** The query of GET /api/v2/calls (and of its export) for these filters. */
export function apiQuery(filters: CallFilters, zone: string) {
  const window = windowOf(filters.preset, zone, filters.from, filters.to);
  return {
    start_time: window.start.toISOString(),
    end_time: window.end?.toISOString(),
    call_types: filters.types,
    employees: filters.employees,
    tags: filters.tags,
    search: filters.search.trim() || undefined,
  };
}

interface Listing {
  calls: Call[];
  next?: string;
  /** Calls stored from this time on may be missing from the first page: where polling for new ones starts. */
  since?: string;
  loading: boolean;
  error?: unknown;
}

interface InProgress {
  id: number;
  status: string;
  caller_number?: string;
  target_number?: string;
  employee_id?: number | null;
  started_at?: string;
}

export function CallsPage() {
  const zone = useZone();
  const location = useLocation();
  const filters = filtersFrom(location.query);
  const key = addressOf(filters);
  const { directory } = useDirectory();
  const [listing, setListing] = useState<Listing>({ calls: [], loading: true });
  const [inProgress, setInProgress] = useState<InProgress[]>([]);
  const [round, setRound] = useState(0);
  const query = useMemo(() => apiQuery(filters, zone), [key, zone, round]);
  const scroller = useRef<HTMLDivElement>(null);
  const loadingMore = useRef(false);
  const narrow = useNarrow();

  const update = (change: Partial<CallFilters>) => location.route(addressOf({ ...filters, ...change }));

  // First page whenever the filters change.
  useEffect(() => {
    const controller = new AbortController();
    setListing({ calls: [], loading: true });
    scroller.current?.scrollTo({ top: 0 });
    get<Call[]>('/api/v2/calls', { ...query, limit: PAGE_SIZE }, controller.signal).then(
      ({ data, pagination, timestamp }) =>
        setListing({
          calls: data,
          next: pagination?.has_more ? pagination.page : undefined,
          loading: false,
          // A margin before the answer's time covers calls stored while the page was read (duplicates are dropped by id).
          since: new Date(Date.parse(timestamp ?? new Date().toISOString()) - SINCE_MARGIN_MS).toISOString(),
        }),
      (error) => !controller.signal.aborted && setListing({ calls: [], loading: false, error }),
    );
    return () => controller.abort();
  }, [query]);

  const loadMore = () => {
    if (loadingMore.current || !listing.next || listing.loading) return;
    loadingMore.current = true;
    setListing((l) => ({ ...l, loading: true }));
    get<Call[]>('/api/v2/calls', { ...query, limit: PAGE_SIZE, page: listing.next }).then(
      ({ data, pagination }) => {
        loadingMore.current = false;
        setListing((l) => {
          const seen = new Set(l.calls.map((c) => c.id));
          return { ...l, calls: [...l.calls, ...data.filter((c) => !seen.has(c.id))], next: pagination?.has_more ? pagination.page : undefined, loading: false };
        });
      },
      (error) => {
        loadingMore.current = false;
        setListing((l) => ({ ...l, loading: false, error }));
      },
    );
  };

  // New calls: poll the store's changes; when any arrived, the first page of this very filter is asked again and
  // whatever it holds that is not shown yet goes on top. Windows that end in the past never change.
  const open = !query.end_time;
  // Polling starts once the first page is in, so that it never delays it.
  const firstPageIn = !listing.loading || listing.calls.length > 0 || listing.error !== undefined;
  const startSince = listing.since;
  useEffect(() => {
    if (!firstPageIn) return;
    let since: string | undefined = startSince;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const { data } = await get<{ calls: Call[]; in_progress: InProgress[]; next_since: string }>(paths.changes, { since });
        if (stopped) return;
        setInProgress(data.in_progress ?? []);
        if (since && data.calls.length && open) {
          const fresh = await get<Call[]>('/api/v2/calls', { ...query, limit: PAGE_SIZE });
          if (stopped) return;
          setListing((l) => mergeFirstPage(l, fresh.data, fresh.pagination?.has_more ? fresh.pagination.page : undefined));
        }
        since = data.next_since;
      } catch {
        // A missed poll is retried at the next tick; the list itself shows request failures.
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [query, open, firstPageIn, startSince]);

  const rowHeight = narrow ? 60 : 38;
  const { items, total } = useVirtual({ count: listing.calls.length, scroller: () => scroller.current, rowHeight });
  // The list keeps one page ahead of what is in view, so that scrolling rarely waits for the network.
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= listing.calls.length - PAGE_SIZE - 20) loadMore();
  }, [last?.index, listing.calls.length, listing.next]);

  const exportHref = `/api/v2/calls/export${queryString({ ...query, format: 'csv' })}`;
  const employeeOptions = (directory?.employees ?? []).map((e) => ({ value: String(e.id), label: e.name }));
  const tagOptions = (directory?.tags ?? []).map((t) => ({ value: String(t.id), label: t.name, color: t.color }));
  const today = dayOf(now(zone), zone);

  return (
    <section class="calls-page">
      <div class="page-head">
        <h1>Calls</h1>
        <span class="zone-note">Times in {zoneLabel(zone)}</span>
      </div>
      <form
        class="filters"
        role="search"
        aria-label="Filter calls"
        onSubmit={(e) => {
          e.preventDefault();
          const value = new FormData(e.currentTarget).get('q');
          update({ search: String(value ?? '') });
        }}
      >
        <div class="segmented" role="group" aria-label="Time window">
          {PRESETS.map((p) => (
            <button
              type="button"
              aria-pressed={filters.preset === p.value}
              onClick={() => update({ preset: p.value, from: p.value === 'custom' ? filters.from || today : '', to: p.value === 'custom' ? filters.to || today : '' })}
            >
              {p.label}
            </button>
          ))}
        </div>
        {filters.preset === 'custom' && (
          <span class="range">
            <label>
              From <input type="date" value={filters.from} max={today} onChange={(e) => update({ from: e.currentTarget.value })} />
            </label>
            <label>
              To <input type="date" value={filters.to} max={today} onChange={(e) => update({ to: e.currentTarget.value })} />
            </label>
          </span>
        )}
        <MultiSelect label="Type" options={CALL_TYPES.map((t) => ({ ...t }))} selected={filters.types} onChange={(types) => update({ types })} />
        <MultiSelect label="Employee" options={employeeOptions} selected={filters.employees} onChange={(employees) => update({ employees })} />
        <MultiSelect label="Tag" options={tagOptions} selected={filters.tags} onChange={(tags) => update({ tags })} />
        <span class="search">
          <label for="call-search" class="sr-only">
            Number or name
          </label>
          <input id="call-search" name="q" type="search" placeholder="Number or name" value={filters.search} key={filters.search} />
          <button type="submit">Search</button>
        </span>
        <a class="button" href={exportHref} download>
          Export CSV
        </a>
      </form>

      {inProgress.length > 0 && (
        <ul class="live" aria-label="Calls in progress">
          {inProgress.map((call) => (
            <li>
              <span class="pulse" aria-hidden="true" /> In progress: {call.target_number ?? call.caller_number}{' '}
              {call.employee_id ? `(${directory?.employeeName(call.employee_id) ?? ''})` : ''} <span class="status">{call.status.replace(/_/g, ' ')}</span>
            </li>
          ))}
        </ul>
      )}

      <div class="table calls" role="table" aria-label="Calls, newest first" aria-rowcount={listing.next ? -1 : listing.calls.length + 1}>
        <div class="thead" role="rowgroup">
          <div class="row head" role="row">
            {['Time', 'Type', 'Caller', 'Phone / employee', 'Wait', 'Duration', 'Outcome', 'Tags'].map((name) => (
              <span role="columnheader">{name}</span>
            ))}
          </div>
        </div>
        <div class="scroller" ref={scroller} tabIndex={0} aria-label="Call rows" role="rowgroup">
          <div role="presentation" style={{ height: `${total}px`, position: 'relative' }}>
            {items.map((item) => {
              const call = listing.calls[item.index]!;
              return (
                <div
                  role="row"
                  aria-rowindex={item.index + 2}
                  class={`row call${call.answered ? '' : ' unanswered'}`}
                  data-call-id={call.id}
                  style={{ transform: `translateY(${item.start}px)`, height: `${rowHeight}px` }}
                  onClick={(e) => {
                    if (!(e.target as HTMLElement).closest('a')) location.route(`/calls/${call.id}`);
                  }}
                >
                  <span role="cell" class="time">
                    <a href={`/calls/${call.id}`}>
                      <span class="day">{formatDate(call.start_time, zone)}</span> {formatTime(call.start_time, zone)}
                    </a>
                  </span>
                  <span role="cell">
                    <CallType type={call.call_type} />
                  </span>
                  <span role="cell">
                    <Caller call={call} />
                  </span>
                  <PhoneAndEmployee call={call} directory={directory} />
                  <span role="cell" class="num">{formatDuration(call.wait_duration_sec)}</span>
                  <span role="cell" class="num">{formatDuration(call.duration_sec)}</span>
                  <span role="cell" class={`outcome ${call.sip_status}`}>{outcomeLabel(call.sip_status)}</span>
                  <span role="cell" class="tags">
                    {call.tags.map((tag) => (
                      <TagChip tag={tag} color={tagColor(directory?.tags, tag.id)} />
                    ))}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      <div class="list-state">
          {listing.error !== undefined && <Failure error={listing.error} retry={() => (listing.calls.length ? loadMore() : setRound((r) => r + 1))} />}
          {!listing.loading && listing.error === undefined && listing.calls.length === 0 && <Empty>No calls match these filters.</Empty>}
          {listing.loading && <Loading label={listing.calls.length ? 'Loading more calls…' : 'Loading calls…'} />}
      </div>
      <p class="count muted" aria-live="polite">
        {listing.calls.length} call{listing.calls.length === 1 ? '' : 's'} shown{listing.next ? ', more as you scroll' : ''}
      </p>
    </section>
  );
}

const newestFirst = (a: Call, b: Call) => (a.start_time === b.start_time ? b.id - a.id : a.start_time < b.start_time ? 1 : -1);

/**
 * The list after the first page was asked again because calls were stored. When that page reaches into what is
 * shown, the two are merged in the API's order (a call stored with an older start lands in its place); when it does
 * not (more news than a page), what lies between is unknown, so the list starts over from that page.
 */
function mergeFirstPage(listing: Listing, fresh: Call[], next: string | undefined): Listing {
  const shown = new Set(listing.calls.map((c) => c.id));
  const last = fresh[fresh.length - 1];
  if (listing.calls.length > 0 && next && last && !shown.has(last.id)) return { ...listing, calls: fresh, next };
  const byId = new Map(fresh.map((c) => [c.id, c]));
  const kept = listing.calls.map((c) => byId.get(c.id) ?? c);
  return { ...listing, calls: [...kept, ...fresh.filter((c) => !shown.has(c.id))].sort(newestFirst) };
}

/** The phone that took the call, and its employee unless the phone is already named after them. */
function PhoneAndEmployee({ call, directory }: { call: Call; directory?: Directory }) {
  const phone = directory?.phoneName(call.answered_phone_id ?? call.phone_id) ?? '';
  const employee = call.employee_id === null ? '' : (directory?.employeeName(call.employee_id) ?? '');
  const both = employee && !phone.includes(employee) ? `${phone} · ${employee}` : phone;
  return (
    <span role="cell" class="who" title={both}>
      {both}
    </span>
  );
}

function useNarrow(): boolean {
  const query = '(max-width: 720px)';
  const [narrow, setNarrow] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const media = matchMedia(query);
    const change = () => setNarrow(media.matches);
    media.addEventListener('change', change);
    return () => media.removeEventListener('change', change);
  }, []);
  return narrow;
}
