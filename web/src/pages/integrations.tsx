import { useState } from 'preact/hooks';
import { del, get, post, put, request } from '../api';
import { Empty, Failure, Resolved, useAsync } from '../components/states';
import { paths } from '../paths';
import { useSession, useZone } from '../session';
import { formatFull } from '../time';
import type { Delivery } from '../types';

interface WebhookSettings {
  url: string | null;
  events: string[];
  available_events: string[];
  secret_masked: string | null;
  deliveries: { pending: number; delivered: number; failed: number };
}

interface ApiClient {
  client_id: string;
  client_secret?: string;
  name: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
}

const SCOPES = [
  'account.read', 'calls.read', 'calls.write', 'calls.create', 'calls.tags.write', 'calls.transcription.read', 'calls.transcription.write',
  'calls.summary.read', 'calls.summary.write', 'phones.read', 'phones.write', 'tags.read', 'tags.write', 'webhooks.read', 'webhooks.write',
  'settings.read', 'settings.write',
];

export function IntegrationsPage() {
  const session = useSession();
  // Bumped when a test event is sent, so that the deliveries list shows it.
  const [round, setRound] = useState(0);
  if (session.user.role !== 'admin')
    return (
      <section>
        <h1>Integrations</h1>
        <p class="state failure" role="alert">
          Only an admin of the account can see and change the integrations.
        </p>
      </section>
    );
  return (
    <section class="integrations-page">
      <div class="page-head">
        <h1>Integrations</h1>
      </div>
      <Webhook onSent={() => setRound((r) => r + 1)} />
      <Deliveries round={round} />
      <Clients />
    </section>
  );
}

function Webhook({ onSent }: { onSent(): void }) {
  const state = useAsync((signal) => get<WebhookSettings>(paths.webhook, undefined, signal).then((a) => a.data), []);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [test, setTest] = useState<{ result: string; status: number | null; error: string | null } | null>(null);
  const act = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="panel" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Webhook</h2>
      <Resolved state={state} retry={state.reload}>
        {(settings) => (
          <>
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                const url = String(new FormData(e.currentTarget).get('url') ?? '').trim();
                act(async () => state.set((await put<WebhookSettings>(paths.webhook, { url: url || null })).data));
              }}
            >
              <label>
                URL <input name="url" type="url" size={48} defaultValue={settings.url ?? ''} key={settings.url} placeholder="https://crm.example.com/hooks" />
              </label>
              <button type="submit" class="primary">
                Save URL
              </button>
            </form>
            {settings.url && (
              <>
                <p class="inline">
                  <span>
                    Secret: <code data-secret>{secret ?? settings.secret_masked ?? '—'}</code>
                  </span>
                  <button type="button" onClick={() => act(async () => setSecret((await post<{ secret: string }>(paths.revealSecret)).data.secret))}>
                    Reveal
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      confirm('Rotate the secret? Receivers must switch to the new one.') &&
                      act(async () => {
                        setSecret((await post<{ secret: string }>(paths.rotateSecret)).data.secret);
                      })
                    }
                  >
                    Rotate
                  </button>
                </p>
                <fieldset class="events">
                  <legend>Events sent</legend>
                  {settings.available_events.map((event) => (
                    <label>
                      <input
                        type="checkbox"
                        checked={settings.events.includes(event)}
                        onChange={(e) => {
                          const on = e.currentTarget.checked;
                          act(async () => {
                            await request(on ? 'POST' : 'DELETE', `/api/v2/webhooks/${event}`, on ? { body: {} } : {});
                            state.set({ ...settings, events: on ? [...settings.events, event] : settings.events.filter((x) => x !== event) });
                          });
                        }}
                      />{' '}
                      {event}
                    </label>
                  ))}
                </fieldset>
                <p class="inline">
                  <button type="button" onClick={() => act(async () => {
                        setTest((await post<{ result: string; status: number | null; error: string | null }>(paths.webhookTest)).data);
                        onSent();
                      })}>
                    Send test event
                  </button>
                  {test && (
                    <span role="status" class={test.result === 'success' ? 'ok' : 'error'} data-test-result={test.result}>
                      {test.result === 'success' ? `Delivered (HTTP ${test.status})` : `Not delivered: ${test.error ?? `HTTP ${test.status}`}`}
                    </span>
                  )}
                </p>
                <p class="muted">
                  Deliveries: {settings.deliveries.delivered} delivered, {settings.deliveries.pending} pending, {settings.deliveries.failed} failed.
                </p>
              </>
            )}
          </>
        )}
      </Resolved>
      {error !== null && <Failure error={error} />}
    </section>
  );
}

