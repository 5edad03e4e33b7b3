export { renderSettingsTable } from './docs.ts';
export { parseConfigText } from './file.ts';
export { type Config, type ConfigSources, loadConfig } from './load.ts';
export { SETTINGS, type SettingName } from './schema.ts';
