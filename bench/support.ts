/**
 * What every benchmark driver needs: child processes' first line, a throwaway database, the docs
 * table, and a compiled copy of a child's sources.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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

/** Relative `.ts` specifiers of import and export statements and dynamic imports. */
const RELATIVE_TS_IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g;

/**
 * Compiles `entry` and every module it reaches through relative imports to JavaScript in a fresh
 * temporary directory (mirroring the repository's layout, `node_modules` linked), and answers the
 * compiled entry's path. A child process started on it runs what an installed Pushkeeper runs —
 * the build (`dist/`, bin/pushkeeper.mjs) — instead of paying Node's type stripping, which keeps
 * ~35 MB resident in every process that loads the TypeScript sources directly. `dispose()`
 * removes the directory. (The compiler is loaded here only, not by every driver importing this.)
 */
export async function compileForChild(entry: string): Promise<{ entry: string; dispose(): void }> {
  const { default: ts } = await import('typescript');
  const out = mkdtempSync(join(tmpdir(), 'pk-bench-build-'));
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  const options = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2023,
    verbatimModuleSyntax: true,
    rewriteRelativeImportExtensions: true,
  };
  const pending = [resolve(entry)];
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(RELATIVE_TS_IMPORT)) pending.push(resolve(dirname(file), match[1]!));
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(
      target,
      ts.transpileModule(source, { compilerOptions: options, fileName: file }).outputText,
    );
  }
  return {
    entry: join(out, relative(ROOT, resolve(entry))).replace(/\.ts$/, '.js'),
    dispose: () => rmSync(out, { recursive: true, force: true }),
  };
}

/**
 * CPU seconds of a fixed integer loop (3 × 10^8 iterations), taken before and after a benchmark:
 * on a shared VM the same code's absolute rates drift with the host (a fixed loop's time varied by
 * ~75% within one afternoon here), and a table that prints it tells which minute it was.
 */
export function cpuYardstickSeconds(): number {
  const start = process.cpuUsage();
  let sum = 0;
  for (let i = 0; i < 300_000_000; i += 1) sum += i % 7;
  const used = process.cpuUsage(start);
  if (sum < 0) throw new Error('unreachable');
  return (used.user + used.system) / 1e6;
}
