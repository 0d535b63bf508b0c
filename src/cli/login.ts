import { Option, type Command } from 'commander';
import { action, CliError, jsonOption, print } from './common.js';
import { configPath, DEFAULT_API_URL, saveProfile } from './credentials.js';

/**
 * `sipsim login`: checks a client id and secret against a server (by asking
 * it for a token) and saves them as a profile in the user's config directory,
 * so that the client commands work from any folder without exports.
 */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('check client credentials against a server and save them as a profile for the client commands')
    .addOption(new Option('--api-url <url>', 'the server').env('SIPSIM_API_URL').default(DEFAULT_API_URL))
    .addOption(new Option('--client-id <id>', 'OAuth client id').env('SIPSIM_CLIENT_ID').makeOptionMandatory())
    .addOption(new Option('--client-secret <secret>', 'OAuth client secret').env('SIPSIM_CLIENT_SECRET').makeOptionMandatory())
    .addOption(new Option('--profile <name>', 'the profile to save').env('SIPSIM_PROFILE').default('default'))
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
