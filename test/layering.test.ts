import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = `${root}node_modules/.bin/depcruise`;

function cruise(cwd: string) {
  return spawnSync(process.execPath, [depcruise, 'src', '--config', `${root}.dependency-cruiser.cjs`], {
    cwd,
    encoding: 'utf8',
  });
}

describe('layering check', () => {
  it('fails on an upward import, an import between adapters and one between providers', () => {
    const run = cruise(`${root}test/fixtures/layering`);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('pure-layer-is-pure');
    expect(run.stdout).toContain('providers-are-adapters');
    expect(run.stdout).toContain('providers-do-not-import-each-other');
  });

  it('passes on the real source tree', () => {
    const run = cruise(root);
    expect(run.stdout + run.stderr).toContain('no dependency violations found');
    expect(run.status).toBe(0);
  });
});
