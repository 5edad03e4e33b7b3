/**
 * `PUSHKEEPER_LOG_FORMAT=pretty`: each pino JSON line rewritten as one short line for a person at a
 * terminal — time, level, message, then the remaining fields as `key=value` — instead of pulling in
 * a formatting library. JSON stays the default: collectors parse it, people read this.
 */
import type pino from 'pino';

const LEVELS: Readonly<Record<number, { name: string; colour: number }>> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 90 },
  30: { name: 'INFO', colour: 32 },
  40: { name: 'WARN', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

/** Fields every line carries that the pretty line shows in its own way (or not at all). */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

function value(field: unknown): string {
  if (typeof field === 'string') return /[\s"=]/.test(field) ? JSON.stringify(field) : field;
  return JSON.stringify(field);
}

/** Nested objects (`req: {method, url}`) become dotted keys: `req.method=GET req.url=/v1/…`. */
function flatten(prefix: string, record: Readonly<Record<string, unknown>>, out: string[]): void {
  for (const [key, field] of Object.entries(record)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (field !== null && typeof field === 'object' && !Array.isArray(field)) {
      flatten(name, field as Record<string, unknown>, out);
    } else if (field !== undefined) {
      out.push(`${name}=${value(field)}`);
    }
  }
}

/** One pino JSON line → one human line (without the newline). Not JSON → returned as it came. */
export function prettyLine(line: string, colours: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trimEnd();
  }
  const level = LEVELS[Number(record['level'])] ?? { name: String(record['level']), colour: 0 };
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 23) : '';
  const paint = (code: number, text: string) => (colours && code !== 0 ? `\u001b[${code}m${text}\u001b[0m` : text);
  const rest: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) if (!SHOWN_ELSEWHERE.has(key)) rest[key] = field;
  const fields: string[] = [];
  flatten('', rest, fields);
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  const tail = fields.length === 0 ? '' : `  ${paint(90, fields.join(' '))}`;
  return `${paint(90, time)} ${paint(level.colour, level.name.padEnd(5))} ${message}${tail}`;
}

/** Wraps a destination: what pino writes there arrives as pretty lines. */
export function prettyDestination(target: pino.DestinationStream, colours: boolean): pino.DestinationStream {
  return {
    write(chunk: string) {
      const lines = chunk.split('\n').filter((line) => line.length > 0);
      target.write(lines.map((line) => `${prettyLine(line, colours)}\n`).join(''));
    },
  };
}
