import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get, post } from '../api';
import { CallType, Caller, TagChip, outcomeLabel, tagColor } from '../components/bits';
import { Empty, Failure, Loading, Resolved, useAsync } from '../components/states';
import { refreshDirectory, useDirectory, type Directory } from '../directory';
import { paths } from '../paths';
import { CallAi } from './call-ai';
import { useSession, useZone } from '../session';
import { formatDuration, formatFull, zoneLabel } from '../time';
import type { Call, ClickToCall, Delivery } from '../types';

export function CallPage({ id }: { id: string }) {
  const zone = useZone();
  const { directory } = useDirectory();
  const state = useAsync((signal) => get<Call>(`/api/v2/calls/${encodeURIComponent(id)}`, undefined, signal).then((a) => a.data), [id]);
  // The player, once it is in the page: the transcript follows it and seeks it.
  const [audio, setAudio] = useState<HTMLAudioElement | null>(null);
  return (
    <section class="call-page">
      <p class="back">
        <a href="/calls" onClick={(e) => history.length > 1 && (e.preventDefault(), history.back())}>
          ← Calls
        </a>
      </p>
      <Resolved state={state} retry={state.reload}>
        {(call) => (
          <>
            <div class="page-head">
              <h1>
                Call {call.id}: <Caller call={call} />
              </h1>
              <span class="zone-note">Times in {zoneLabel(zone)}</span>
            </div>
            <div class="call-grid">
              <div>
                <Facts call={call} directory={directory} zone={zone} />
                {call.play_record_link && (
                  <section class="panel">
                    <h2>Recording</h2>
                    <audio ref={setAudio} controls preload="metadata" src={call.play_record_link} aria-label={`Recording of call ${call.id}`} />
                  </section>
                )}
                <CallAi call={call} directory={directory} audio={call.play_record_link ? audio : null} />
              </div>
              <div>
                <Timeline call={call} zone={zone} />
                <CallTags call={call} directory={directory} onChange={state.set} />
                <CallBack call={call} directory={directory} />
                <CallWebhooks call={call} zone={zone} />
              </div>
            </div>
          </>
        )}
      </Resolved>
    </section>
  );
}

function Facts({ call, directory, zone }: { call: Call; directory?: Directory; zone: string }) {
  const rows: Array<[string, string | number | boolean | null | preact.JSX.Element]> = [
    ['Type', <CallType type={call.call_type} />],
    ['Direction', call.direction],
    ['Outcome', `${outcomeLabel(call.sip_status)} (${call.sip_status})`],
    ['Answered', call.answered ? 'yes' : 'no'],
    ['Caller name', call.caller_name ?? '—'],
    ['Caller number', call.caller_number],
    ['Target number', call.target_number],
    ['Receiver number', call.receiver_number],
    ['Answered by number', call.answered_phone_number ?? '—'],
    ['Phone', call.phone_id === null ? '—' : (directory?.phoneName(call.phone_id) ?? `#${call.phone_id}`)],
    ['Answering phone', call.answered_phone_id === null ? '—' : (directory?.phoneName(call.answered_phone_id) ?? `#${call.answered_phone_id}`)],
    ['Employee', call.employee_id === null ? '—' : (directory?.employeeName(call.employee_id) ?? `#${call.employee_id}`)],
    ['Wait', `${formatDuration(call.wait_duration_sec)} (${call.wait_duration_sec} s)`],
    ['Duration', `${formatDuration(call.duration_sec)} (${call.duration_sec} s)`],
    ['Registered', formatFull(call.registration_time, zone)],
    ['Started', formatFull(call.start_time, zone)],
    ['Answered at', formatFull(call.answered_time, zone)],
    ['Ended', formatFull(call.end_time, zone)],
    ['Recording link', call.play_record_link ?? '—'],
  ];
  return (
    <section class="panel">
      <h2>Details</h2>
      <dl class="facts">
        {rows.map(([term, value]) => (
          <>
            <dt>{term}</dt>
            <dd>{typeof value === 'boolean' ? String(value) : value}</dd>
          </>
        ))}
      </dl>
    </section>
  );
}

