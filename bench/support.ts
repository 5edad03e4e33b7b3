/** What every benchmark driver needs: child processes' first line, a throwaway database, the docs table. */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The first line a child prints on stdout (its JSON hand-shake or result). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve(buffered.slice(0, newline));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

/** A fresh PostgreSQL database on the local server, and a way to drop it. */
export async function createBenchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pk_bench_${randomBytes(4).toString('hex')}`;
  const admin = () => new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
  const client = admin();
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const dropper = admin();
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}

/** Replaces one benchmark's section of docs/benchmarks.md (between its markers), or appends it. */
export function writeBenchSection(key: string, heading: string, table: string): void {
  const file = join(ROOT, 'docs/benchmarks.md');
  const begin = `<!-- bench:${key}:begin -->`;
  const end = `<!-- bench:${key}:end -->`;
  const body = `${begin}\n### Latest run (\`npm run bench:${key}\`)\n\n${table}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (text.includes(begin) && text.includes(end)) {
    text = text.slice(0, text.indexOf(begin)) + body + text.slice(text.indexOf(end) + end.length);
  } else {
    text = `${text.trimEnd()}\n\n## ${heading}\n\n${body}\n`;
  }
  writeFileSync(file, text);
}
