/** Renders docs/errors.md's table from the catalogue, so the two cannot drift apart. */
import { ERROR_CATALOGUE } from './errors.ts';

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.message.replaceAll('|', '\\|')} |`,
  );
  return ['| code | HTTP status | meaning |', '|---|---|---|', ...rows].join('\n');
}
