/**
 * `pushkeeper mock-fcm`: runs the mock FCM HTTP v1 server and its OAuth token endpoint from the
 * command line, for people testing push code in any language. Writes the CA to trust and a service
 * account key file whose `token_uri` points at the mock, prints the endpoints, then runs until
 * SIGINT/SIGTERM.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import {
  createTestPki,
  FCM_FAULT_FLAG_HELP,
  MOCK_FCM_SERVER_NAMES,
  type MockFcmControlApi,
  type MockFcmDeviceState,
  type MockFcmServer,
  parseFcmFaultFlags,
  startMockFcmControlApi,
  startMockFcmServer,
} from '../../testing/index.ts';

export interface MockFcmCliOptions {
  readonly host: string;
  readonly port: number;
  readonly controlPort?: number;
  readonly projectId: string;
  readonly devices?: string;
  readonly fault?: readonly string[];
  readonly acceptAll: boolean;
  readonly out?: string;
}

export interface RunningMockFcm {
  readonly fcm: MockFcmServer;
  readonly control: MockFcmControlApi | undefined;
  readonly caPath: string;
  readonly serviceAccountPath: string;
  readonly summary: readonly string[];
  close(): Promise<void>;
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

async function readDevices(file: string): Promise<{ token: string; state?: MockFcmDeviceState }[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw usage(`--devices ${file}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown } | null)?.devices;
  if (
    !Array.isArray(list) ||
    !list.every((d) => typeof (d as { token?: unknown } | null)?.token === 'string')
  ) {
    throw usage(`--devices ${file}: expected an array of {token, state?}.`);
  }
  return list as { token: string; state?: MockFcmDeviceState }[];
}

export async function startMockFcmFromCli(options: MockFcmCliOptions): Promise<RunningMockFcm> {
  const faults = parseFcmFaultFlags(options.fault ?? [], Date.now());
  if (!faults.ok) throw usage(faults.error.message);
  const devices = options.devices === undefined ? [] : await readDevices(options.devices);
  const outDir = options.out ?? (await mkdtemp(path.join(tmpdir(), 'pushkeeper-mock-fcm-')));
  await mkdir(outDir, { recursive: true });
  const pki = await createTestPki({ serverNames: [...MOCK_FCM_SERVER_NAMES, options.host] });
  const fcm = await startMockFcmServer({
    host: options.host,
    port: options.port,
    projectId: options.projectId,
    mode: options.acceptAll ? 'accept-all' : 'validating',
    faults: faults.value,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, caPem: pki.caCertPem },
  });
  let control: MockFcmControlApi | undefined;
  try {
    for (const device of devices) fcm.registerDevice(device.token, device.state ?? 'live');
    const caPath = path.join(outDir, 'ca.pem');
    const serviceAccountPath = path.join(outDir, 'service-account.json');
    await writeFile(caPath, pki.caCertPem);
    await writeFile(serviceAccountPath, `${JSON.stringify(fcm.createServiceAccount().json, null, 2)}\n`, {
      mode: 0o600,
    });
    control =
      options.controlPort === undefined
        ? undefined
        : await startMockFcmControlApi(fcm, { host: options.host, port: options.controlPort });
    const summary = [
      `Mock FCM (${options.acceptAll ? 'accept-all' : 'validating'}, project ${fcm.projectId}): ${fcm.url}`,
      `OAuth token endpoint: ${fcm.tokenUri}`,
      ...(control === undefined ? [] : [`Control API: ${control.url}`]),
      `Trust this CA: ${caPath}`,
      `Service account key file (token_uri = the mock): ${serviceAccountPath}`,
    ];
    let closing: Promise<void> | undefined;
    const started = control;
    return {
      fcm,
      control,
      caPath,
      serviceAccountPath,
      summary,
      close() {
        closing ??= Promise.all([fcm.close(), started?.close()]).then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await Promise.all([fcm.close(), control?.close()]);
    throw error;
  }
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usage(`Not a port: ${value}`);
  return n;
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

export function registerMockFcmCommand(
  program: Command,
  deps: { readonly stdout?: Writable; readonly untilStopped?: () => Promise<void> } = {},
): void {
  program
    .command('mock-fcm')
    .description(
      'Run a mock FCM HTTP v1 server with its OAuth token endpoint, for testing Android push code without Google.',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port for FCM and the token endpoint (0 = any free port)', port, 4444)
    .option('--control-port <port>', 'JSON control API (devices, faults, records) on this port', port)
    .option('--project-id <id>', 'the Firebase project the mock serves', 'mock-project')
    .option(
      '--devices <file>',
      'JSON array of {token, state?} (state: live, unregistered, mismatched, third-party-auth-error)',
    )
    .option(
      '--fault <name=value>',
      `fault to inject (repeatable):\n  ${FCM_FAULT_FLAG_HELP.join('\n  ')}`,
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--accept-all', 'treat every unknown token as live (benchmarks)', false)
    .option('--out <dir>', 'directory for ca.pem and service-account.json (default: a new temp dir)')
    .action(async (options: MockFcmCliOptions) => {
      const stdout = deps.stdout ?? process.stdout;
      const running = await startMockFcmFromCli(options);
      stdout.write(`${running.summary.join('\n')}\nPress Ctrl+C to stop.\n`);
      await (deps.untilStopped ?? untilSignal)();
      await running.close();
      stdout.write('Mock FCM stopped.\n');
    });
}
