/**
 * `pushkeeper mock-webpush`: runs the mock push service (and its JSON control API) from the command
 * line, for people testing Web Push code in any language. Prints the origin, the control API and
 * the CA file to trust, then runs until SIGINT/SIGTERM.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import {
  createTestPki,
  type MockWebPushControl,
  type MockWebPushServer,
  startMockWebPushControl,
  startMockWebPushServer,
} from '../../testing/index.ts';

export interface MockWebPushCliOptions {
  readonly host: string;
  readonly port: number;
  readonly controlPort: number;
  readonly protocols: string;
  readonly maxStreams: number;
  readonly subscriptions: number;
  readonly record: boolean;
  readonly out?: string;
}

export interface RunningMockWebPush {
  readonly mock: MockWebPushServer;
  readonly control: MockWebPushControl;
  readonly caPath: string;
  readonly subscriptionsPath: string | undefined;
  readonly summary: readonly string[];
  close(): Promise<void>;
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw usage(`Not a whole number: ${value}`);
  return n;
}

function port(value: string): number {
  const n = wholeNumber(value);
  if (n > 65535) throw usage(`Not a port: ${value}`);
  return n;
}

export async function startMockWebPushFromCli(options: MockWebPushCliOptions): Promise<RunningMockWebPush> {
  if (!['h2+http1', 'h2', 'http1'].includes(options.protocols))
    throw usage('--protocols is h2+http1, h2 or http1.');
  const outDir = options.out ?? (await mkdtemp(path.join(tmpdir(), 'pushkeeper-mock-webpush-')));
  await mkdir(outDir, { recursive: true });
  const pki = await createTestPki({ serverNames: [options.host] });
  const caPath = path.join(outDir, 'ca.pem');
  await writeFile(caPath, pki.caCertPem);
  const mock = await startMockWebPushServer({
    host: options.host,
    port: options.port,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, caPem: pki.caCertPem },
    protocols: options.protocols as 'h2+http1' | 'h2' | 'http1',
    maxConcurrentStreams: options.maxStreams,
    recordMessages: options.record,
  });
  let control: MockWebPushControl;
  try {
    control = await startMockWebPushControl(mock, { host: options.host, port: options.controlPort });
  } catch (error) {
    await mock.close();
    throw error;
  }
  let subscriptionsPath: string | undefined;
  if (options.subscriptions > 0) {
    subscriptionsPath = path.join(outDir, 'subscriptions.json');
    const minted = Array.from({ length: options.subscriptions }, () => mock.mintSubscription());
    await writeFile(subscriptionsPath, `${JSON.stringify(minted)}\n`);
  }
  const summary = [
    `Mock push service (${options.protocols}): ${mock.origin}`,
    `Control API: ${control.url}`,
    `Trust this CA: ${caPath}`,
    ...(subscriptionsPath === undefined
      ? []
      : [`Subscriptions (${options.subscriptions}): ${subscriptionsPath}`]),
    `Allow its host in your sender: ${new URL(mock.origin).host}`,
  ];
  let closing: Promise<void> | undefined;
  return {
    mock,
    control,
    caPath,
    subscriptionsPath,
    summary,
    close() {
      closing ??= Promise.all([control.close(), mock.close()]).then(() => undefined);
      return closing;
    },
  };
}

export interface MockWebPushCommandDeps {
  readonly stdout?: Writable;
  readonly untilStopped?: () => Promise<void>;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function registerMockWebPushCommand(program: Command, deps: MockWebPushCommandDeps = {}): void {
  program
    .command('mock-webpush')
    .description(
      'Run a mock Web Push service that checks VAPID and decrypts every message, for testing without browsers.',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'push service port (0 = any free port)', port, 4460)
    .option('--control-port <port>', 'JSON control API (subscriptions, messages, faults) port', port, 4461)
    .option('--protocols <list>', 'what ALPN offers: h2+http1, h2 or http1', 'h2+http1')
    .option('--max-streams <n>', 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS', wholeNumber, 100)
    .option(
      '--subscriptions <n>',
      'mint this many subscriptions at start and write them to subscriptions.json',
      wholeNumber,
      0,
    )
    .option('--no-record', 'count messages without keeping them (long benchmarks)')
    .option('--out <dir>', 'directory for ca.pem and subscriptions.json (default: a new temp dir)')
    .action(async (options: MockWebPushCliOptions) => {
      const stdout = deps.stdout ?? process.stdout;
      const running = await startMockWebPushFromCli(options);
      stdout.write(`${running.summary.join('\n')}\nPress Ctrl+C to stop.\n`);
      await (deps.untilStopped ?? untilSignal)();
      await running.close();
      stdout.write('Mock push service stopped.\n');
    });
}
