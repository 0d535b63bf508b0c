import type { Command, Option } from 'commander';
import { APIConnectionError, APIError, Sipsim, SipsimError, type FetchLike } from 'sipsim/sdk';
import { SETTINGS } from '../../settings.js';
import { VERSION } from '../../version.js';
import { action, CliError } from '../common.js';
import { DEFAULT_API_URL, resolveConnection, type ConnectionFlags } from '../credentials.js';
import { envOption } from '../setting-options.js';

/** How the client commands reach a server: the connection flags, the SDK client, and its failures as one line. */

export type ConnectionOpts = ConnectionFlags;

export function connectionOptions(): Option[] {
  return [
    envOption(SETTINGS.apiUrl, `the server (default: ${SETTINGS.apiUrl.defaultText})`),
    envOption(SETTINGS.clientId),
    envOption(SETTINGS.clientSecret),
    envOption(SETTINGS.token),
    envOption(SETTINGS.profile, `a profile saved by \`sipsim login\` (default: ${SETTINGS.profile.default})`),
  ];
}

const CREDENTIALS_HELP =
  'set SIPSIM_CLIENT_ID and SIPSIM_CLIENT_SECRET (or SIPSIM_TOKEN), pass --client-id and --client-secret (or --token), save a profile with `sipsim login`, or run from the folder where `npm start` keeps the sandbox';

export function connect(opts: ConnectionOpts, fetch?: FetchLike): Sipsim {
  let resolved;
  try {
    resolved = resolveConnection(opts);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (resolved.from) process.stderr.write(`sipsim: using ${resolved.from} (for ${resolved.apiUrl})\n`);
  const common = { baseUrl: resolved.apiUrl, fetch, userAgent: `sipsim-cli/${VERSION}` };
  try {
    if (resolved.token) return new Sipsim({ ...common, accessToken: resolved.token });
    if (resolved.clientId && resolved.clientSecret) return new Sipsim({ ...common, clientId: resolved.clientId, clientSecret: resolved.clientSecret });
  } catch (error) {
    if (error instanceof SipsimError) throw new CliError(`${error.message} (--api-url or SIPSIM_API_URL)`);
    throw error;
  }
  const missing = resolved.clientId ? 'client secret' : resolved.clientSecret ? 'client id' : 'credentials';
  throw new CliError(`No ${missing}: ${CREDENTIALS_HELP}`);
}

/** What the server said, with the status and request id that find it in the server's logs. */
export function describeSdkError(error: SipsimError, apiUrl: string | undefined): string {
  if (error instanceof APIError) {
    const where = [`HTTP ${error.status}`, error.request_id ? `request id ${error.request_id}` : null].filter(Boolean).join(', ');
    return `${error.errors.join('; ')} (${where})`;
  }
  if (error instanceof APIConnectionError) return `Cannot reach the server at ${apiUrl ?? DEFAULT_API_URL}: ${error.message}`;
  return error.message;
}

/** An action whose SDK failures print as one line and exit 1, like input errors. */
export function clientAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return action(async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      if (!(error instanceof SipsimError)) throw error;
      const command = args[args.length - 1] as Command;
      throw new CliError(describeSdkError(error, command.opts().apiUrl as string | undefined));
    }
  });
}
