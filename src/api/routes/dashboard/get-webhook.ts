import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { issueClient } from '../../admin.js';
import { ApiError, invalidParameter } from '../../domain/errors.js';
import { ALL_SCOPES } from '../../domain/scopes.js';
import { formatDateTime } from '../../domain/time.js';
import type { OAuthClient, Store } from '../../store/store.js';
import { DELIVERY_STATUSES, type DeliveryStatus, type WebhookSettings } from '../../store/webhook-store.js';
import { checkWebhookUrl, deliveryJson, maskSecret, redeliverIds, sendTestEvent, testOutcome } from '../../webhooks/admin.js';
import { WEBHOOK_EVENTS } from '../../webhooks/events.js';
import { sendData, sendList } from '../envelope.js';
import { requireScope, resolveAuth } from '../plugins/auth.js';

const NO_URL = 'The account has no webhook URL: set one first';
const hidden = { hide: true } as const;
const DELIVERIES_MAX = 200;

const WebhookPut = Type.Object(
  {
    url: Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()]),
    events: Type.Optional(Type.Array(Type.Enum([...WEBHOOK_EVENTS], { type: 'string' }), { maxItems: WEBHOOK_EVENTS.length, uniqueItems: true })),
  },
  { additionalProperties: false },
);

const Redeliver = Type.Object(
  { ids: Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { minItems: 1, maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false },
);

const ClientCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(Type.Array(Type.Enum([...ALL_SCOPES], { type: 'string' }), { minItems: 1, maxItems: ALL_SCOPES.length, uniqueItems: true })),
  },
  { additionalProperties: false },
);

export interface IntegrationOptions {
  /** Hosts plain-http webhook URLs may go to (SIPSIM_WEBHOOK_ALLOW_HTTP). */
  allowHttpHosts: readonly string[];
  /** How long the test send waits for the receiver. */
  webhookTimeoutMs: number;
}

async function webhookView(store: Store, accountId: number, settings?: WebhookSettings | null) {
  const s = settings === undefined ? await store.webhooks.settings(accountId) : settings;
  return {
    url: s?.url ?? null,
    events: s?.url ? s.events : [],
    available_events: [...WEBHOOK_EVENTS],
    secret_masked: s ? maskSecret(s.secret) : null,
    deliveries: await store.webhooks.countByStatus(accountId),
  };
}

const clientJson = (c: OAuthClient) => ({
  client_id: c.clientId,
  name: c.name,
  scopes: c.scopes,
  created_at: formatDateTime(c.createdAt),
  revoked_at: c.revokedAt === null ? null : formatDateTime(c.revokedAt),
});

/**
 * API clients are for the account's admins: a session needs the admin role
 * (members are refused whatever they send), a bearer token every power over
 * settings.
 */
function requireAdmin(store: Store) {
  return async (request: FastifyRequest) => {
    const auth = await resolveAuth(store, request);
    if (auth.user) {
      if (auth.user.role !== 'admin') throw new ApiError('ADMIN_ONLY');
    } else if (!auth.scopes.has('settings.write')) {
      throw new ApiError('INSUFFICIENT_SCOPE', 'settings.write', { 'WWW-Authenticate': 'Bearer realm="sipsim", error="insufficient_scope", scope="settings.write"' });
    }
    request.auth = auth;
  };
}

function positiveInteger(raw: unknown, name: string, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw invalidParameter(`Invalid parameter '${name}': expected an integer from 1 to ${max}`);
  }
  return Number(raw);
}

