import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * True once shutdown has begun: /health/ready answers 503 so that a load
     * balancer takes this process out of rotation while it finishes its requests.
     */
    draining: boolean;
  }
}

/**
 * Shutdown without dropped requests: `app.close()` stops accepting and closes
 * idle keep-alive connections, but a connection whose request is in flight
 * would stay open after its response until the keep-alive timeout and hold
 * the shutdown. Responses sent while draining therefore close their connection.
 */
export function registerDraining(app: FastifyInstance): void {
  app.decorate('draining', false);
  app.addHook('preClose', async () => {
    app.draining = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (app.draining) reply.header('Connection', 'close');
  });
}
