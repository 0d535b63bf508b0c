import type { FastifyInstance, FastifyReply } from 'fastify';
import { basicCredentials, hashSecret, newAccessToken, secretMatches } from '../../../domain/credentials.js';
import { parseScopeList, unknownScopes } from '../../../domain/scopes.js';
import { nowSeconds } from '../../../domain/time.js';
import type { Store } from '../../../store/store.js';
import { sendJson } from '../../envelope.js';
import { TokenRequest, tokenResponses } from '../../schemas/responses.js';

type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';

/**
 * RFC 6749 section 5.2: token-endpoint errors have their own shape, and a
 * challenge only goes to a client that authenticated with the Authorization
 * header, in that header's scheme (Basic): a client that sent its secret in
 * the body gets none.
 */
function oauthError(reply: FastifyReply, status: number, error: OAuthErrorCode, description: string, basic = false) {
  if (status === 401 && basic) reply.header('WWW-Authenticate', 'Basic realm="sipsim"');
  return sendJson(reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache'), status, {
    error,
    error_description: description,
  });
}

const FIELDS = ['grant_type', 'client_id', 'client_secret', 'scope'] as const;
type TokenForm = Partial<Record<(typeof FIELDS)[number], string>>;

/** The token request's fields, or the name of one that was sent more than once or is not text. */
function readForm(body: Record<string, unknown>): TokenForm | { repeated: string } | { notText: string } {
  const valueOf = (name: string) => (Object.hasOwn(body, name) ? body[name] : undefined);
  const repeated = FIELDS.find((name) => Array.isArray(valueOf(name)));
  if (repeated) return { repeated };
  const form: TokenForm = {};
  for (const name of FIELDS) {
    const value = valueOf(name);
    if (value === undefined || value === null) continue;
    // A JSON body may hold anything; only text is a credential (an object's toString is never called).
    if (typeof value !== 'string') return { notText: name };
    form[name] = value;
  }
  return form;
}

export function registerIssueToken(app: FastifyInstance, store: Store, tokenTtlSeconds: number): void {
  const schema = {
    tags: ['Authentication'],
    operationId: 'issueToken',
    summary: 'Issue an access token for client credentials',
    description:
      'OAuth 2.0 client credentials grant (RFC 6749 section 4.4). Credentials go in the body or in HTTP Basic, not both. ' +
      'Errors use RFC 6749\'s own shape.',
    body: {
      content: {
        'application/x-www-form-urlencoded': { schema: TokenRequest },
        'application/json': { schema: TokenRequest },
      },
    },
    response: tokenResponses,
  };

  // A body the schema refuses reaches the handler, which answers in RFC 6749's shape.
  app.post('/oauth/token', { config: { access: 'public' }, schema, attachValidation: true }, async (request, reply) => {
    const form = readForm((request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>);
    if ('repeated' in form) {
      return oauthError(reply, 400, 'invalid_request', `Parameter '${form.repeated}' must not be repeated`);
    }
    // The schema's own message where it has one (it names the field and the type it takes).
    if ('notText' in form) {
      return oauthError(reply, 400, 'invalid_request', request.validationError?.message ?? `Parameter '${form.notText}' must be a string`);
    }
    const grantType = form.grant_type;
    // Another grant is named as such, though the schema (a constant) refuses it too.
    if (grantType && grantType !== 'client_credentials') {
      return oauthError(reply, 400, 'unsupported_grant_type', "Only the 'client_credentials' grant is supported");
    }
    if (request.validationError) return oauthError(reply, 400, 'invalid_request', request.validationError.message);
    if (!grantType) return oauthError(reply, 400, 'invalid_request', "Missing parameter 'grant_type'");

    const basic = basicCredentials(request.headers.authorization);
    if (basic === 'malformed') {
      await app.authBudget.failed(request);
      return oauthError(reply, 401, 'invalid_client', 'Malformed HTTP Basic credentials', true);
    }
    const bodyId = form.client_id;
    const bodySecret = form.client_secret;
    if (basic && (bodySecret !== undefined || (bodyId !== undefined && bodyId !== basic.id))) {
      return oauthError(reply, 400, 'invalid_request', 'Send client credentials either in the body or with HTTP Basic, not both');
    }
    const clientId = basic?.id ?? bodyId;
    const clientSecret = basic?.secret ?? bodySecret;
    if (!clientId || clientSecret === undefined) {
      await app.authBudget.failed(request);
      return oauthError(reply, 401, 'invalid_client', 'Client authentication failed: client_id and client_secret are required', !!basic);
    }

    const client = await store.credentials.findClient(clientId);
    // Compare even when the client is unknown, so that timing does not tell which ids exist.
    const secretOk = secretMatches(clientSecret, client?.secretHash ?? hashSecret('\u0000'));
    if (!client || client.revokedAt !== null || !secretOk) {
      await app.authBudget.failed(request);
      return oauthError(reply, 401, 'invalid_client', 'Client authentication failed', !!basic);
    }
    // Only now is the client known: its own budget counts the requests that proved to be it.
    await app.authBudget.succeeded(request, client.clientId);

    const scopeText = form.scope;
    let scopes = client.scopes;
    if (scopeText !== undefined && scopeText.trim() !== '') {
      const requested = parseScopeList(scopeText);
      const unknown = unknownScopes(requested);
      if (unknown.length) return oauthError(reply, 400, 'invalid_scope', `Unknown scope: ${unknown.join(' ')}`);
      const denied = requested.filter((s) => !client.scopes.includes(s));
      if (denied.length) {
        return oauthError(reply, 400, 'invalid_scope', `This client is not allowed the scope: ${denied.join(' ')}`);
      }
      scopes = requested;
    }

    const token = newAccessToken();
    const createdAt = nowSeconds();
    await store.credentials.saveToken({
      tokenHash: hashSecret(token),
      accountId: client.accountId,
      clientId: client.clientId,
      scopes,
      createdAt,
      expiresAt: createdAt + tokenTtlSeconds,
    });
    return sendJson(reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache'), 200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: tokenTtlSeconds,
      scope: scopes.join(' '),
      created_at: createdAt,
    });
  });
}
