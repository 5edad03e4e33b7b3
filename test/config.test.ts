import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../src/config/index.ts';
import { isPushkeeperError, PushkeeperError } from '../src/errors.ts';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(isPushkeeperError(error)).toBe(true);
    expect((error as PushkeeperError).code).toBe('PK_ERR_CONFIG_INVALID');
    const problems = (error as PushkeeperError).details?.['problems'] as { setting: string }[] | undefined;
    return (problems ?? []).map((p) => p.setting);
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('has a default for every setting the product names, and freezes the result', () => {
    const config = loadConfig({ env: {} });
    expect(config.dataDir).toBe('./data');
    expect(config.databaseUrl).toBe('sqlite:./data/pushkeeper.db');
    expect(config.port).toBe(8080);
    expect(config.feedbackIntervalHours).toBe(12);
    expect(config.adminToken).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('derives the database URL from the data directory', () => {
    expect(loadConfig({ env: { PUSHKEEPER_DATA_DIR: '/var/lib/pk' } }).databaseUrl).toBe('sqlite:/var/lib/pk/pushkeeper.db');
  });

  it('lets the environment win over the file, and overrides win over both', () => {
    const file = { port: 9000, logLevel: 'warn' };
    expect(loadConfig({ env: { PUSHKEEPER_PORT: '9100' }, file }).port).toBe(9100);
    expect(loadConfig({ env: {}, file }).logLevel).toBe('warn');
    expect(loadConfig({ env: { PUSHKEEPER_PORT: '9100' }, file, overrides: { port: 9200 } }).port).toBe(9200);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { PUSHKEEPER_PORT: 'eighty', PUSHKEEPER_DATABASE_URL: 'mysql://x', PUSHKEEPER_LOG_LEVEL: 'loud' },
        file: { feedbackIntervalHours: 0, prot: 1 },
      }),
    );
    expect(problems.sort()).toEqual(['databaseUrl', 'feedbackIntervalHours', 'logLevel', 'port', 'prot']);
  });

  it('never echoes a secret in its messages', () => {
    try {
      loadConfig({ env: { PUSHKEEPER_ADMIN_TOKEN: 'short-secret-value' } });
      throw new Error('expected a rejection');
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret-value');
    }
  });

  it('names an unknown file key and the setting it probably meant', () => {
    try {
      loadConfig({ env: {}, file: { data_dir: '/x', colour: 'red' }, fileName: 'pk.yaml' });
      throw new Error('expected a rejection');
    } catch (error) {
      const problems = (error as PushkeeperError).details?.['problems'] as Array<Record<string, unknown>>;
      expect(problems.map((p) => [p['setting'], p['source'], p['suggestion']])).toEqual([
        ['data_dir', 'pk.yaml', 'dataDir'],
        ['colour', 'pk.yaml', undefined],
      ]);
    }
  });

  it('reads PORT when PUSHKEEPER_PORT is unset, and PUSHKEEPER_PORT first', () => {
    expect(loadConfig({ env: { PORT: '3000' } }).port).toBe(3000);
    expect(loadConfig({ env: { PORT: '3000', PUSHKEEPER_PORT: '9100' } }).port).toBe(9100);
    expect(problemsOf(() => loadConfig({ env: { PORT: '99999' } }))).toEqual(['port']);
  });

  it('logs JSON unless PUSHKEEPER_LOG_FORMAT=pretty', () => {
    expect(loadConfig({ env: {} }).logFormat).toBe('json');
    expect(loadConfig({ env: { PUSHKEEPER_LOG_FORMAT: 'pretty' } }).logFormat).toBe('pretty');
    expect(problemsOf(() => loadConfig({ env: { PUSHKEEPER_LOG_FORMAT: 'fancy' } }))).toEqual(['logFormat']);
  });

  it('requires metrics host and port together', () => {
    expect(problemsOf(() => loadConfig({ env: { PUSHKEEPER_METRICS_PORT: '9090' } }))).toEqual(['metricsPort']);
    expect(loadConfig({ env: { PUSHKEEPER_METRICS_PORT: '9090', PUSHKEEPER_METRICS_HOST: '127.0.0.1' } }).metricsPort).toBe(9090);
  });

  it('parses JSON and YAML files and rejects other shapes', () => {
    expect(parseConfigText('{"port": 1}', 'a.json')).toEqual({ port: 1 });
    expect(parseConfigText('port: 1\n', 'a.yaml')).toEqual({ port: 1 });
    expect(parseConfigText('', 'a.yaml')).toEqual({});
    expect(() => parseConfigText('[1]', 'a.yaml')).toThrow(PushkeeperError);
    expect(() => parseConfigText('{', 'a.json')).toThrow(PushkeeperError);
  });
});
