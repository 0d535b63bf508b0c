import type { FastifyInstance } from 'fastify';
import type { AiService } from '../../ai/service.js';
import type { ClickToCallService } from '../../click-to-call/service.js';
import type { FormatOptions } from '../../ingest/record.js';
import type { RecordingService } from '../../recordings/service.js';
import type { Store } from '../../store/store.js';
import { registerMetricsRoute, type MetricsOptions } from '../plugins/metrics.js';
import { registerGetAccount } from './account/get-account.js';
import { AI_RESULT_ROUTES } from './ai/ai-results.js';
import { registerCreateAiResult } from './ai/create-ai-result.js';
import { registerGetAiResult } from './ai/get-ai-result.js';
import { registerGetAiSettings } from './ai/get-ai-settings.js';
import { registerUpdateAiSettings } from './ai/update-ai-settings.js';
import { registerIssueToken } from './authentication/issue-token.js';
import { registerOauthAuthorizationServerMetadata } from './authentication/oauth-authorization-server-metadata.js';
import { registerAddCallTags } from './calls/add-call-tags.js';
import { registerCreateCall } from './calls/create-call.js';
import { registerExportCalls } from './calls/export-calls.js';
import { registerGetCall } from './calls/get-call.js';
import { registerHangUpCall } from './calls/hang-up-call.js';
import { registerListCalls } from './calls/list-calls.js';
import { registerPlayRecording } from './calls/play-recording.js';
import { registerRemoveCallTag } from './calls/remove-call-tag.js';
import { registerReplaceCallTags } from './calls/replace-call-tags.js';
import { registerCountCallsPerTag } from './dashboard/count-calls-per-tag.js';
import { registerCreateClient } from './dashboard/create-client.js';
import { registerGetReport } from './dashboard/get-report.js';
import { registerGetSession } from './dashboard/get-session.js';
import { registerGetWebhook } from './dashboard/get-webhook.js';
import { registerListCallChanges } from './dashboard/list-call-changes.js';
import { registerListCallWebhooks } from './dashboard/list-call-webhooks.js';
import { registerListClients } from './dashboard/list-clients.js';
import { registerListWebhookDeliveries } from './dashboard/list-webhook-deliveries.js';
import { registerRedeliverWebhookDeliveries } from './dashboard/redeliver-webhook-deliveries.js';
import { registerRevealWebhookSecret } from './dashboard/reveal-webhook-secret.js';
import { registerRevokeClient } from './dashboard/revoke-client.js';
import { registerRotateWebhookSecret } from './dashboard/rotate-webhook-secret.js';
import { registerSetWebhook } from './dashboard/set-webhook.js';
import { registerSignIn } from './dashboard/sign-in.js';
import { registerSignOut } from './dashboard/sign-out.js';
import { registerTestWebhook } from './dashboard/test-webhook.js';
import type { IntegrationOptions } from './dashboard/webhook-view.js';
import { registerGetEmployee } from './employees/get-employee.js';
import { registerListEmployees } from './employees/list-employees.js';
import { registerHealth } from './health/health.js';
import { registerHealthLive } from './health/health-live.js';
import { registerHealthReady } from './health/health-ready.js';
import { registerImportCalls } from './ingest/import-calls.js';
import { registerPostFreeswitchCdr } from './ingest/post-freeswitch-cdr.js';
import { registerPostPbxEvents } from './ingest/post-pbx-events.js';
import { registerPutRecording } from './ingest/put-recording.js';
import { registerGetPhone } from './phones/get-phone.js';
import { registerListPhones } from './phones/list-phones.js';
import { registerUpdatePhone } from './phones/update-phone.js';
import { registerCreateTag } from './tags/create-tag.js';
import { registerDeleteTag } from './tags/delete-tag.js';
import { registerGetTag } from './tags/get-tag.js';
import { registerListTags } from './tags/list-tags.js';
import { registerUpdateTag } from './tags/update-tag.js';
import { registerListAvailableWebhookEvents } from './webhooks/list-available-webhook-events.js';
import { registerListEnabledWebhookEvents } from './webhooks/list-enabled-webhook-events.js';
import { registerSetWebhookEvent } from './webhooks/set-webhook-event.js';

/** What the routes are given, built once by buildApp. */
export interface RouteServices {
  store: Store;
  recordings: RecordingService;
  clickToCall: ClickToCallService | null;
  ai: AiService;
  metrics: MetricsOptions | undefined;
  tokenTtlSeconds: number;
  cdrFormat: FormatOptions;
  sessionMaxHours: number;
  integrations: IntegrationOptions;
}

/**
 * Every route, one operation per file under routes/<resource>/, in the order
 * the OpenAPI document lists them. Each states who may call it in
 * `config.access` (see Access in plugins/auth.ts).
 */
export function registerRoutes(api: FastifyInstance, s: RouteServices): void {
  const { store, recordings } = s;
  registerHealth(api, store);
  registerHealthLive(api);
  registerHealthReady(api, store);
  registerMetricsRoute(api, s.metrics);

  registerIssueToken(api, store, s.tokenTtlSeconds);
  registerOauthAuthorizationServerMetadata(api);

  registerGetAccount(api, store);

  registerListCalls(api, store, recordings);
  registerExportCalls(api, store);
  registerImportCalls(api, store);
  registerPostPbxEvents(api, store);
  registerPostFreeswitchCdr(api, store, s.cdrFormat);
  registerGetCall(api, store, recordings);

  registerListTags(api, store);
  registerGetTag(api, store);
  registerCreateTag(api, store);
  registerUpdateTag(api, store);
  registerDeleteTag(api, store);

  registerAddCallTags(api, store);
  registerReplaceCallTags(api, store);
  registerRemoveCallTag(api, store);

  registerListPhones(api, store);
  registerGetPhone(api, store);
  registerUpdatePhone(api, store);

  registerListEmployees(api, store);
  registerGetEmployee(api, store);

  registerListAvailableWebhookEvents(api);
  registerListEnabledWebhookEvents(api, store);
  registerSetWebhookEvent(api, store, 'POST');
  registerSetWebhookEvent(api, store, 'DELETE');

  registerCreateCall(api, store, s.clickToCall);
  registerHangUpCall(api, store, s.clickToCall);

  // The dashboard's own routes, left out of the document.
  registerSignIn(api, store, s.sessionMaxHours);
  registerGetSession(api, store);
  registerSignOut(api);
  registerGetReport(api, store);
  registerCountCallsPerTag(api, store);
  registerListCallChanges(api, store);
  registerGetWebhook(api, store);
  registerSetWebhook(api, store, s.integrations);
  registerRevealWebhookSecret(api, store);
  registerRotateWebhookSecret(api, store);
  registerTestWebhook(api, store, s.integrations);
  registerListWebhookDeliveries(api, store);
  registerRedeliverWebhookDeliveries(api, store);
  registerListCallWebhooks(api, store);
  registerListClients(api, store);
  registerCreateClient(api, store);
  registerRevokeClient(api, store);

  for (const route of AI_RESULT_ROUTES) {
    registerCreateAiResult(api, s.ai, route);
    registerGetAiResult(api, store, route);
  }
  registerGetAiSettings(api, store);
  registerUpdateAiSettings(api, store);

  registerPlayRecording(api, recordings);
  // Registered in a scope of its own (it reads its body as a stream), so it comes last whatever its place here.
  registerPutRecording(api, recordings);
}
