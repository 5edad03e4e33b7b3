/**
 * What the client commands touch outside themselves: output streams, environment, the clock and
 * fetch. `registerClientCommands` takes it so tests run commands in-process against a real server
 * and read what they printed; the default is the real process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ApiClient, parseServerUrl } from '../api-client.ts';
import { EXIT } from '../exit-codes.ts';
import { CliError, UsageError } from './cli-error.ts';

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

export interface ClientIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch?: typeof fetch;
  /** Wait between polls (push --wait); tests shorten it. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Where the command's exit code goes (process.exitCode by default). */
  setExitCode(code: number): void;
}

export function processIo(): ClientIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    setExitCode(code) {
      process.exitCode = code;
    },
  };
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Options every client command accepts. */
export interface ClientOptions {
  readonly url?: string;
  readonly key?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

export function addClientOptions(command: Command): Command {
  return command
    .option('--url <url>', `server URL (env PUSHKEEPER_URL, default ${DEFAULT_URL})`)
    .option(
      '--key <key>',
      'API key (env PUSHKEEPER_API_KEY; admin commands: PUSHKEEPER_ADMIN_TOKEN or <data-dir>/admin-token)',
    )
    .option(
      '--data-dir <dir>',
      'where to find the admin-token file (env PUSHKEEPER_DATA_DIR, default ./data)',
    )
    .option('--json', 'print JSON for scripts');
}

function adminTokenPath(io: ClientIo, options: ClientOptions): string {
  return resolve(join(options.dataDir ?? io.env['PUSHKEEPER_DATA_DIR'] ?? './data', 'admin-token'));
}

function adminTokenFromFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const token = readFileSync(path, 'utf8').trim();
  return token.length > 0 ? token : undefined;
}

/**
 * The key a command sends. Admin commands: --key, PUSHKEEPER_ADMIN_TOKEN, the admin-token file.
 * App commands: --key, PUSHKEEPER_API_KEY, then the admin key (the admin may act on any app).
 * No key anywhere is PK_ERR_NO_API_KEY, naming every place looked at and how to fill one.
 */
export function resolveKey(io: ClientIo, options: ClientOptions, kind: 'admin' | 'app'): string {
  if (options.key !== undefined && options.key !== '') return options.key;
  if (kind === 'app' && io.env['PUSHKEEPER_API_KEY']) return io.env['PUSHKEEPER_API_KEY'];
  if (io.env['PUSHKEEPER_ADMIN_TOKEN']) return io.env['PUSHKEEPER_ADMIN_TOKEN'];
  const path = adminTokenPath(io, options);
  const fromFile = adminTokenFromFile(path);
  if (fromFile !== undefined) return fromFile;
  const variables = kind === 'app' ? 'PUSHKEEPER_API_KEY (an app server key) or PUSHKEEPER_ADMIN_TOKEN' : 'PUSHKEEPER_ADMIN_TOKEN';
  throw new CliError(
    'PK_ERR_NO_API_KEY',
    `No API key: no --key, ${variables} unset, and no admin token at ${path}. ` +
      'Run the command in the directory where `pushkeeper serve` runs, point --data-dir (PUSHKEEPER_DATA_DIR) at its ' +
      `data directory, or set ${variables}.`,
    EXIT.usage,
    { looked: ['--key', ...(kind === 'app' ? ['PUSHKEEPER_API_KEY'] : []), 'PUSHKEEPER_ADMIN_TOKEN', path] },
  );
}

/** The server URL from --url, PUSHKEEPER_URL or the default; refused unless http(s)://host. */
export function serverUrl(io: ClientIo, options: ClientOptions): string {
  const fromFlag = options.url !== undefined;
  const value = options.url ?? io.env['PUSHKEEPER_URL'] ?? DEFAULT_URL;
  if (parseServerUrl(value) !== null) return value;
  const source = fromFlag ? '--url' : 'PUSHKEEPER_URL';
  const suggestion = /^[a-z]+:\/\//i.test(value) ? DEFAULT_URL : `http://${value}`;
  throw new UsageError(
    `${source} ${JSON.stringify(value)} is not an http:// or https:// URL: write it like ${suggestion}.`,
    { option: source, value },
    'PK_ERR_SERVER_URL_INVALID',
  );
}

export function clientFor(io: ClientIo, options: ClientOptions, kind: 'admin' | 'app'): ApiClient {
  return new ApiClient({
    baseUrl: serverUrl(io, options),
    key: resolveKey(io, options, kind),
    ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
  });
}
