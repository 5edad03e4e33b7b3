/** Renders docs/configuration.md's table from the schema, so the two cannot drift apart. */
import { SETTINGS, type SettingSpec } from './schema.ts';

function describeType(spec: SettingSpec): string {
  const type = spec.type;
  switch (type.kind) {
    case 'integer':
    case 'number':
      return `${type.kind} ${type.min}–${type.max}`;
    case 'enum':
      return type.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'url':
      return `URL (${type.protocols.join(', ')})`;
    case 'string':
      return type.patternHint ? `string (${type.patternHint})` : 'string';
    case 'boolean':
      return 'boolean';
  }
}

function describeDefault(spec: SettingSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return '(unset)';
  return `\`${String(spec.default)}\``;
}

export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, spec]: [string, SettingSpec]) =>
    `| \`${spec.env}\`${spec.envFallback === undefined ? '' : ` (or \`${spec.envFallback}\`)`} | \`${name}\` | ${describeType(spec)} | ${describeDefault(spec)} | ${spec.description} |`,
  );
  return ['| environment variable | file key | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
