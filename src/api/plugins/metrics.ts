import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../../store/store.js';

export interface MetricsOptions {
  /**
   * Serve `GET /metrics` on this app (default true). Off when metrics are
   * disabled or served on a port of their own; the counters are kept either way.
   */
  route?: boolean;
  /**
   * The text `GET /metrics` answers: this app's registry by default. Under
   * cluster, a worker answers with the sum over every worker instead.
   */
  text?: () => Promise<string>;
}

export interface AppMetrics {
  /** This app's own registry (never prom-client's global one, so that several apps can live in one process). */
  readonly registry: Registry;
  /** Counts one request refused by the rate limiter, by the name of the limit that refused it. */
  rateLimitRejected(group: string): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

/** The route label of requests that matched no route, so that scanners cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Prometheus metrics: requests by route pattern, method and status, their
 * durations, the store's connections, rate-limit refusals, and prom-client's
 * process metrics (memory, CPU, event-loop lag, GC).
 */
export function registerMetrics(app: FastifyInstance, store: Store, options: MetricsOptions = {}): void {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // The default collectors add gauges named *_total (nodejs_active_handles_total
  // and its siblings), a suffix Prometheus keeps for counters, so promtool
  // refuses them. Each is the sum of a by-type gauge that stays
  // (sum(nodejs_active_handles) gives it), so they are left out.
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== 'counter' && name.endsWith('_total')) registry.removeSingleMetric(name);
  }

  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'sipsim_http_requests_total', help: 'HTTP requests answered', labelNames, registers });
  const durations = new Histogram({
    name: 'sipsim_http_request_duration_seconds',
    help: 'Time from receiving a request to sending the last byte of its response',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const rateLimitRejections = new Counter({
    name: 'sipsim_rate_limit_rejections_total',
    help: 'Requests refused with a 429, by rate-limit group',
    labelNames: ['group'],
    registers,
  });

  // Read when scraped, so they cost nothing between scrapes.
  const poolGauge = (name: string, help: string, read: (stats: ReturnType<Store['poolStats']>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(store.poolStats()));
      },
    });
  poolGauge('sipsim_store_pool_connections', 'Connections open to the store', (s) => s.total);
  poolGauge('sipsim_store_pool_idle_connections', 'Store connections open and idle', (s) => s.idle);
  poolGauge('sipsim_store_pool_waiting_clients', 'Queries waiting for a free store connection', (s) => s.waiting);

  app.decorate('metrics', {
    registry,
    rateLimitRejected: (group: string) => rateLimitRejections.inc({ group }),
  } satisfies AppMetrics);

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern (/api/v2/calls/:id), never the raw URL, so that the label set stays bounded.
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    requests.inc(labels);
    durations.observe(labels, reply.elapsedTime / 1000);
  });

}

/**
 * `GET /metrics`, added with the other routes so that it is in the OpenAPI
 * document. No token: scrapers do not do OAuth. Turn it off or move it to a
 * port of its own where that matters.
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsOptions = {}): void {
  if (options.route === false) return;
  const registry = app.metrics.registry;
  const text = options.text ?? (() => registry.metrics());
  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Health'],
        operationId: 'metrics',
        summary: 'Prometheus metrics: requests by route and status, latencies, store pool, rate-limit refusals, process',
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await text()),
  );
}