/** The dashboard's Integrations page: the webhook and its deliveries, and the API clients. */
export function registerDashboardIntegrations(app: FastifyInstance, store: Store, options: IntegrationOptions): void {
  const read = requireScope(store, 'webhooks.read');
  const write = requireScope(store, 'webhooks.write');
  const admin = requireAdmin(store);

  app.get('/dashboard/api/webhook', { preValidation: read, schema: hidden }, async (request, reply) =>
    sendData(request, reply, await webhookView(store, request.auth!.accountId)),
  );

  app.put<{ Body: { url: string | null; events?: string[] } }>(
    '/dashboard/api/webhook',
    { preValidation: write, schema: { ...hidden, body: WebhookPut } },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      let url: string | null = null;
      if (request.body.url !== null) {
        const checked = checkWebhookUrl(request.body.url, options.allowHttpHosts);
        if ('problem' in checked) throw new ApiError('INVALID_BODY', `Cannot use this webhook URL: ${checked.problem}`);
        url = checked.url;
      }
      const events = request.body.events === undefined ? undefined : WEBHOOK_EVENTS.filter((e) => request.body.events!.includes(e));
      const settings = await store.webhooks.setUrl(accountId, url, events);
      return sendData(request, reply, await webhookView(store, accountId, settings));
    },
  );

  app.post('/dashboard/api/webhook/reveal-secret', { preValidation: write, schema: hidden }, async (request, reply) => {
    const settings = await store.webhooks.settings(request.auth!.accountId);
    if (!settings) throw new ApiError('CONFLICT', NO_URL);
    return sendData(request, reply, { secret: settings.secret });
  });

  app.post('/dashboard/api/webhook/rotate-secret', { preValidation: write, schema: hidden }, async (request, reply) => {
    const settings = await store.webhooks.rotateSecret(request.auth!.accountId);
    return sendData(request, reply, { secret: settings.secret });
  });

  app.post('/dashboard/api/webhook/test', { preValidation: write, schema: hidden }, async (request, reply) => {
    const sent = await sendTestEvent(store, request.auth!.accountId, options.webhookTimeoutMs);
    if (sent === 'no-url') throw new ApiError('CONFLICT', NO_URL);
    const outcome = testOutcome(sent.result);
    return sendData(request, reply, {
      ok: sent.result.ok,
      result: outcome.result,
      message: outcome.text,
      url: sent.url,
      status: sent.result.status,
      error: sent.result.error,
      delivery_id: sent.delivery.id,
    });
  });

  app.get('/dashboard/api/webhook/deliveries', { preValidation: read, schema: hidden }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const status = query.status;
    if (status !== undefined && status !== '' && !(DELIVERY_STATUSES as readonly unknown[]).includes(status)) {
      throw invalidParameter(`Invalid parameter 'status': expected one of ${DELIVERY_STATUSES.join(', ')}`);
    }
    const limit = positiveInteger(query.limit, 'limit', DELIVERIES_MAX) ?? 50;
    const before = positiveInteger(query.before, 'before', Number.MAX_SAFE_INTEGER);
    const found = await store.webhooks.list(request.auth!.accountId, {
      ...(status ? { status: status as DeliveryStatus } : {}),
      ...(before !== undefined ? { beforeId: before } : {}),
      limit: limit + 1,
    });
    const rows = found.slice(0, limit);
    const more = found.length > limit;
    return sendList(request, reply, rows.map(deliveryJson), {
      count: rows.length,
      limit,
      has_more: more,
      ...(more ? { page: String(rows[rows.length - 1]!.id) } : {}),
    });
  });

  app.post<{ Body: { ids: number[] } }>(
    '/dashboard/api/webhook/deliveries/redeliver',
    { preValidation: write, schema: { ...hidden, body: Redeliver } },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      const settings = await store.webhooks.settings(accountId);
      if (!settings?.url) throw new ApiError('CONFLICT', NO_URL);
      const done = await redeliverIds(store, accountId, request.body.ids);
      if ('unknown' in done) throw new ApiError('NOT_FOUND', `Delivery ${done.unknown.join(', ')}`);
      return sendData(request, reply, { queued: done.queued, already_pending: done.alreadyPending });
    },
  );

  app.get<{ Params: { id: string } }>('/dashboard/api/calls/:id/webhooks', { preValidation: read, schema: hidden }, async (request, reply) => {
    const accountId = request.auth!.accountId;
    const id = positiveInteger(request.params.id, 'id', Number.MAX_SAFE_INTEGER)!;
    const pbxId = await store.callReports.pbxIdOfCall(accountId, id);
    if (pbxId === undefined) throw new ApiError('NOT_FOUND', 'Call');
    // A call's tag changes are sent under call_<id> when it has no pbx id of its own.
    const pbxIds = [...new Set([pbxId, `call_${id}`].filter((p): p is string => p !== null))];
    const deliveries = await store.webhooks.listForPbxIds(accountId, pbxIds, 200);
    return sendData(request, reply, deliveries.map(deliveryJson));
  });

  app.get('/dashboard/api/clients', { preValidation: admin, schema: hidden }, async (request, reply) => {
    const clients = await store.listClients(request.auth!.accountId);
    return sendData(request, reply, clients.reverse().map(clientJson));
  });

  app.post<{ Body: { name: string; scopes?: string[] } }>(
    '/dashboard/api/clients',
    { preValidation: admin, schema: { ...hidden, body: ClientCreate } },
    async (request, reply) => {
      const issued = await issueClient(store, request.auth!.accountId, {
        name: request.body.name.trim() || 'API client',
        ...(request.body.scopes ? { scopes: request.body.scopes.join(' ') } : {}),
      });
      return sendData(request, reply, { ...clientJson(issued.client), client_secret: issued.clientSecret }, 201);
    },
  );

  app.delete<{ Params: { client_id: string } }>('/dashboard/api/clients/:client_id', { preValidation: admin, schema: hidden }, async (request, reply) => {
    const client = await store.findClient(request.params.client_id);
    if (!client || client.accountId !== request.auth!.accountId) throw new ApiError('NOT_FOUND', 'API client');
    await store.revokeClient(client.clientId);
    return reply.code(204).send();
  });
}
