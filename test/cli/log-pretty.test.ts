/** PUSHKEEPER_LOG_FORMAT=pretty: pino's JSON lines rewritten for a terminal, every field kept. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/config/index.ts';
import { prettyLine } from '../../src/cli/log-pretty.ts';

function capture() {
  const chunks: string[] = [];
  return { chunks, stream: { write: (chunk: string) => chunks.push(chunk) } as unknown as NodeJS.WritableStream };
}

describe('pretty log format', () => {
  it('writes time, level, message and the fields as key=value, nested ones dotted', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      pid: 1,
      hostname: 'h',
      service: 'pushkeeper',
      msg: 'request completed',
      req: { method: 'GET', url: '/v1/apps/app_1' },
      responseTime: 1.5,
      note: 'two words',
    });
    expect(prettyLine(line, false)).toBe(
      '03:04:05.678 WARN  request completed  req.method=GET req.url=/v1/apps/app_1 responseTime=1.5 note="two words"',
    );
    expect(prettyLine('not json\n', false)).toBe('not json');
  });

  it('is chosen by the logFormat setting; JSON stays the default', () => {
    const json = capture();
    createLogger(loadConfig({ env: {} }), json.stream).info({ a: 1 }, 'hello');
    expect(JSON.parse(json.chunks.join(''))).toMatchObject({ msg: 'hello', a: 1, level: 30 });

    const pretty = capture();
    createLogger(loadConfig({ env: { PUSHKEEPER_LOG_FORMAT: 'pretty' } }), pretty.stream).info({ a: 1 }, 'hello');
    expect(pretty.chunks.join('')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello {2}a=1\n$/);
  });
});
