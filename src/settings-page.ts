import { SETTING_GROUPS, SETTINGS, type Setting } from './settings.js';

/**
 * docs/configuration.md, made from the table of settings: `npm run docs:settings`
 * writes it, and a test fails when the committed page differs from this.
 */

export const SETTINGS_PAGE_PATH = 'docs/configuration.md';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function allowed(setting: Setting): string {
  switch (setting.type) {
    case 'integer': {
      const range = `${setting.min!.toLocaleString('en')} to ${setting.max!.toLocaleString('en')}`;
      return setting.values ? `${range}, or ${setting.values.map((v) => `\`${v}\``).join(', ')}` : range;
    }
    case 'switch':
      return '`on`, `off`';
    case 'choice':
      return setting.values!.map((v) => `\`${v}\``).join(', ');
    case 'url':
      return 'an http(s) URL';
    case 'list':
      return 'host names, comma-separated';
    case 'rate':
      return 'N/Ws, N/Wm or N/Wh, a window of at most a day';
    case 'secret':
      return 'text, never shown';
    case 'text':
      return setting.format ?? 'text';
  }
}

function defaultOf(setting: Setting): string {
  if (setting.defaultText) return setting.defaultText;
  return setting.default === null || setting.default === '' ? 'none' : `\`${setting.default}\``;
}

function row(setting: Setting): string {
  const names = [
    `\`${setting.variable}\``,
    ...(setting.aliases ?? []).map((alias) => (alias.deprecated ? `\`${alias.variable}\` (deprecated alias)` : `\`${alias.variable}\``)),
  ].join('<br>');
  const flag = setting.flag ? `\`${setting.flag}\`` : '';
  const unit = setting.unit ?? '';
  return `| ${[names, flag, unit, defaultOf(setting), allowed(setting), setting.description].map(cell).join(' | ')} |`;
}

export function settingsPage(): string {
  const all: Setting[] = Object.values(SETTINGS);
  const deprecatedAliases = all.flatMap((s) => (s.aliases ?? []).filter((a) => a.deprecated).map((a) => ({ old: a.variable, current: s.variable })));
  const out = [
    '<!-- Generated from src/settings.ts by `npm run docs:settings`: edit the table there, not this page. -->',
    '',
    '# Configuration',
    '',
    'sipsim reads its settings from environment variables; some can also be given as flags, and a flag wins over its variable.',
    "The server checks each value once as it starts (src/config.ts): a value out of range stops it with a message naming the variable.",
    'Times and sizes say their unit in their name. `sipsim serve --help` lists the flags.',
    '',
  ];
  for (const group of SETTING_GROUPS) {
    const settings = all.filter((s) => s.group === group);
    if (settings.length === 0) continue;
    out.push(`## ${group}`, '', '| Variable | Flag | Unit | Default | Allowed | Description |', '| --- | --- | --- | --- | --- | --- |');
    for (const setting of settings) out.push(row(setting));
    out.push('');
  }
  out.push(
    '## Deprecated names',
    '',
    'These older names have no unit in them. They still work, read only when the new name is unset; move to the new name.',
    '',
    '| Old name | New name |',
    '| --- | --- |',
    ...deprecatedAliases.map((a) => `| \`${a.old}\` | \`${a.current}\` |`),
    '',
  );
  return out.join('\n');
}
