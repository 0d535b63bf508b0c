import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { SETTINGS_PAGE_PATH, settingsPage } from '../../src/settings-page.js';
import { SETTINGS, type Setting } from '../../src/settings.js';

/**
 * The table of settings is the one place a SIPSIM_* variable is described:
 * the configuration page is made from it, every variable the code names is in
 * it, and the names that gained their unit keep answering to the old ones.
 */

const ALL: Setting[] = Object.values(SETTINGS);
const NAMES = new Set(ALL.flatMap((s) => [s.variable, ...(s.aliases ?? []).map((a) => a.variable)]));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the table of settings', () => {
  it('is what docs/configuration.md shows', () => {
    const committed = readFileSync(SETTINGS_PAGE_PATH, 'utf8');
    expect(committed === settingsPage(), `${SETTINGS_PAGE_PATH} is not what src/settings.ts makes: run \`npm run docs:settings\` and commit the page`).toBe(true);
  });

  it('holds every SIPSIM_* variable the code names, each once', () => {
    const variables = ALL.flatMap((s) => [s.variable, ...(s.aliases ?? []).map((a) => a.variable)]);
    expect(new Set(variables).size).toBe(variables.length);
    // A constant's name, not a variable.
    const notVariables = new Set(['SIPSIM_CSV_COLUMNS']);
    const named = new Set(sourceFiles('src').flatMap((file) => readFileSync(file, 'utf8').match(/\bSIPSIM_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []));
    expect([...named].filter((name) => !NAMES.has(name) && !notVariables.has(name))).toEqual([]);
  });

  it('is read from the environment by src/config.ts alone', () => {
    const readers = sourceFiles('src').filter((file) => /process\.env(\.|\[)\s*'?SIPSIM_|env\.SIPSIM_|env\[`?'?SIPSIM_/.test(readFileSync(file, 'utf8')));
    expect(readers).toEqual([]);
  });

  it('describes each setting fully: a default or what happens without one, a range for numbers, a description', () => {
    for (const setting of ALL) {
      expect(setting.description, setting.variable).not.toBe('');
      expect(setting.default !== null || setting.defaultText !== undefined, setting.variable).toBe(true);
      if (setting.type === 'integer') expect(setting.min !== undefined && setting.max !== undefined, setting.variable).toBe(true);
      if (setting.type === 'choice') expect(setting.values?.length, setting.variable).toBeGreaterThan(1);
    }
  });

  it('gives Config the defaults it documents', () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      host: SETTINGS.host.default,
      port: Number(SETTINGS.port.default),
      logLevel: SETTINGS.logLevel.default,
      workers: Number(SETTINGS.workers.default),
      tokenTtlSeconds: Number(SETTINGS.tokenTtlSeconds.default),
      bodyLimit: Number(SETTINGS.bodyLimitBytes.default),
      shutdownDelaySeconds: Number(SETTINGS.shutdownDelaySeconds.default),
      shutdownTimeoutSeconds: Number(SETTINGS.shutdownTimeoutSeconds.default),
      databaseUrl: SETTINGS.databaseUrl.default,
      webhooks: { retryWindowSeconds: Number(SETTINGS.webhookRetryWindowSeconds.default), timeoutMs: Number(SETTINGS.webhookTimeoutMs.default) },
      recordings: { linkTtlSeconds: Number(SETTINGS.recordingsLinkTtlSeconds.default), storeDir: SETTINGS.recordingsStoreDir.default },
    });
  });
});

describe('names with their unit', () => {
  const SIP = { SIPSIM_SIP_PROXY: 'sip:pbx.internal:5060' };
  const cases: Array<{ current: string; old: string; value: number; read: (config: Config) => number; env?: Record<string, string> }> = [
    { current: 'SIPSIM_TOKEN_TTL_SECONDS', old: 'SIPSIM_TOKEN_TTL', value: 600, read: (c) => c.tokenTtlSeconds },
    { current: 'SIPSIM_BODY_LIMIT_BYTES', old: 'SIPSIM_BODY_LIMIT', value: 4096, read: (c) => c.bodyLimit },
    { current: 'SIPSIM_SHUTDOWN_DELAY_SECONDS', old: 'SIPSIM_SHUTDOWN_DELAY', value: 5, read: (c) => c.shutdownDelaySeconds },
    { current: 'SIPSIM_SHUTDOWN_TIMEOUT_SECONDS', old: 'SIPSIM_SHUTDOWN_TIMEOUT', value: 20, read: (c) => c.shutdownTimeoutSeconds },
    { current: 'SIPSIM_WEBHOOK_RETRY_WINDOW_SECONDS', old: 'SIPSIM_WEBHOOK_RETRY_WINDOW', value: 900, read: (c) => c.webhooks.retryWindowSeconds },
    { current: 'SIPSIM_SIP_PHONE_RING_TIMEOUT_SECONDS', old: 'SIPSIM_SIP_PHONE_RING_TIMEOUT', value: 12, read: (c) => c.clickToCall.sip!.phoneRingTimeoutSeconds, env: SIP },
    { current: 'SIPSIM_SIP_TARGET_RING_TIMEOUT_SECONDS', old: 'SIPSIM_SIP_TARGET_RING_TIMEOUT', value: 45, read: (c) => c.clickToCall.sip!.targetRingTimeoutSeconds, env: SIP },
    { current: 'SIPSIM_RECORDINGS_LINK_TTL_SECONDS', old: 'SIPSIM_RECORDINGS_LINK_TTL', value: 120, read: (c) => c.recordings.linkTtlSeconds },
  ];

  it('cover every deprecated name in the table', () => {
    const deprecated = ALL.flatMap((s) => (s.aliases ?? []).filter((a) => a.deprecated).map((a) => `${a.variable} -> ${s.variable}`));
    expect(cases.map((c) => `${c.old} -> ${c.current}`).sort()).toEqual(deprecated.sort());
  });

  it.each(cases)('$current is read, and so is its deprecated name $old; the new name wins', ({ current, old, value, read, env = {} }) => {
    expect(read(loadConfig({}, { ...env, [current]: String(value) }))).toBe(value);
    expect(read(loadConfig({}, { ...env, [old]: String(value) }))).toBe(value);
    expect(read(loadConfig({}, { ...env, [current]: String(value), [old]: String(value + 1) }))).toBe(value);
  });

  it.each(cases)('a bad value is refused naming the name it was given under ($old)', ({ current, old, env = {} }) => {
    expect(() => loadConfig({}, { ...env, [current]: 'soon' })).toThrow(new RegExp(`^${current} must be an integer`));
    expect(() => loadConfig({}, { ...env, [old]: 'soon' })).toThrow(new RegExp(`^${old} must be an integer`));
  });
});
