import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry, prometheusContentType } from 'prom-client';
import { buildApp } from './api/app.js';
import type { Config } from './config.js';
import { parseDatabaseUrl, type Engine } from './store/engine.js';
import { Store } from './store/store.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { ClickToCallService, type CallController } from './click-to-call/service.js';
import { SimulatedController, simulatedPhoneUri } from './click-to-call/simulated.js';
import { phoneUriAt, startSipController } from './click-to-call/sip-controller.js';
import type { AiEngine } from './ai/engine.js';
import { createAiEngine } from './ai/engines.js';
import { AiWorker } from './ai/worker.js';
import { RecordingService } from './recordings/service.js';

export interface ServerOptions {
  config: Config;
  /**
   * Runs once per store, under its setup lock: after migrations, and once the
   * port is bound, so that a second process on a taken port never gets here.
   * Returns text to print once serving, with `{BASE_URL}` to fill in, or null.
   */
  prepare?: (store: Store) => Promise<string | null>;
  /**
   * Runs once serving, in a single process only (not with several workers):
   * work that goes on while the server runs, stopped first on shutdown.
   */
  whileServing?: (store: Store) => { stop(): void } | null;
}

/**
 * `sipsim serve`. With one worker the API is served from this process. With
 * more, this process is a node:cluster primary: it migrates and prepares the
 * store once, forks the workers (which share the port and each open their own
 * store), restarts one that dies, sums their metrics, and stops them on a signal.
 * Workers run this same function, from the same command line, and only serve.
 */
