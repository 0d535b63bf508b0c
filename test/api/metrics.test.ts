import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput, createHarness, TEST_CONFIG, type ApiHarness } from '../helpers/fixture.js';
import { PROMTOOL_NOTICE, PROMTOOL_READY } from '../helpers/tools.js';

if (!PROMTOOL_READY) console.warn(PROMTOOL_NOTICE);

/** The value of one sample in Prometheus text, by its name and exact label text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describeEngines('GET /metrics', (engine) => {
  let h: ApiHarness;
  let text: string;
  let callId: number;

  beforeAll(async () => {
    h = await createHarness(engine);
    const token = await h.token();
    callId = (await h.insert([callInput({ start: '2024-01-15T10:00:00Z' })]))[0]!;
    const auth = { authorization: `Bearer ${token}` };
    for (const url of [`/api/v2/calls/${callId}`, `/api/v2/calls/${callId}`, '/api/v2/calls/987654321']) {
      await h.app.inject({ url, headers: auth });
    }
    await h.app.inject({ url: '/api/v2/calls?start_time=2024-01-01T00:00:00Z', headers: auth });
    await h.app.inject({ url: '/api/v2/account', headers: { authorization: 'Bearer not-a-token' } });
    await h.app.inject({ url: '/wp-login.php' });
    await h.app.inject({ url: '/api/v2/no/such/thing?x=1' });
    h.app.metrics.rateLimitRejected('read');
    h.app.metrics.rateLimitRejected('read');
    h.app.metrics.rateLimitRejected('auth');

    // No token: scrapers do not do OAuth.
    const r = await h.app.inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    text = r.body;
  });
  afterAll(() => h.close());

  it.skipIf(!PROMTOOL_READY)('passes promtool check metrics', () => {
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(checked.error).toBeUndefined();
    expect(`${checked.stdout}${checked.stderr}`.trim()).toBe('');
    expect(checked.status).toBe(0);
  });

  it('counts requests by route pattern, method and status, never by raw URL', () => {
    expect(sample(text, 'sipsim_http_requests_total{method="GET",route="/api/v2/calls/:id",status="200"}')).toBe(2);
    expect(sample(text, 'sipsim_http_requests_total{method="GET",route="/api/v2/calls/:id",status="404"}')).toBe(1);
    expect(sample(text, 'sipsim_http_requests_total{method="GET",route="/api/v2/calls",status="200"}')).toBe(1);
    expect(sample(text, 'sipsim_http_requests_total{method="GET",route="/api/v2/account",status="401"}')).toBe(1);
    expect(sample(text, 'sipsim_http_requests_total{method="POST",route="/oauth/token",status="200"}')).toBe(1);
    expect(text).not.toContain(`/api/v2/calls/${callId}`);
    expect(text).not.toContain('calls/987654321');
    expect(text).not.toContain('start_time=');
  });

  it('puts every request that matched no route under one label', () => {
    expect(sample(text, 'sipsim_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(2);
    expect(text).not.toContain('wp-login');
    expect(text).not.toContain('no/such');
  });

  it('has a duration histogram with its buckets, sum and count', () => {
    expect(text).toContain('# TYPE sipsim_http_request_duration_seconds histogram');
    const labels = 'method="GET",route="/api/v2/calls/:id",status="200"';
    for (const le of ['0.005', '0.05', '0.5', '1', '10', '+Inf']) {
      expect(sample(text, `sipsim_http_request_duration_seconds_bucket{le="${le}",${labels}}`), le).toBeDefined();
    }
    expect(sample(text, `sipsim_http_request_duration_seconds_bucket{le="+Inf",${labels}}`)).toBe(2);
    expect(sample(text, `sipsim_http_request_duration_seconds_count{${labels}}`)).toBe(2);
    expect(sample(text, `sipsim_http_request_duration_seconds_sum{${labels}}`)).toBeGreaterThan(0);
  });

  it('counts rate-limit refusals by group', () => {
    expect(sample(text, 'sipsim_rate_limit_rejections_total{group="read"}')).toBe(2);
    expect(sample(text, 'sipsim_rate_limit_rejections_total{group="auth"}')).toBe(1);
  });

  it("reports the store's connections", () => {
    const total = sample(text, 'sipsim_store_pool_connections')!;
    const idle = sample(text, 'sipsim_store_pool_idle_connections')!;
    expect(sample(text, 'sipsim_store_pool_waiting_clients')).toBe(0);
    if (engine === 'sqlite') expect([total, idle]).toEqual([1, 1]);
    else {
      expect(total).toBeGreaterThanOrEqual(1);
      expect(idle).toBeLessThanOrEqual(total);
    }
  });

  it("includes the process's own metrics", () => {
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
  });
});

describe('metrics settings', () => {
  it('each app counts on its own registry', async () => {
    const { store, close } = await openTestStore('sqlite');
    const first = buildApp({ store, config: TEST_CONFIG });
    const second = buildApp({ store, config: TEST_CONFIG });
    try {
      await first.inject({ url: '/health/live' });
      const series = 'sipsim_http_requests_total{method="GET",route="/health/live",status="200"}';
      expect(sample((await first.inject({ url: '/metrics' })).body, series)).toBe(1);
      expect(sample((await second.inject({ url: '/metrics' })).body, series)).toBeUndefined();
    } finally {
      await first.close();
      await second.close();
      await close();
    }
  });

  it('counts the rate limiter\'s refusals', async () => {
    const { store, close } = await openTestStore('sqlite');
    const config = { ...TEST_CONFIG, rateLimit: { rules: { read: { max: 1, windowSeconds: 60 } } } };
    const app = buildApp({ store, config });
    try {
      expect((await app.inject({ url: '/api/v2/account' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/api/v2/account' })).statusCode).toBe(429);
      const text = (await app.inject({ url: '/metrics' })).body;
      expect(sample(text, 'sipsim_rate_limit_rejections_total{group="read"}')).toBe(1);
      expect(sample(text, 'sipsim_http_requests_total{method="GET",route="/api/v2/account",status="429"}')).toBe(1);
    } finally {
      await app.close();
      await close();
    }
  });

  it('without the route, /metrics is an unknown path, and counting goes on', async () => {
    const { store, close } = await openTestStore('sqlite');
    const app = buildApp({ store, config: TEST_CONFIG, metrics: { route: false } });
    try {
      const r = await app.inject({ url: '/metrics' });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
      const counted = await app.metrics.registry.getSingleMetricAsString('sipsim_http_requests_total');
      expect(counted).toContain('route="unmatched",status="404"} 1');
    } finally {
      await app.close();
      await close();
    }
  });
});
