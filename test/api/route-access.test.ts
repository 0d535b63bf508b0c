import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerAuth, registerRouteAccess } from '../../src/api/plugins/auth.js';
import type { Store } from '../../src/store/store.js';

/** The app as buildApp makes it, with only what the access hook needs; no request reaches a store. */
function appWithAccess(routes: (app: ReturnType<typeof Fastify>) => void, seen: RouteOptions[] = []) {
  const app = Fastify();
  // As buildApp: response schemas only document (they point at components this app lacks).
  app.setSerializerCompiler(() => JSON.stringify);
  registerAuth(app);
  app.register(async (api) => {
    registerRouteAccess(api, {} as Store);
    // After the access hook: sees each route as the document and the router get it.
    api.addHook('onRoute', (route) => void seen.push(route));
    routes(api);
  });
  return app;
}

describe('route access', () => {
  it('stops the app from starting when a route does not state who may call it', async () => {
    const app = appWithAccess((api) => api.get('/forgotten', async () => 'open'));
    await expect(app.ready()).rejects.toThrow(/GET \/forgotten does not state who may call it/);
  });

  it('turns a scope into the security, the error answers and a check that runs before the route own preValidation', async () => {
    const seen: RouteOptions[] = [];
    let ownRan = false;
    const app = appWithAccess((api) => {
      api.get('/scoped', { config: { access: 'tags.read' }, preValidation: async () => void (ownRan = true), schema: { response: { 200: { description: 'ok' } } } }, async () => 'ok');
      api.post('/pbx', { config: { access: { scope: 'calls.write', clientCredentials: true } } }, async () => 'ok');
      api.get('/open', { config: { access: 'public' } }, async () => 'open');
    }, seen);
    await app.ready();
    const route = (method: string, url: string) => seen.find((r) => r.method === method && r.url === url)!;

    const scoped = route('GET', '/scoped').schema as { security: unknown; response: Record<string, unknown> };
    expect(scoped.security).toEqual([{ oauth2: ['tags.read'] }]);
    expect(Object.keys(scoped.response)).toEqual(['200', '401', '403', '429', '503']);
    // The HEAD twin is documented and checked the same way.
    expect((route('HEAD', '/scoped').schema as { security: unknown }).security).toEqual([{ oauth2: ['tags.read'] }]);
    expect((route('POST', '/pbx').schema as { security: unknown }).security).toEqual([{ oauth2: ['calls.write'] }, { clientBasic: [] }]);
    expect(route('GET', '/open').schema).toMatchObject({ security: [] });
    expect(route('GET', '/open').schema?.response).toBeUndefined();
    expect(route('GET', '/open').preValidation).toBeUndefined();

    const refused = await app.inject({ method: 'GET', url: '/scoped' });
    expect(refused.statusCode).toBe(401);
    expect(ownRan).toBe(false);
    expect((await app.inject({ method: 'GET', url: '/open' })).body).toBe('open');
    await app.close();
  });
});
