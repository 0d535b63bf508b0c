import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ALL_SCOPES } from '../../../domain/scopes.js';
import { sendJson } from '../../envelope.js';
import { answer } from '../../schemas/responses.js';

export const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server';

const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String({ description: 'This server\'s URL, as the client reached it' }),
    token_endpoint: Type.String({ description: 'Where POST /oauth/token is' }),
    grant_types_supported: Type.Array(Type.Literal('client_credentials')),
    token_endpoint_auth_methods_supported: Type.Array(Type.Enum(['client_secret_basic', 'client_secret_post'])),
    scopes_supported: Type.Array(Type.Enum([...ALL_SCOPES])),
    response_types_supported: Type.Array(Type.String(), {
      maxItems: 0,
      description: 'None: there is no authorization endpoint, only the client credentials grant',
    }),
    service_documentation: Type.String({ description: 'The interactive API documentation' }),
  },
  { additionalProperties: false },
);

/**
 * OAuth 2.0 Authorization Server Metadata (RFC 8414), so that a client library
 * finds the token endpoint and how to authenticate by discovery. The issuer is
 * the URL the request came to: a server behind a proxy needs the proxy to pass
 * Host (and X-Forwarded-Proto with trustProxy) through.
 */
export function registerOauthAuthorizationServerMetadata(app: FastifyInstance): void {
  app.get(
    OAUTH_METADATA_PATH,
    {
      config: { access: 'public' },
      schema: {
        tags: ['Authentication'],
        operationId: 'oauthAuthorizationServerMetadata',
        summary: 'OAuth 2.0 authorization server metadata (RFC 8414)',
        description: 'Where the token endpoint is, which grant and client authentication methods it takes, and the scopes.',
        response: {
          200: answer('The metadata', AuthorizationServerMetadata),
        },
      },
    },
    async (request, reply) => {
      const issuer = `${request.protocol}://${request.host}`;
      return sendJson(reply.header('Cache-Control', 'public, max-age=3600'), 200, {
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: [...ALL_SCOPES],
        response_types_supported: [],
        service_documentation: `${issuer}/docs`,
      });
    },
  );
}
