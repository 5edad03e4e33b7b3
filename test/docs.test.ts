import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERATED_SECTIONS, sectionIsCurrent } from '../scripts/generated-docs.ts';
import { SERVICE_NODE_FLAGS } from '../src/cli/service-node-flags.ts';
import { SETTINGS } from '../src/config/index.ts';
import { ERROR_CATALOGUE } from '../src/errors.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('generated documentation', () => {
  it.each(GENERATED_SECTIONS.map((s) => [s.file, s] as const))(
    '%s matches the code (run `node scripts/generated-docs.ts --write` after changing it)',
    (_file, section) => {
      expect(sectionIsCurrent(root, section)).toBe(true);
    },
  );

  it('lists every error code and every setting', () => {
    const errors = readFileSync(`${root}docs/errors.md`, 'utf8');
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(errors).toContain(`\`${code}\``);
    const configuration = readFileSync(`${root}docs/configuration.md`, 'utf8');
    for (const spec of Object.values(SETTINGS)) expect(configuration).toContain(`\`${spec.env}\``);
  });
});

describe('the service process', () => {
  it('runs with the same V8 flags from the installed command and from npm start', () => {
    const flags = SERVICE_NODE_FLAGS.join(' ');
    const shebang = readFileSync(`${root}bin/pushkeeper.mjs`, 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags}`);
    const start = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts['start'];
    expect(start).toBe(`node ${flags} src/cli/main.ts serve`);
  });
});
