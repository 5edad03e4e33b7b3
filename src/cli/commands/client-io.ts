/**
 * What the client commands touch outside themselves: output streams, environment, the clock and
 * fetch. `registerClientCommands` takes it so tests run commands in-process against a real server
 * and read what they printed; the default is the real process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ApiClient } from '../api-client.ts';

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

function adminTokenFromFile(io: ClientIo, options: ClientOptions): string | undefined {
  const dataDir = options.dataDir ?? io.env['PUSHKEEPER_DATA_DIR'] ?? './data';
  const path = join(dataDir, 'admin-token');
  if (!existsSync(path)) return undefined;
  const token = readFileSync(path, 'utf8').trim();
  return token.length > 0 ? token : undefined;
}

/**
 * The key a command sends. Admin commands: --key, PUSHKEEPER_ADMIN_TOKEN, the admin-token file.
 * App commands: --key, PUSHKEEPER_API_KEY, then the admin key (the admin may act on any app).
 */
export function resolveKey(io: ClientIo, options: ClientOptions, kind: 'admin' | 'app'): string | undefined {
  if (options.key !== undefined) return options.key;
  if (kind === 'app' && io.env['PUSHKEEPER_API_KEY']) return io.env['PUSHKEEPER_API_KEY'];
  return io.env['PUSHKEEPER_ADMIN_TOKEN'] || adminTokenFromFile(io, options);
}

export function clientFor(io: ClientIo, options: ClientOptions, kind: 'admin' | 'app'): ApiClient {
  return new ApiClient({
    baseUrl: options.url ?? io.env['PUSHKEEPER_URL'] ?? DEFAULT_URL,
    key: resolveKey(io, options, kind),
    ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
  });
}
