import { Option } from 'commander';
import type { Setting } from '../settings.js';

/** The CLI's flags, made from the settings they stand for (src/settings.ts): the flag, its variable and default come from there. */

type FlagSetting = Setting & { readonly flag: string };

/** `a, b or c`. */
export function oneOf(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** A flag its variable sets too, when not given (commander reads it). */
export function envOption(setting: FlagSetting, help = setting.flagHelp ?? ''): Option {
  return new Option(setting.flag, help).env(setting.variable);
}

/**
 * A `serve` flag: config.ts applies its variables and default when it is not
 * given, so the flag has no default of its own; its help names them.
 */
export function serverOption(setting: FlagSetting): Option {
  const help = setting.flagHelp ?? oneOf(setting.values ?? []);
  const sources = [setting.variable, ...(setting.aliases ?? []).map((alias) => alias.variable), setting.default];
  return new Option(setting.flag, `${help} (default: ${sources.join(', else ')})`);
}
