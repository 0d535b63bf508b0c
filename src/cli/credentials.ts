import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { databaseUrlSetting } from '../config.js';
import { SETTINGS } from '../settings.js';
import { demoCredentialsPath } from './demo-credentials.js';

/**
 * Where a client command (`sipsim calls ...`) gets its server and credentials,
 * first found wins:
 * 1. flags or the environment (--token, --client-id/--client-secret, SIPSIM_*);
 * 2. a profile that `sipsim login` saved in the user's config directory
 *    ($XDG_CONFIG_HOME/sipsim/config.json, else ~/.config/sipsim/config.json);
 * 3. the credentials the sandbox (`npm start`) saved beside its store, for a
 *    server on this machine, when run from the sandbox's folder.
 * A command that takes them from 2 or 3 says so on stderr.
 */

export const DEFAULT_API_URL = SETTINGS.apiUrl.default;

export interface ConnectionFlags {
  apiUrl?: string;
  clientId?: string;
  clientSecret?: string;
  token?: string;
  profile?: string;
}

export interface Profile {
  api_url: string;
  client_id: string;
  client_secret: string;
}

export interface ResolvedConnection {
  apiUrl: string;
  clientId?: string;
  clientSecret?: string;
  token?: string;
  /** Where the credentials came from when not from flags or the environment, to tell the user. */
  from: string | null;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'sipsim', 'config.json');
}

interface ConfigFile {
  profiles: Record<string, Profile>;
}

function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return { profiles: {} };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ConfigFile>;
    return { profiles: parsed.profiles && typeof parsed.profiles === 'object' ? parsed.profiles : {} };
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}; fix or remove it, then run sipsim login again`);
  }
}

/** Saves a profile, readable by its owner only (0600, in a 0700 directory), as other CLIs keep their credentials. */
export function saveProfile(name: string, profile: Profile, path = configPath()): void {
  const config = readConfig(path);
  config.profiles[name] = profile;
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function loadProfile(name: string, path = configPath()): Profile | null {
  const profile = readConfig(path).profiles[name];
  return profile && typeof profile.client_id === 'string' && typeof profile.client_secret === 'string' && typeof profile.api_url === 'string' ? profile : null;
}

function sandboxCredentials(): { clientId: string; clientSecret: string; path: string } | null {
  const path = demoCredentialsPath(databaseUrlSetting());
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { client_id?: unknown; client_secret?: unknown };
    if (typeof saved.client_id === 'string' && typeof saved.client_secret === 'string') return { clientId: saved.client_id, clientSecret: saved.client_secret, path };
  } catch {
    // No sandbox here.
  }
  return null;
}

export function resolveConnection(flags: ConnectionFlags): ResolvedConnection {
  const given = { apiUrl: flags.apiUrl ?? DEFAULT_API_URL, from: null };
  if (flags.token) return { ...given, token: flags.token };
  if (flags.clientId || flags.clientSecret) return { ...given, clientId: flags.clientId, clientSecret: flags.clientSecret };
  const name = flags.profile ?? 'default';
  const path = configPath();
  const profile = loadProfile(name, path);
  if (profile) {
    return { apiUrl: flags.apiUrl ?? profile.api_url, clientId: profile.client_id, clientSecret: profile.client_secret, from: `profile '${name}' in ${path}` };
  }
  if (flags.profile) throw new Error(`no profile '${flags.profile}' in ${path}; save one with: sipsim login --profile ${flags.profile} --api-url URL`);
  const apiUrl = flags.apiUrl ?? DEFAULT_API_URL;
  // Only to a server on this machine: the sandbox's secret never goes anywhere else.
  const sandbox = onThisMachine(apiUrl) ? sandboxCredentials() : null;
  if (sandbox) return { apiUrl, clientId: sandbox.clientId, clientSecret: sandbox.clientSecret, from: `the sandbox's demo credentials in ./${relative(process.cwd(), sandbox.path)}` };
  return { apiUrl, from: null };
}

function onThisMachine(apiUrl: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(apiUrl).hostname);
  } catch {
    return false;
  }
}
