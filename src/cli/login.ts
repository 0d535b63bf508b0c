import type { Command } from 'commander';
import { SETTINGS } from '../settings.js';
import { action, CliError, jsonOption, print } from './common.js';
import { configPath, DEFAULT_API_URL, saveProfile } from './credentials.js';
import { envOption } from './setting-options.js';

/**
 * `sipsim login`: checks a client id and secret against a server (by asking
 * it for a token) and saves them as a profile in the user's config directory,
 * so that the client commands work from any folder without exports.
 */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('check client credentials against a server and save them as a profile for the client commands')
    .addOption(envOption(SETTINGS.apiUrl, 'the server').default(SETTINGS.apiUrl.default))
    .addOption(envOption(SETTINGS.clientId).makeOptionMandatory())
    .addOption(envOption(SETTINGS.clientSecret).makeOptionMandatory())
    .addOption(envOption(SETTINGS.profile, 'the profile to save').default(SETTINGS.profile.default))
    .addOption(jsonOption())
    .action(
      action(async (opts: { apiUrl: string; clientId: string; clientSecret: string; profile: string; json?: boolean }) => {
        if (!/^[\w.-]{1,64}$/.test(opts.profile)) throw new CliError('--profile must be 1 to 64 letters, digits, dots, dashes or underscores');
        let url: URL;
        try {
          url = new URL('/oauth/token', opts.apiUrl);
        } catch {
          throw new CliError(`--api-url must be a URL such as ${DEFAULT_API_URL}`);
        }
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials', client_id: opts.clientId, client_secret: opts.clientSecret }),
          });
        } catch (error) {
          throw new CliError(`cannot reach ${opts.apiUrl}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`);
        }
        const body = (await response.json().catch(() => ({}))) as { error?: string; scope?: string };
        if (!response.ok) throw new CliError(`${opts.apiUrl} refused these credentials (HTTP ${response.status}${body.error ? `, ${body.error}` : ''}); nothing was saved`);
        const path = configPath();
        saveProfile(opts.profile, { api_url: opts.apiUrl, client_id: opts.clientId, client_secret: opts.clientSecret }, path);
        print(opts.json, { profile: opts.profile, api_url: opts.apiUrl, client_id: opts.clientId, scope: body.scope ?? null, path }, `Saved profile '${opts.profile}' for ${opts.apiUrl} in ${path} (readable by you only).${opts.profile === 'default' ? '' : ` Use it with --profile ${opts.profile} or SIPSIM_PROFILE=${opts.profile}.`}`);
      }),
    );
}