function Deliveries({ round }: { round: number }) {
  const zone = useZone();
  const [status, setStatus] = useState('');
  const [before, setBefore] = useState<string | undefined>();
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const state = useAsync((signal) => get<Delivery[]>(paths.deliveries, { status, limit: 50, before }, signal), [status, before, round]);
  const redeliver = async (ids: number[]) => {
    setError(null);
    try {
      const { data } = await post<{ queued: number[]; already_pending: number[] }>(paths.redeliver, { ids });
      setNote(`Queued again: ${data.queued.join(', ') || 'none'}${data.already_pending.length ? `; already pending: ${data.already_pending.join(', ')}` : ''}.`);
      state.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="panel" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <div class="inline">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => (setBefore(undefined), setStatus(e.currentTarget.value))}>
            <option value="">all</option>
            <option value="pending">pending</option>
            <option value="delivered">delivered</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="button" onClick={state.reload}>
          Refresh
        </button>
        {before && (
          <button type="button" onClick={() => setBefore(undefined)}>
            Newest
          </button>
        )}
      </div>
      {note && <p role="status">{note}</p>}
      {error !== null && <Failure error={error} />}
      <Resolved state={state} retry={state.reload}>
        {({ data, pagination }) =>
          data.length === 0 ? (
            <Empty>No deliveries.</Empty>
          ) : (
            <>
              <table class="compact deliveries">
                <thead>
                  <tr>
                    <th scope="col">Id</th>
                    <th scope="col">Event</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">Attempts</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last answer</th>
                    <th scope="col">Action</th>
                  </tr>
                </thead>
                <tbody>
                  {data.map((d) => (
                    <tr data-delivery-id={d.id}>
                      <td>{d.id}</td>
                      <td>{d.event}</td>
                      <td class={`delivery ${d.status}`}>{d.status}</td>
                      <td class="num">{d.attempts}</td>
                      <td>{formatFull(d.created_at, zone)}</td>
                      <td class="wrap">{[d.last_status ? `HTTP ${d.last_status}` : null, d.last_error].filter(Boolean).join(': ') || '—'}</td>
                      <td>
                        <button type="button" onClick={() => redeliver([d.id])} disabled={d.status === 'pending'}>
                          Redeliver<span class="sr-only"> delivery {d.id}</span>
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {pagination?.has_more && pagination.page && (
                <button type="button" onClick={() => setBefore(pagination.page)}>
                  Older deliveries
                </button>
              )}
            </>
          )
        }
      </Resolved>
    </section>
  );
}

function Clients() {
  const zone = useZone();
  const state = useAsync((signal) => get<ApiClient[]>(paths.clients, undefined, signal).then((a) => a.data), []);
  const [created, setCreated] = useState<ApiClient | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const scopes = data.getAll('scope').map(String);
    setError(null);
    try {
      const answer = await post<ApiClient>(paths.clients, { name: String(data.get('name')).trim(), scopes });
      setCreated(answer.data);
      form.reset();
      state.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const revoke = async (client: ApiClient) => {
    if (!confirm(`Revoke "${client.name}"? Programs using it stop working at once.`)) return;
    setError(null);
    try {
      await del(paths.client(client.client_id));
      state.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="panel" aria-labelledby="clients-title">
      <h2 id="clients-title">API clients</h2>
      <form class="client-form" onSubmit={create}>
        <label>
          Name <input name="name" required maxLength={100} />
        </label>
        <fieldset class="scopes">
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label>
              <input type="checkbox" name="scope" value={scope} defaultChecked /> {scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="primary">
          Create client
        </button>
      </form>
      {created?.client_secret && (
        <div class="notice" role="status">
          <p>
            Client <code data-client-id>{created.client_id}</code> created. Its secret, shown this once:
          </p>
          <p>
            <code data-client-secret>{created.client_secret}</code>
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            I have saved it
          </button>
        </div>
      )}
      {error !== null && <Failure error={error} />}
      <Resolved state={state} retry={state.reload}>
        {(clients) =>
          clients.length === 0 ? (
            <Empty>No API clients.</Empty>
          ) : (
            <table class="compact clients">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {clients.map((client) => (
                  <tr data-client={client.client_id}>
                    <td>{client.name}</td>
                    <td>
                      <code>{client.client_id}</code>
                    </td>
                    <td class="wrap">{client.scopes.join(' ')}</td>
                    <td>{formatFull(client.created_at, zone)}</td>
                    <td>
                      {client.revoked_at ? (
                        <span class="muted">revoked {formatFull(client.revoked_at, zone)}</span>
                      ) : (
                        <button type="button" class="danger" onClick={() => revoke(client)}>
                          Revoke<span class="sr-only"> {client.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Resolved>
    </section>
  );
}
