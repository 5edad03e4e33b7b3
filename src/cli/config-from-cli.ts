/** Loads the validated configuration for a server-side command: file (--config), environment, flags. */
import { readFileSync } from 'node:fs';
import { type Config, loadConfig, parseConfigText, type SettingName } from '../config/index.ts';
import { PushkeeperError } from '../errors.ts';

export function configFromCli(options: { config?: string }, overrides: Partial<Record<SettingName, unknown>> = {}): Config {
  const fileName = options.config ?? process.env['PUSHKEEPER_CONFIG'];
  let file: Record<string, unknown> | undefined;
  if (fileName !== undefined && fileName !== '') {
    let text: string;
    try {
      text = readFileSync(fileName, 'utf8');
    } catch (error) {
      throw new PushkeeperError('PK_ERR_CONFIG_INVALID', `Cannot read ${fileName}: ${(error as Error).message}`);
    }
    file = parseConfigText(text, fileName);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  return loadConfig(file && fileName ? { env: process.env, file, fileName, overrides: defined } : { env: process.env, overrides: defined });
}
