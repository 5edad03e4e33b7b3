/** Parses a config file's text; JSON or YAML by extension (YAML is a superset, but errors read better). */
import { parse as parseYaml } from 'yaml';
import { PushkeeperError } from '../errors.ts';

export function parseConfigText(text: string, fileName: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = fileName.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PushkeeperError('PK_ERR_CONFIG_INVALID', `Cannot parse ${fileName}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PushkeeperError('PK_ERR_CONFIG_INVALID', `${fileName} must hold an object of settings.`);
  }
  return parsed as Record<string, unknown>;
}
