/**
 * Writes docs/configuration.md from the table of settings (src/settings.ts):
 *
 *   npm run docs:settings
 */
import { writeFileSync } from 'node:fs';
import { SETTINGS_PAGE_PATH, settingsPage } from '../src/settings-page.js';

writeFileSync(SETTINGS_PAGE_PATH, settingsPage());
process.stdout.write(`Wrote ${SETTINGS_PAGE_PATH}\n`);