function Timeline({ call, zone }: { call: Call; zone: string }) {
  const steps: Array<[string, string | null]> = [
    ['Registered', call.registration_time],
    ['Started ringing', call.start_time],
    ['Answered', call.answered_time],
    ['Ended', call.end_time],
  ];
  const base = Date.parse(call.registration_time);
  return (
    <section class="panel">
      <h2>Timeline</h2>
      <ol class="timeline">
        {steps.map(([label, at]) => (
          <li class={at ? '' : 'missing'}>
            <span class="what">{label}</span>
            <span class="when">{at ? formatFull(at, zone) : 'never'}</span>
            {at && <span class="muted"> +{formatDuration((Date.parse(at) - base) / 1000)}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CallTags({ call, directory, onChange }: { call: Call; directory?: Directory; onChange(call: Call): void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<Call>) => {
    setBusy(true);
    setError(null);
    try {
      onChange(await action());
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const addTag = (tagId: number) => run(async () => (await post<Call>(`/api/v2/calls/${call.id}/tags`, { tag_ids: [tagId] })).data);
  const removeTag = (tagId: number) => run(async () => (await del<Call>(`/api/v2/calls/${call.id}/tags/${tagId}`)).data);
  const createTag = (name: string) =>
    run(async () => {
      const tag = (await post<{ id: number }>('/api/v2/tags', { name })).data;
      refreshDirectory();
      return (await post<Call>(`/api/v2/calls/${call.id}/tags`, { tag_ids: [tag.id] })).data;
    });
  const available = (directory?.tags ?? []).filter((t) => !call.tags.some((c) => c.id === t.id));
  return (
    <section class="panel">
      <h2>Tags</h2>
      <div class="tags" aria-live="polite">
        {call.tags.length === 0 && <span class="muted">No tags.</span>}
        {call.tags.map((tag) => (
          <TagChip tag={tag} color={tagColor(directory?.tags, tag.id)} onRemove={busy ? undefined : () => removeTag(tag.id)} />
        ))}
      </div>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const value = String(new FormData(form).get('tag') ?? '');
          if (value) addTag(Number(value)).then(() => form.reset());
        }}
      >
        <label>
          Add a tag{' '}
          <select name="tag" disabled={busy || available.length === 0}>
            {available.map((t) => (
              <option value={t.id}>{t.name}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy || available.length === 0}>
          Add
        </button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const name = String(new FormData(form).get('name') ?? '').trim();
          if (name) createTag(name).then(() => form.reset());
        }}
      >
        <label>
          New tag <input name="name" maxLength={100} required />
        </label>
        <button type="submit" disabled={busy}>
          Create and add
        </button>
      </form>
      {error !== null && <Failure error={error} />}
    </section>
  );
}

const ENDED = new Set(['completed', 'failed']);

/** Click-to-call back to the other party, from the signed-in person's own phone (or a phone the admin picks). */
function CallBack({ call, directory }: { call: Call; directory?: Directory }) {
  const session = useSession();
  const [placed, setPlaced] = useState<ClickToCall | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [phoneId, setPhoneId] = useState<string>('');
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  if (!session.scopes.includes('calls.create')) return null;
  const number = call.direction === 'outbound' ? call.target_number : call.caller_number;
  const own = directory?.employees.find((e) => e.id === session.user.employee_id)?.phone_ids ?? [];
  const candidates = (directory?.phones ?? []).filter((p) => p.status === 'active' && p.internal_number !== null && (own.length === 0 || own.includes(p.id)));
  const chosen = phoneId || String(candidates[0]?.id ?? '');

  const follow = (id: number) => {
    timer.current = setTimeout(async () => {
      try {
        const { data } = await get<ClickToCall>(`/api/v2/calls/${id}`);
        setPlaced(data);
        if (!ENDED.has(data.status ?? 'completed')) follow(id);
      } catch (failure) {
        setError(failure);
      }
    }, 700);
  };
  const start = async () => {
    setError(null);
    try {
      const { data } = await post<ClickToCall>('/api/v2/calls', { phone_id: Number(chosen), number });
      setPlaced(data);
      if (!ENDED.has(data.status)) follow(data.id);
    } catch (failure) {
      setError(failure);
    }
  };
  const hangUp = async () => {
    if (!placed) return;
    try {
      const { data } = await del<ClickToCall>(`/api/v2/calls/${placed.id}`);
      setPlaced(data);
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 409)) setError(failure);
    }
  };
  const live = placed && !ENDED.has(placed.status ?? 'completed');
  return (
    <section class="panel">
      <h2>Call back</h2>
      {candidates.length === 0 ? (
        <p class="muted">No active phone with an extension to call from.</p>
      ) : (
        <div class="inline">
          <label>
            From{' '}
            <select value={chosen} onChange={(e) => setPhoneId(e.currentTarget.value)} disabled={Boolean(live)}>
              {candidates.map((p) => (
                <option value={p.id}>{directory?.phoneName(p.id)}</option>
              ))}
            </select>
          </label>
          <span>to {number}</span>
          {live ? (
            <button type="button" class="danger" onClick={hangUp}>
              Hang up
            </button>
          ) : (
            <button type="button" class="primary" onClick={start}>
              Call back
            </button>
          )}
        </div>
      )}
      {placed && (
        <p class="call-state" role="status" aria-live="polite">
          Call {placed.id}: <strong data-status={placed.status}>{(placed.status ?? 'completed').replace(/_/g, ' ')}</strong>
          {placed.failure ? ` (${placed.failure})` : ''}
          {ENDED.has(placed.status ?? '') && (
            <>
              {' '}
              · <a href={`/calls/${placed.id}`}>open its record</a>
            </>
          )}
        </p>
      )}
      {error !== null && <Failure error={error} />}
    </section>
  );
}

function CallWebhooks({ call, zone }: { call: Call; zone: string }) {
  const session = useSession();
  const allowed = session.scopes.includes('webhooks.read');
  const state = useAsync(
    (signal) => (allowed ? get<Delivery[]>(paths.callWebhooks(call.id), undefined, signal).then((a) => a.data) : Promise.resolve([])),
    [call.id, allowed],
  );
  if (!allowed) return null;
  return (
    <section class="panel">
      <h2>Webhooks sent</h2>
      {state.error !== undefined ? (
        <Failure error={state.error} retry={state.reload} />
      ) : !state.data ? (
        <Loading />
      ) : state.data.length === 0 ? (
        <Empty>No webhook was sent for this call.</Empty>
      ) : (
        <table class="compact">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last try</th>
              <th scope="col">Last answer</th>
            </tr>
          </thead>
          <tbody>
            {state.data.map((d) => (
              <tr>
                <td>{d.event}</td>
                <td class={`delivery ${d.status}`}>{d.status}</td>
                <td class="num">{d.attempts}</td>
                <td>{formatFull(d.last_attempt_at, zone)}</td>
                <td>{[d.last_status ? `HTTP ${d.last_status}` : null, d.last_error].filter(Boolean).join(': ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
