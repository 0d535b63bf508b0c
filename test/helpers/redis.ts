import { connect } from 'node:net';

/**
 * Suites that need Redis use SIPSIM_TEST_REDIS_URL (default: the local server).
 * On a machine without Redis they are skipped with a notice; in CI (CI=true)
 * they are never skipped, so that a missing Redis fails the run.
 */
export const REDIS_URL = process.env.SIPSIM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const REDIS_SKIP_NOTICE =
  `Redis suites SKIPPED: nothing answers at ${REDIS_URL}. To run them: apt-get install redis-server, ` +
  'then redis-server --daemonize yes (or set SIPSIM_TEST_REDIS_URL)';

/** Whether a Redis server answers PING at the URL within a second. */
export function redisReachable(url = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export async function redisAvailable(): Promise<boolean> {
  return Boolean(process.env.CI) || (await redisReachable());
}