export async function runServer({ config, prepare, whileServing }: ServerOptions): Promise<void> {
  if (cluster.isWorker) return runWorker(config);
  const location = parseDatabaseUrl(config.databaseUrl);
  if (config.workers > 1 && location.engine === 'sqlite' && location.path === ':memory:') {
    throw new Error('an in-memory SQLite database cannot be shared by several workers: use a file');
  }

  const store = Store.open(config.databaseUrl, { poolSize: config.databasePoolSize });
  // Under the store's setup lock, so that two processes starting at once prepare it once.
  const prepareOnce = async () => (prepare ? await store.exclusively(() => prepare(store)) : null);
  try {
    // Skipped where migrations run as a step of their own (`sipsim migrate`),
    // for example over a direct connection when the API goes through PgBouncer.
    if (config.migrateOnStart) await store.migrate();
    else {
      const pending = await store.pendingMigrations();
      if (pending.length) throw new Error(`the schema is not up to date (missing ${pending.join(', ')}): run sipsim migrate first`);
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  if (config.workers > 1) {
    let banner: string | null;
    try {
      banner = await prepareOnce();
    } finally {
      await store.close();
    }
    return runPrimary(config, store.engine, banner);
  }

  let clickToCall: ClickToCallService | null;
  try {
    clickToCall = await startClickToCall(store, config);
  } catch (error) {
    await store.close();
    throw error;
  }
  const recordings = new RecordingService(store, config.recordings);
  const ai = createAiEngine(config, recordings);
  const app = buildApp({ store, config, metrics: { route: metricsOnApiPort(config) }, clickToCall, ai, recordings });
  keepRecordingsPruned(app, recordings);
  clickToCall?.useLog(app.log);
  const metricsServer = await serveMetricsPort(config, () => app.metrics.registry.metrics());
  const dispatcher = startDispatcher(app, store, config);
  const aiWorker = startAiWorker(app, store, config, ai);
  const background: Array<{ stop(): void }> = [];
  stopOnSignals(app, store, config, ['SIGTERM', 'SIGINT'], metricsServer, dispatcher, clickToCall, aiWorker, background);
  // The port first: a second process started on a taken port stops here, before it builds any demo data.
  const url = await listen(app, config);
  announce(store.engine, url, await prepareOnce());
  if (clickToCall) process.stdout.write(`Click-to-call: ${clickToCall.description}\n`);
  if (ai) process.stdout.write(`Transcripts, summaries and ratings: ${ai.description}\n`);
  const work = whileServing?.(store);
  if (work) background.push(work);
}

/** The click-to-call service the config asks for, having ended calls a previous process left in progress. */
async function startClickToCall(store: Store, config: Config): Promise<ClickToCallService | null> {
  const c = config.clickToCall;
  if (c.mode === 'off') return null;
  let controller: CallController;
  let domain = '';
  if (c.mode === 'simulate') controller = new SimulatedController();
  else {
    const sip = c.sip!;
    domain = sip.domain;
    controller = await startSipController({
      listenHost: sip.listenHost,
      listenPort: sip.listenPort,
      ...(sip.publicHost ? { publicHost: sip.publicHost } : {}),
      outboundProxy: sip.proxy,
      domain: sip.domain,
      ...(sip.username && sip.password ? { credentials: { username: sip.username, password: sip.password } } : {}),
      phoneRingTimeoutMs: sip.phoneRingTimeoutSeconds * 1000,
      targetRingTimeoutMs: sip.targetRingTimeoutSeconds * 1000,
      stripPlus: sip.stripPlus,
    });
  }
  // A simulated call rings nothing, so any phone will do; over SIP a phone is rung at its extension.
  const phoneUri = c.mode === 'simulate' ? simulatedPhoneUri : phoneUriAt(domain);
  const service = new ClickToCallService(store, controller, { maxActivePerAccount: c.maxActivePerAccount, phoneUri });
  await service.recover();
  return service;
}

/**
 * Every serving process delivers webhooks from the outbox, unless told not to
 * (SIPSIM_WEBHOOKS=off, for processes that should only answer requests). The
 * processes share the work through the store's claims.
 */
function startDispatcher(app: FastifyInstance, store: Store, config: Config): WebhookDispatcher | null {
  if (!config.webhooks.deliver) return null;
  const w = config.webhooks;
  const dispatcher = new WebhookDispatcher(store.webhooks, {
    timeoutMs: w.timeoutMs,
    retryWindowMs: w.retryWindowSeconds * 1000,
    retryBaseMs: w.retryBaseMs,
    retryMaxMs: w.retryMaxMs,
    concurrency: w.concurrency,
    keepMs: w.keepDays * 86_400_000,
    log: app.log,
    registry: app.metrics.registry,
  });
  dispatcher.start();
  return dispatcher;
}

/** Retention of recordings' audio: a minute after start, then hourly; every process does it, and a second pass finds little. */
function keepRecordingsPruned(app: FastifyInstance, recordings: RecordingService): void {
  if (!recordings.config.keepDays) return;
  const prune = () =>
    void recordings.prune().catch((error) => app.log.warn({ err: error }, 'could not delete recordings past their keep time'));
  setTimeout(prune, 60_000).unref();
  setInterval(prune, 3_600_000).unref();
}

/** Every serving process runs AI jobs too, unless told not to; they share them through the store's leases. */
function startAiWorker(app: FastifyInstance, store: Store, config: Config, engine: AiEngine | null): AiWorker | null {
  if (!engine || !config.ai.work) return null;
  const a = config.ai;
  const worker = new AiWorker(store.aiJobs, store.aiSettings, engine, {
    concurrency: a.concurrency,
    timeoutMs: a.jobTimeoutMs,
    maxAttempts: a.maxAttempts,
    retryBaseMs: a.retryBaseMs,
    retryMaxMs: a.retryMaxMs,
    log: app.log,
    registry: app.metrics.registry,
  });
  worker.start();
  return worker;
}

const metricsOnApiPort = (config: Config) => config.metrics && config.metricsPort === null;

async function listen(app: FastifyInstance, config: Config): Promise<string> {
  const address = await app.listen({ port: config.port, host: config.host });
  return address.replace('[::1]', 'localhost');
}

function announce(engine: Engine, url: string, banner: string | null): void {
  process.stdout.write(`sipsim is serving ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} at ${url}\n`);
  if (banner) process.stdout.write(banner.replaceAll('{BASE_URL}', url));
}

/**
 * The first signal drains: /health/ready answers 503 for the configured delay,
 * then the listener closes, requests in flight finish, the store closes and the
 * process exits 0. A second signal, or the timeout, exits at once with 1.
 */
function stopOnSignals(
  app: FastifyInstance,
  store: Store,
  config: Config,
  signals: NodeJS.Signals[],
  metricsServer: Server | null,
  dispatcher: WebhookDispatcher | null,
  clickToCall: ClickToCallService | null = null,
  aiWorker: AiWorker | null = null,
  background: Array<{ stop(): void }> = [],
): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.draining = true;
    for (const work of background) work.stop();
    await sleep(config.shutdownDelaySeconds * 1000);
    setTimeout(() => {
      app.log.error(`requests still in flight after ${config.shutdownTimeoutSeconds} s: exiting without them`);
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000).unref();
    try {
      metricsServer?.close();
      await app.close();
      // Calls in progress are hung up and recorded as they ended.
      await clickToCall?.close();
      // Jobs in flight end within their timeout; one cut short is taken up again by the next process.
      await aiWorker?.stop();
      // Sends in flight finish (each within the webhook timeout) and are recorded before the store closes.
      await dispatcher?.stop();
      await store.close();
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(0);
  };
  for (const signal of signals) process.on(signal, (s: NodeJS.Signals) => void stop(s));
}

/** /metrics on a port of its own, when configured, for deployments that keep it off the API's port. */
async function serveMetricsPort(config: Config, text: () => Promise<string>): Promise<Server | null> {
  if (!config.metrics || config.metricsPort === null) return null;
  const server = createServer((request, response) => {
    if (request.url?.split('?')[0] !== '/metrics') return void response.writeHead(404).end();
    text().then(
      (body) => response.writeHead(200, { 'Content-Type': prometheusContentType }).end(body),
      () => response.writeHead(503).end(),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.metricsPort!, config.host, resolve));
  return server;
}

// ---- cluster ----

/** What the primary and its workers tell each other over the cluster's IPC channel. */
type Message =
  /** worker to primary, once it listens */
  | { type: 'sipsim:listening'; url: string }
  /** worker to primary: the metrics of the whole cluster, as Prometheus text */
  | { type: 'sipsim:cluster-metrics'; id: number }
  /** primary to worker: this worker's metrics, as prom-client JSON */
  | { type: 'sipsim:worker-metrics'; id: number }
  | Reply;
type Reply = { type: 'sipsim:reply'; id: number; value?: unknown; error?: string };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && String((value as { type?: unknown }).type).startsWith('sipsim:');
}

/** Questions over an IPC channel, matched to their replies by id. */
function ipcQuestions() {
  let nextId = 0;
  const pending = new Map<number, (reply: Reply) => void>();
  return {
    ask(send: (message: Message) => void, type: 'sipsim:cluster-metrics' | 'sipsim:worker-metrics'): Promise<unknown> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer to ${type} within 5 s`));
        }, 5000);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          pending.delete(id);
          if (reply.error === undefined) resolve(reply.value);
          else reject(new Error(reply.error));
        });
        send({ type, id });
      });
    },
    settle(reply: Reply): void {
      pending.get(reply.id)?.(reply);
    },
  };
}

async function answer(send: (message: Message) => void, id: number, produce: () => Promise<unknown>): Promise<void> {
  try {
    send({ type: 'sipsim:reply', id, value: await produce() });
  } catch (error) {
    send({ type: 'sipsim:reply', id, error: error instanceof Error ? error.message : String(error) });
  }
}

async function runWorker(config: Config): Promise<void> {
  const toPrimary = (message: Message) => {
    if (process.connected) process.send!(message);
  };
  const questions = ipcQuestions();
  const store = Store.open(config.databaseUrl, { poolSize: config.databasePoolSize });
  // A scrape may reach any worker: it answers for the whole cluster, which the primary sums.
  const recordings = new RecordingService(store, config.recordings);
  const ai = createAiEngine(config, recordings);
  const app = buildApp({
    store,
    config,
    ai,
    recordings,
    metrics: {
      route: metricsOnApiPort(config),
      text: () => questions.ask(toPrimary, 'sipsim:cluster-metrics') as Promise<string>,
    },
  });
  keepRecordingsPruned(app, recordings);
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === 'sipsim:worker-metrics') {
      void answer(toPrimary, message.id, () => app.metrics.registry.getMetricsAsJSON());
    } else if (message.type === 'sipsim:reply') questions.settle(message);
  });
  // Ctrl-C in a terminal signals every process in the group; the primary passes
  // it on as one SIGTERM, so that a worker does not take it for a second signal.
  process.on('SIGINT', () => {});
  stopOnSignals(app, store, config, ['SIGTERM'], null, startDispatcher(app, store, config), null, startAiWorker(app, store, config, ai));
  toPrimary({ type: 'sipsim:listening', url: await listen(app, config) });
}

/** Log lines of the primary, in the workers' (pino's) format. */
function primaryLogger(level: string) {
  const levels: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
  const threshold = levels[level] ?? Infinity;
  const at = (value: number) => (fields: Record<string, unknown>, msg: string) => {
    if (value < threshold) return;
    const line = { level: value, time: Date.now(), pid: process.pid, hostname: hostname(), ...fields, msg };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return { info: at(30), warn: at(40), error: at(50) };
}

async function runPrimary(config: Config, engine: Engine, banner: string | null): Promise<void> {
  const log = primaryLogger(config.logLevel);
  const questions = ipcQuestions();
  const toWorker = (worker: Worker) => (message: Message) => {
    if (worker.isConnected()) worker.send(message);
  };
  const forkedAt = new Map<Worker, number>();
  const listening = new Set<Worker>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let announced = false;
  let stopping = false;
  let failed = false;
  let cleanExits = true;
  let quickCrashes = 0;

  // Counters and histograms add up over the workers; prom-client's process
  // metrics say how they combine (memory adds up, event-loop lag averages).
  const clusterMetrics = async () => {
    const perWorker = await Promise.all([...listening].map((w) => questions.ask(toWorker(w), 'sipsim:worker-metrics')));
    return AggregatorRegistry.aggregate(perWorker as object[]).metrics();
  };
  const metricsServer = await serveMetricsPort(config, clusterMetrics);

  const fork = () => forkedAt.set(cluster.fork(), Date.now());
  const finish = () => {
    metricsServer?.close();
    process.exit(failed || !cleanExits ? 1 : 0);
  };

  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === 'sipsim:listening') {
      listening.add(worker);
      if (announced) log.info({ worker_pid: worker.process.pid }, 'worker replaced');
      else if (listening.size === config.workers) {
        announced = true;
        announce(engine, message.url, banner);
      }
    } else if (message.type === 'sipsim:cluster-metrics') {
      void answer(toWorker(worker), message.id, clusterMetrics);
    } else if (message.type === 'sipsim:reply') {
      questions.settle(message);
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const livedMs = Date.now() - (forkedAt.get(worker) ?? 0);
    forkedAt.delete(worker);
    listening.delete(worker);
    if (stopping || failed) {
      if (code !== 0 && signal !== 'SIGTERM') cleanExits = false;
      if (forkedAt.size === 0) finish();
      return;
    }
    if (!announced) {
      // What stops a worker from starting (port taken, bad database) stops the next one too.
      log.error({ worker_pid: worker.process.pid, code, signal }, 'a worker failed to start: stopping');
      failed = true;
      for (const other of forkedAt.keys()) other.process.kill('SIGTERM');
      if (forkedAt.size === 0) finish();
      return;
    }
    // Back off exponentially while workers keep dying young, so that a crash loop does not spin.
    quickCrashes = livedMs > 30_000 ? 0 : quickCrashes + 1;
    const delayMs = Math.min(30_000, 100 * 2 ** quickCrashes);
    const fields = { worker_pid: worker.process.pid, code, signal, restart_in_ms: delayMs };
    log.warn(fields, 'worker exited unexpectedly: starting another');
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      fork();
    }, delayMs);
    restartTimers.add(timer);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: killing workers');
      for (const worker of forkedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    for (const timer of restartTimers) clearTimeout(timer);
    for (const worker of forkedAt.keys()) worker.process.kill('SIGTERM');
    if (forkedAt.size === 0) finish();
    // Workers give up after their own timeout; this is the backstop if one hangs anyway.
    setTimeout(() => {
      log.error({}, 'workers still running after the shutdown timeout: killing them');
      for (const worker of forkedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, (config.shutdownDelaySeconds + config.shutdownTimeoutSeconds + 5) * 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let i = 0; i < config.workers; i++) fork();
}
