import { WEBHOOK_PAYLOADS } from './schemas/webhooks.js';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Scope } from '../domain/scopes.js';
import { COMPONENTS, errors } from './schemas/responses.js';

export const OPENAPI_PATH = '/api/v2/openapi.json';

/** Every scope, for the security scheme; a scope added to the domain without a line here fails the typecheck. */
const SCOPES: Record<Scope, string> = {
  'account.read': 'Read the account and its employees',
  'calls.read': 'Read call history',
  'calls.write': 'Put call records in from a PBX: live events, FreeSWITCH records, imports, recordings (see docs/scopes.md)',
  'calls.create': 'Click-to-call: place a call and hang it up',
  'calls.tags.write': 'Tag calls and untag them',
  'calls.transcription.read': 'Read call transcriptions',
  'calls.transcription.write': 'Request call transcriptions',
  'calls.summary.read': 'Read call summaries',
  'calls.summary.write': 'Request call summaries',
  'phones.read': 'Read phone lines',
  'phones.write': 'Change phone lines and their settings',
  'tags.read': 'Read tags',
  'tags.write': 'Create, change and delete tags',
  'webhooks.read': 'Read webhook subscriptions',
  'webhooks.write': 'Manage webhook subscriptions',
  'settings.read': 'Read account settings',
  'settings.write': 'Change account settings',
};

/**
 * The API described as OpenAPI 3.1, built from the very schemas that validate
 * requests, served at /api/v2/openapi.json with interactive docs at /docs.
 * Must be registered before the routes, whose definitions it collects.
 */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  // Route schemas point at these by name; the document lists them in components.schemas.
  for (const [name, schema] of Object.entries(COMPONENTS)) app.addSchema({ ...schema, $id: name });
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'SIPSIM API v2',
        version,
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'Call history, tags, phones and employees of a phone system account. Authenticate with an OAuth 2.0 ' +
          'client-credentials token from POST /oauth/token and send it as `Authorization: Bearer <token>`. ' +
          'No text in a query string or a body may contain a NUL character (\\u0000): such a request is refused with a 400.',
      },
      tags: [
        { name: 'Authentication', description: 'OAuth 2.0 client credentials: trade a client id and secret for an access token' },
        { name: 'Account', description: 'The account the token belongs to' },
        { name: 'Calls', description: 'Call history: list with filters, retrieve, tag; click-to-call' },
        { name: 'Tags', description: 'Tags to put on calls' },
        { name: 'Phones', description: 'Phone lines and their settings' },
        { name: 'Employees', description: 'The people of the account, each with their phones' },
        { name: 'Ingest', description: 'Getting calls in from a PBX: live call events, FreeSWITCH records, bulk import' },
        { name: 'AI', description: 'Transcripts, summaries and quality ratings of calls, made in the background; and the settings they follow' },
        { name: 'Webhooks', description: 'Which events the account\'s webhook receives; deliveries are signed and retried for a day' },
        { name: 'Health', description: 'Probes for load balancers and orchestrators; no token needed' },
      ],
      webhooks: webhookOperations(),
      components: {
        securitySchemes: {
          oauth2: {
            type: 'oauth2',
            flows: {
              clientCredentials: {
                tokenUrl: '/oauth/token',
                scopes: SCOPES,
              },
            },
          },
          clientBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'An API client\'s own id and secret, for a PBX that posts calls and cannot renew tokens; the client needs the scope the operation names',
          },
        },
      },
    },
    // Hidden routes (the document itself, the docs' assets) stay out of the document.
    hiddenTag: 'internal',
    // The router answers a path parameter over its length limit with a 414 before any route
    // runs, so every operation with one documents it. Routes with a transform of their own
    // (documentBodyAs) have no path parameter.
    transform: ({ schema, url }) => {
      if (!url.includes(':') || !schema?.response) return { schema, url };
      return { schema: { ...schema, response: { ...(schema.response as object), ...errors(414) } }, url };
    },
    // Components are named by their `$id` (Call, Tag...) rather than def-0, def-1...
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The page loads the document from `urls`, which Swagger UI prefers over the
    // `url` (/docs/json) that the plugin always sets; /docs/json still answers.
    uiConfig: { docExpansion: 'list', deepLinking: true, urls: [{ url: OPENAPI_PATH, name: 'SIPSIM API v2' }] },
  });
  app.register(async (scope) => {
    scope.get(OPENAPI_PATH, { schema: { hide: true } }, async (request, reply) => {
      // The server is the one that was asked, so that a generated client and "Try it out" talk to it.
      const servers = [{ url: `${request.protocol}://${request.host}`, description: 'This server' }];
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ ...scope.swagger(), servers }));
    });
  });
}

type Webhooks = NonNullable<Extract<NonNullable<FastifyDynamicSwaggerOptions['openapi']>, { webhooks?: unknown }>['webhooks']>;

/** What sipsim posts to an account's webhook URL, one operation per event. */
function webhookOperations(): Webhooks {
  const header = (name: string, description: string, pattern?: string) => ({
    name,
    in: 'header' as const,
    required: true,
    description,
    schema: { type: 'string', ...(pattern ? { pattern } : {}) },
  });
  return Object.fromEntries(
    Object.entries(WEBHOOK_PAYLOADS).map(([event, schema]) => [
      event,
      {
        post: {
          operationId: `${event.replace(/[._-]+(\w)/g, (_m, c: string) => c.toUpperCase())}Webhook`,
          summary: String((schema as { description?: string }).description),
          description:
            'Posted to the account\'s webhook URL. Answer with any 2xx within 2 s; anything else is retried with backoff for 24 hours. ' +
            'Verify X-Webhook-Signature before trusting the body (the SDK\'s verifyWebhookSignature).',
          tags: ['Webhooks'],
          // sipsim calls the receiver; the signature, not a token, proves who sent it.
          security: [],
          parameters: [
            header('X-Webhook-Timestamp', 'Unix seconds when this attempt was signed', '^[0-9]+$'),
            header('X-Webhook-Signature', 'Hex HMAC-SHA256 of "{X-Webhook-Timestamp}.{raw body}", keyed by the signing secret', '^[0-9a-f]{64}$'),
            header('X-Webhook-Event', 'The event, as in the body'),
            header('X-Webhook-Id', 'The delivery: the same on every attempt of it, a key to deduplicate on', '^[0-9]+$'),
          ],
          requestBody: { required: true, content: { 'application/json': { schema } } },
          responses: { '2XX': { description: 'Received: not sent again' } },
        },
      },
    ]),
  ) as unknown as Webhooks;
}
